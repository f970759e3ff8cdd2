package internode

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Client is the dialing end of a link: it sends requests, matches their
// replies, and hands pushed events to its events function. Safe for
// concurrent use.
type Client struct {
	*Link
	addr   string
	events func(*Client, Frame)

	mu      sync.Mutex // guards nextID, pending
	nextID  uint64
	pending map[uint64]func(Frame, error)
	readWG  sync.WaitGroup
}

// DialOptions configure Dial.
type DialOptions struct {
	Auth Auth   // this node's name, the cluster key, TLS
	Peer string // the name the listener must answer with ("" accepts any)
	// Events receives every frame that is not a reply (the events the
	// peer pushes) with the client it came on, on the link's reader
	// goroutine, in order. EventHandler makes one that decodes them.
	Events func(*Client, Frame)
	// Versions overrides the protocol versions offered (tests).
	Versions []uint16
}

// Dial opens a link to addr and completes the handshake.
func Dial(ctx context.Context, addr string, o DialOptions) (*Client, error) {
	d := net.Dialer{Timeout: 3 * time.Second, KeepAlive: 15 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	nc.(*net.TCPConn).SetNoDelay(true)
	versions := o.Versions
	if versions == nil {
		versions = Versions
	}
	conn, h, err := o.Auth.secure(ctx, nc, true, o.Peer, versions)
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc = conn
	peer, version, err := h.run(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc = o.Auth.Traffic.conn(nc)
	br := bufio.NewReaderSize(nc, 64<<10)
	c := &Client{Link: newLink(nc, peer, version), addr: addr, events: o.Events, pending: map[uint64]func(Frame, error){}}
	c.readWG.Add(1)
	go c.readLoop(br)
	return c, nil
}

// Addr is the address the client dialed.
func (c *Client) Addr() string { return c.addr }

func (c *Client) readLoop(br *bufio.Reader) {
	defer c.readWG.Done()
	for {
		f, err := readFrame(br)
		if err != nil {
			c.Close(err)
			break
		}
		if f.Kind != KindReply {
			if c.events != nil {
				c.events(c, f)
			}
			continue
		}
		c.mu.Lock()
		cb := c.pending[f.ReqID]
		delete(c.pending, f.ReqID)
		c.mu.Unlock()
		if cb != nil {
			cb(f, nil)
		}
	}
	c.wait()
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, cb := range pending {
		cb(Frame{}, ErrClosed)
	}
}

// Go sends request m and calls cb with its reply (decode the body with
// the request's reply type), or with an error if the link ends first. cb
// runs on the reader goroutine, before any frame that arrived after the
// reply is handled, so it must not block. A generic function, not a
// method, so that m is not boxed.
func Go[M Message](c *Client, m M, cb func(Frame, error)) {
	id, ok := c.register(cb)
	if !ok {
		cb(Frame{}, ErrClosed)
		return
	}
	if err := send(c.Link, id, m); err != nil {
		if c.forget(id) {
			cb(Frame{}, err)
		}
	}
}

// Call sends request m and waits for its reply.
func Call[M Message](ctx context.Context, c *Client, m M) (Frame, error) {
	type result struct {
		f   Frame
		err error
	}
	ch := make(chan result, 1)
	id, ok := c.register(func(f Frame, err error) { ch <- result{f, err} })
	if !ok {
		return Frame{}, ErrClosed
	}
	if err := send(c.Link, id, m); err != nil {
		c.forget(id)
		return Frame{}, err
	}
	select {
	case r := <-ch:
		return r.f, r.err
	case <-ctx.Done():
		c.forget(id)
		return Frame{}, ctx.Err()
	}
}

// register reserves a request id for cb; false when the link has ended.
func (c *Client) register(cb func(Frame, error)) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		return 0, false
	}
	c.nextID++
	c.pending[c.nextID] = cb
	return c.nextID, true
}

// forget drops a request's callback; true when it was still waiting.
func (c *Client) forget(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, waiting := c.pending[id]
	delete(c.pending, id)
	return waiting
}

// Shutdown ends the link and waits for its goroutines.
func (c *Client) Shutdown() {
	c.Close(nil)
	c.readWG.Wait()
}

// Pool keeps one Client per peer node, dialing on first use and again
// after a link ends. Safe for concurrent use. It starts no goroutine
// until it is used.
type Pool struct {
	auth   Auth
	events func(c *Client, f Frame)
	down   func(peer string)
	logger *slog.Logger

	mu      sync.Mutex
	clients map[string]*Client
	dialing map[string]*dial
	closed  bool
	wg      sync.WaitGroup
}

type dial struct {
	done chan struct{}
	c    *Client
	err  error
}

// NewPool makes a pool for the node a authenticates. events receives
// pushed events with the client they came on (on its reader goroutine);
// down is told when a link to a peer ends, so its user can re-subscribe
// elsewhere. Both may be nil.
func NewPool(a Auth, events func(c *Client, f Frame), down func(peer string), logger *slog.Logger) *Pool {
	return &Pool{auth: a, events: events, down: down, logger: logger,
		clients: map[string]*Client{}, dialing: map[string]*dial{}}
}

// Get returns a live link to peer at addr, dialing if needed. A link to
// an old address of the peer (it restarted elsewhere) is replaced.
func (p *Pool) Get(ctx context.Context, peer, addr string) (*Client, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if c := p.clients[peer]; c != nil {
		select {
		case <-c.Done():
		default:
			if c.addr == addr {
				p.mu.Unlock()
				return c, nil
			}
			c.Close(nil)
		}
	}
	d := p.dialing[peer]
	if d == nil {
		d = &dial{done: make(chan struct{})}
		p.dialing[peer] = d
		p.wg.Add(1)
		go p.dial(d, peer, addr)
	}
	p.mu.Unlock()
	select {
	case <-d.done:
		return d.c, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) dial(d *dial, peer, addr string) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, DialOptions{Auth: p.auth, Peer: peer, Events: p.events})
	p.mu.Lock()
	delete(p.dialing, peer)
	if err == nil && p.closed {
		err = ErrClosed
		c.Shutdown()
		c = nil
	}
	if err == nil {
		p.clients[peer] = c
		p.wg.Add(1)
		go p.watch(peer, c)
	}
	d.c, d.err = c, err
	p.mu.Unlock()
	close(d.done)
	if err != nil {
		p.logger.Debug("internode dial failed", "peer", peer, "addr", addr, "err", err)
	}
}

// watch forgets a client once its link ends and tells down.
func (p *Pool) watch(peer string, c *Client) {
	defer p.wg.Done()
	<-c.Done()
	c.readWG.Wait()
	p.mu.Lock()
	if p.clients[peer] == c {
		delete(p.clients, peer)
	}
	closed := p.closed
	p.mu.Unlock()
	if !closed && p.down != nil {
		p.down(peer)
	}
}

// Live returns the pool's live link to peer at addr without dialing, or
// nil.
func (p *Pool) Live(peer, addr string) *Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients[peer]; c != nil && c.addr == addr {
		select {
		case <-c.Done():
		default:
			return c
		}
	}
	return nil
}

// Retain ends the links to the peers for which keep is false (nodes
// that left the cluster). A peer cut off by the network sends no RST:
// without this, a call waiting on its link would wait for its context,
// seconds after failure detection moved the key to a new owner; now it
// fails at once, and the caller resends what is idempotent there.
func (p *Pool) Retain(keep func(peer string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for peer, c := range p.clients {
		if !keep(peer) {
			c.Close(nil)
		}
	}
}

// Close ends every link and waits for the pool's goroutines. Safe to call
// twice.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	for _, c := range p.clients {
		c.Close(nil)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
