package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// session is one RTM websocket of the run. Its reader goroutine owns
// recv and foreign; hello is written before that goroutine starts.
type session struct {
	r     *runner
	idx   int
	user  *benchUser
	conn  atomic.Pointer[websocket.Conn]
	hello int64 // unix nanos of the first hello
	recv  []*recvState
	pub   *publisher // when the session publishes (ViaRTM)
	live  *Histogram // delivery latency, every delivery
	meas  *Histogram // delivery latency, publishes of the measured window
	dead  chan struct{}
	opts  *websocket.DialOptions    // how it dials (runner's, or its publisher's)
	out   atomic.Pointer[batchConn] // a publisher's session: its connection's writes

	foreign uint64 // message events that are not the run's (reader-owned)
}

func newSession(r *runner, idx int, u *benchUser) *session {
	s := &session{r: r, idx: idx, user: u, live: r.live.Shard(idx), meas: r.measured.Shard(idx), dead: make(chan struct{}), opts: r.wsOpts}
	for _, ch := range u.chans {
		s.recv = append(s.recv, &recvState{ch: ch})
	}
	return s
}

// Connection attempts before a session is given up.
const connectAttempts = 4

// reconnectFor is how long a dropped session tries to reconnect.
const reconnectFor = 30 * time.Second

// open connects the session for the first time, retrying transient
// failures, and starts its reader. It returns the time from rtm.connect
// to hello of the attempt that succeeded.
func (s *session) open(ctx context.Context) (time.Duration, error) {
	var err error
	for attempt := range connectAttempts {
		if attempt > 0 {
			s.r.connectRetries.Add(1)
			if !sleepCtx(ctx, time.Duration(100<<attempt)*time.Millisecond) {
				break
			}
		}
		t0 := time.Now()
		var c *websocket.Conn
		var hello time.Time
		c, hello, err = s.dial(ctx, nil)
		if err != nil {
			continue
		}
		s.hello = hello.UnixNano()
		for _, st := range s.recv {
			st.ch.connected.Add(1)
		}
		s.conn.Store(c)
		s.r.opened.Add(1)
		s.r.readers.Add(1)
		go s.read()
		return hello.Sub(t0), nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return 0, err
}

// helloTimeout bounds the wait for hello (the server sends it once the
// session's channels are subscribed, or after 5 s).
const helloTimeout = 15 * time.Second

// dial calls rtm.connect, opens the websocket and reads hello.
func (s *session) dial(ctx context.Context, resume map[string]uint64) (*websocket.Conn, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	rt, err := s.user.api.ConnectWith(ctx, resume, s.opts)
	if err != nil {
		return nil, time.Time{}, err
	}
	c := rt.Conn
	c.SetReadLimit(1 << 20)
	bp := s.r.bufs.Get().(*[]byte)
	defer s.r.bufs.Put(bp)
	f, err := readFrame(ctx, c, bp)
	at := time.Now()
	if err == nil && frameKind(f) != kindHello {
		err = fmt.Errorf("first frame is not hello: %.100s", f)
	}
	if err != nil {
		c.CloseNow()
		return nil, time.Time{}, err
	}
	return c, at, nil
}

// readFrame reads one message into *bp (grown as needed) and returns it.
func readFrame(ctx context.Context, c *websocket.Conn, bp *[]byte) ([]byte, error) {
	_, rd, err := c.Reader(ctx)
	if err != nil {
		return nil, err
	}
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			*bp = b
			return b, nil
		}
		if err != nil {
			*bp = b
			return nil, err
		}
	}
}

// read handles frames until the run ends. A session that loses its
// connection reconnects and resumes from the last seq it received (when
// Config.Reconnect). A publisher's sends that were in flight are left
// unanswered: the server may or may not have committed them.
func (s *session) read() {
	defer s.r.readers.Done()
	defer close(s.dead)
	for {
		err := s.readConn(s.conn.Load())
		if s.r.stopping.Load() {
			return
		}
		s.r.noteDisconnect(err)
		if s.pub != nil {
			s.pub.reclaim()
		}
		if !s.r.cfg.Reconnect || !s.reconnect() {
			// Gone for the rest of the run: the drain owes it nothing more.
			for _, st := range s.recv {
				st.ch.connected.Add(-1)
			}
			return
		}
	}
}

// readConn handles the frames of c until it fails.
func (s *session) readConn(c *websocket.Conn) error {
	ctx := context.Background() // no per-read timer; teardown closes the connection
	for {
		bp := s.r.bufs.Get().(*[]byte)
		f, err := readFrame(ctx, c, bp)
		if err == nil {
			s.handle(f)
		}
		s.r.bufs.Put(bp)
		if err != nil {
			return err
		}
	}
}

// reconnect dials again, resuming every channel from the last seq it
// received. False when it gave up or the run is ending.
func (s *session) reconnect() bool {
	resume := map[string]uint64{}
	for _, st := range s.recv {
		if st.maxSeq > 0 {
			resume[st.ch.id] = st.maxSeq
		}
	}
	// Like a real client, keep trying for a while: after a gateway dies,
	// rtm.connect may hand out its address until gossip declares it dead.
	deadline := time.Now().Add(reconnectFor)
	backoff := 100 * time.Millisecond
	for time.Now().Before(deadline) {
		if !sleepCtx(s.r.halt, backoff) || s.r.stopping.Load() {
			return false
		}
		backoff = min(2*backoff, time.Second)
		c, _, err := s.dial(s.r.halt, resume)
		if err != nil {
			continue
		}
		s.conn.Store(c)
		if s.r.stopping.Load() {
			c.CloseNow()
			return false
		}
		s.r.reconnects.Add(1)
		return true
	}
	s.r.reconnectFailures.Add(1)
	return false
}

