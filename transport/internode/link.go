package internode

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Errors of a link.
var (
	// ErrClosed: the link is gone; requests in flight get this.
	ErrClosed = errors.New("internode: link closed")
	// ErrSlowPeer: the peer let more than MaxPending bytes pile up.
	ErrSlowPeer = errors.New("internode: peer too slow, disconnected")
)

// MaxPending is how many encoded bytes may wait for a slow peer before
// the link is dropped.
const MaxPending = 64 << 20

// writeTimeout bounds one write; a peer that accepts nothing for this
// long is treated as dead.
const writeTimeout = 10 * time.Second

// Link is one end of a connection whose handshake is done. Sending is
// safe for concurrent use and never blocks on the network.
type Link struct {
	nc      net.Conn
	peer    string
	version uint16

	mu      sync.Mutex // guards pending, err
	pending []byte
	err     error

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	writerWG  sync.WaitGroup
}

func newLink(nc net.Conn, peer string, version uint16) *Link {
	l := &Link{nc: nc, peer: peer, version: version, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.writerWG.Add(1)
	go l.writeLoop()
	return l
}

// Peer is the name the other node proved in the handshake.
func (l *Link) Peer() string { return l.peer }

// Version is the protocol version the link speaks.
func (l *Link) Version() uint16 { return l.version }

// Done is closed when the link has ended.
func (l *Link) Done() <-chan struct{} { return l.done }

// Up says whether the link has not ended yet.
func (l *Link) Up() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

// Err says why the link ended (nil while it is up).
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Send queues m for the peer as a one-way message or event. It fails
// only when the link is closed or the peer is too slow (which closes the
// link). A generic function, not a method, so that m is encoded without
// being boxed in an interface: sending allocates nothing.
func Send[M Message](l *Link, m M) error { return send(l, 0, m) }

// Reply answers request id on l with m, the request's reply type.
func Reply[M Message](l *Link, id uint64, m M) error { return send(l, id, m) }

func send[M Message](l *Link, id uint64, m M) error {
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return err
	}
	if len(l.pending) > MaxPending {
		l.mu.Unlock()
		l.Close(ErrSlowPeer)
		return ErrSlowPeer
	}
	l.pending = appendEnvelope(l.pending, id, m)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeLoop owns the socket's write side: it takes everything pending and
// writes it with one call.
func (l *Link) writeLoop() {
	defer l.writerWG.Done()
	var own []byte
	for {
		select {
		case <-l.done:
			return
		case <-l.wake:
		}
		l.mu.Lock()
		own, l.pending = l.pending, own[:0]
		l.mu.Unlock()
		if len(own) == 0 {
			continue
		}
		l.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := l.nc.Write(own); err != nil {
			l.Close(err)
			return
		}
		if cap(own) > 1<<20 {
			own = nil // do not keep a burst's buffer forever
		}
	}
}

// Close ends the link with reason err (ErrClosed when nil). Safe to call
// more than once; the first reason wins.
func (l *Link) Close(err error) {
	if err == nil {
		err = ErrClosed
	}
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.err = err
		l.pending = nil
		l.mu.Unlock()
		close(l.done)
		l.nc.Close()
	})
}

// wait closes the link and waits for its writer.
func (l *Link) wait() {
	l.Close(nil)
	l.writerWG.Wait()
}
