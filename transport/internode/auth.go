package internode

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/ringcast/ringcast/trust"
)

// Auth is how a node's links are authenticated, at both ends: its name
// and the cluster key (the handshake's proofs), TLS (nil: plain TCP, for
// a loopback-only cluster without a secret), and, when listening, which
// dialers it admits.
type Auth struct {
	Self string
	Key  []byte
	TLS  *trust.Trust
	// Admit says whether a node of that name may open a link to this
	// one: a live member of this node's view. nil admits any name but
	// this node's own.
	Admit func(name string) bool
	// Own recognises this process's links to itself (a node's gateway
	// subscribes at its own channel role): every Auth of one process
	// shares it. A peer giving this node's name is taken only when its
	// handshake nonce is one this process is using; nil takes none.
	Own *Own
	// Traffic, when set, counts the bytes of every link made with this
	// Auth (after the handshake; TLS's own bytes not included).
	Traffic *Traffic
}

// Traffic counts the bytes links carry, both ways. Safe for concurrent
// use; a nil *Traffic counts nothing.
type Traffic struct {
	Sent, Received atomic.Uint64
}

// conn returns nc counting into t (nc itself when t is nil).
func (t *Traffic) conn(nc net.Conn) net.Conn {
	if t == nil {
		return nc
	}
	return &countedConn{Conn: nc, t: t}
}

// countedConn counts a link's bytes: once per read or write call (a
// link writes everything pending with one call), never per message.
type countedConn struct {
	net.Conn
	t *Traffic
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.Received.Add(uint64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.Sent.Add(uint64(n))
	return n, err
}

// Own is the set of handshake nonces this process's handshakes are
// using, by which either end tells a link to itself from a stranger
// giving its name (16 random bytes cannot be guessed, and one is in the
// set only while its handshake runs). Safe for concurrent use.
type Own struct {
	mu     sync.Mutex
	nonces map[[NonceSize]byte]struct{}
}

// NewOwn makes the process's Own.
func NewOwn() *Own { return &Own{nonces: map[[NonceSize]byte]struct{}{}} }

func (o *Own) add(n []byte) {
	if o != nil {
		o.mu.Lock()
		o.nonces[[NonceSize]byte(n)] = struct{}{}
		o.mu.Unlock()
	}
}

func (o *Own) remove(n []byte) {
	if o != nil {
		o.mu.Lock()
		delete(o.nonces, [NonceSize]byte(n))
		o.mu.Unlock()
	}
}

func (o *Own) has(n []byte) bool {
	if o == nil || len(n) != NonceSize {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.nonces[[NonceSize]byte(n)]
	return ok
}

// secure wraps nc in TLS when a has it, completing the TLS handshake
// (within handshakeTimeout), and returns the connection the link runs on
// with the handshake a's side brings to it. peer is the name a dialer
// expects ("" on the listener).
func (a Auth) secure(ctx context.Context, nc net.Conn, dialer bool, peer string, versions []uint16) (net.Conn, handshake, error) {
	h := handshake{dialer: dialer, self: a.Self, key: a.Key, expect: peer, versions: versions, admit: a.Admit, own: a.Own}
	if a.TLS == nil {
		return nc, h, nil
	}
	var tc *tls.Conn
	if dialer {
		tc = tls.Client(nc, a.TLS.Client(peer))
	} else {
		tc = tls.Server(nc, a.TLS.Server())
	}
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, h, fmt.Errorf("%w: tls: %v", ErrBadHello, err)
	}
	cs := tc.ConnectionState()
	binding, err := trust.Binding(cs)
	if err != nil {
		return nil, h, err
	}
	h.binding = binding
	h.certNames = func(name string) bool { return trust.PeerName(cs, name) }
	return tc, h, nil
}

// MaxHandshakes bounds the connections a listener holds that have not
// finished their handshakes; one more is closed at once. (A legitimate
// cluster opens a few links per node, so this is never reached but by a
// flood.)
const MaxHandshakes = 64