// handle dispatches one frame; the frame's memory is reused afterwards.
func (s *session) handle(f []byte) {
	switch frameKind(f) {
	case kindMessage:
		s.onMessage(f)
	case kindAck:
		if s.pub != nil {
			s.pub.onAck(f, true)
		}
	case kindNack:
		if s.pub != nil {
			s.pub.onAck(f, false)
		}
	case kindGoodbye:
		s.r.goodbyes.Add(1)
	case kindError:
		s.r.countError("rtm error event, code " + errorCode(f))
	}
}

// onMessage accounts one message event: the per-delivery hot path.
func (s *session) onMessage(f []byte) {
	m, ok := parseMessage(f)
	if !ok {
		s.foreign++
		return
	}
	var st *recvState
	for _, r := range s.recv {
		if bytes.Equal(m.channel, r.ch.idBytes) {
			st = r
			break
		}
	}
	if st == nil || uint64(st.ch.idx) != m.chanIdx {
		s.foreign++
		return
	}
	if !st.receive(m.pubIdx, m.seq) {
		return
	}
	lat := time.Now().UnixNano() - m.sentNs
	s.live.Record(lat)
	if m.sentNs >= s.r.winStart.Load() && m.sentNs < s.r.winEnd.Load() {
		s.meas.Record(lat)
	}
}

// noteDisconnect counts a connection the server (or the network) ended.
func (r *runner) noteDisconnect(err error) {
	r.disconnects.Add(1)
	switch code := websocket.CloseStatus(err); code {
	case websocket.StatusPolicyViolation:
		r.slowDisconnects.Add(1)
		r.countError("disconnected: 1008 (slow consumer)")
	case -1:
		r.countError("disconnected: connection lost")
	default:
		r.countError(fmt.Sprintf("disconnected: %d", int(code)))
	}
}

// sleepCtx sleeps for d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wsClient returns the HTTP client for websocket handshakes. Every
// connection it makes is kept in conns until it is closed. With source
// addresses, each new connection takes the next one, so that tens of
// thousands of connections to one loopback address do not exhaust one
// source address's ephemeral ports. When wrap is not nil, the handshake
// and the websocket go through wrap(c) instead of c.
func wsClient(ips []net.IP, conns *connSet, wrap func(net.Conn) net.Conn) *http.Client {
	var next atomic.Uint64
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment, // as the default client (never for loopback)
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: 10 * time.Second}
			if host, _, err := net.SplitHostPort(addr); err == nil && isLoopback(host) && len(ips) > 0 {
				d.LocalAddr = &net.TCPAddr{IP: ips[(next.Add(1)-1)%uint64(len(ips))]}
			}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c = conns.add(c)
			if wrap != nil {
				c = wrap(c)
			}
			return c, nil
		},
		MaxIdleConnsPerHost: -1, // upgraded connections are never reused
	}
	return &http.Client{Transport: tr}
}

// connSet is the open TCP connections under the run's websockets, so that
// the teardown can drop those whose close handshake hangs. Safe for
// concurrent use.
type connSet struct {
	mu sync.Mutex
	m  map[*trackedConn]struct{}
}

func newConnSet() *connSet { return &connSet{m: map[*trackedConn]struct{}{}} }

// add tracks c until it is closed.
func (s *connSet) add(c net.Conn) net.Conn {
	t := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	s.m[t] = struct{}{}
	s.mu.Unlock()
	return t
}

// closeAll closes every connection still open.
func (s *connSet) closeAll() {
	s.mu.Lock()
	open := make([]*trackedConn, 0, len(s.m))
	for c := range s.m {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.m, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// batchConn holds what is written to it, once held, until flush: a
// publisher with several sends ready writes them in one system call, as
// a busy client does (or a NATS client's flusher), instead of one per
// frame, which was 43% of the load tool's CPU in the publish scenario.
// Safe for concurrent use: the library writes pongs and closes through
// it too, which a hold delays until the next flush.
type batchConn struct {
	net.Conn
	mu   sync.Mutex
	held bool
	buf  []byte
	err  error // of the write that failed: every later write fails
}

// maxHeld bounds what a batchConn holds; a write past it flushes.
const maxHeld = 64 << 10

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.held && len(c.buf)+len(p) <= maxHeld {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	c.err = err
	return n, err
}

// hold makes writes wait for flush.
func (c *batchConn) hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

// flush writes what is held and ends the hold. A failed write closes the
// connection, so that its reader sees the loss and reconnects, and fails
// every later write: the writes it held were reported written, and are
// lost with the connection, like bytes in a socket buffer.
func (c *batchConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	c.flushLocked()
}

func (c *batchConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, c.err = c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if c.err != nil {
		c.Conn.Close()
	}
	return c.err
}

// isLoopback reports whether host (a name or an address) is a loopback
// address, where source addresses in 127.0.0.0/8 can reach it.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errStopped ends a publisher when the run stops or its session died.
var errStopped = errors.New("stopped")

// bufPool makes the frame buffer pool: idle sessions hold no buffer.
func bufPool() *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
}
