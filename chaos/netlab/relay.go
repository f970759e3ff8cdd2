package netlab

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Relay forwards TCP connections accepted on a host to an address
// reached from that host, and can hold every chunk of bytes for a
// while in each direction: delay for a path where netem is not there.
// Order within a stream is kept (a chunk never overtakes the one before
// it). Safe for concurrent use; Close is idempotent.
type Relay struct {
	ln     net.Listener
	host   *Host
	target string

	mu           sync.Mutex
	base, jitter time.Duration
	conns        map[net.Conn]struct{}
	closed       bool
	wg           sync.WaitGroup
	closeOnce    sync.Once
}

// NewRelay listens on listen on h and forwards to target, from h.
func NewRelay(h *Host, listen, target string) (*Relay, error) {
	ln, err := h.Listen(listen)
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, host: h, target: target, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// SetDelay holds each chunk base ± jitter (uniform) from when it was
// read; 0, 0 passes bytes straight on.
func (r *Relay) SetDelay(base, jitter time.Duration) {
	r.mu.Lock()
	r.base, r.jitter = base, jitter
	r.mu.Unlock()
}

func (r *Relay) delay() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jitter == 0 {
		return r.base
	}
	return r.base - r.jitter + rand.N(2*r.jitter+1)
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		up, err := r.host.Dial(r.target)
		if err != nil {
			c.Close()
			continue
		}
		if !r.track(c, up) {
			return
		}
		r.wg.Add(2)
		go r.pump(up, c)
		go r.pump(c, up)
	}
}

// track records a connection pair; false (both closed) once the relay is.
func (r *Relay) track(a, b net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		a.Close()
		b.Close()
		return false
	}
	r.conns[a], r.conns[b] = struct{}{}, struct{}{}
	return true
}

type chunk struct {
	b   []byte
	due time.Time
}

// pump copies src to dst, each chunk no sooner than its delay after it
// was read; when either side ends, both close.
func (r *Relay) pump(dst, src net.Conn) {
	defer r.wg.Done()
	q := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() { // the writer: one per direction, so order is kept
		defer close(done)
		for c := range q {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.b); err != nil {
				src.Close()
				for range q {
				}
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{buf[:n], time.Now().Add(r.delay())}
		}
		if err != nil {
			close(q)
			<-done
			dst.Close() // no half-close: HTTP and websockets do not need it
			src.Close()
			r.mu.Lock()
			delete(r.conns, src)
			r.mu.Unlock()
			return
		}
	}
}

// Close stops accepting and closes every relayed connection.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		for c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		r.ln.Close()
		r.wg.Wait()
	})
	return nil
}
