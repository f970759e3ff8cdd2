package internode

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringcast/ringcast/trust"
)

const (
	secret      = "cluster-secret-3Hq8Zm1Vx6Rt4Nc9Bw2Ly7Ks5Pd0F="
	otherSecret = "other-secret-9Kd2Wm5Qa8Zr1Vt4Nc7Bx0Ly3Hs6Jf="
)

func trustOf(t *testing.T, self string, secrets ...string) *trust.Trust {
	t.Helper()
	tr, err := trust.New(trust.Config{Self: self, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// listen starts a server with auth a on loopback.
func listen(t *testing.T, a Auth) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", a, &Dispatcher{Channel: &echoChannel{}, Log: logger()}, logger())
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTLSLinks: with TLS both ends verify each other; a node of another
// secret, a plain TCP dialer that knows the cluster key, and a node with
// the secret whose name the listener does not admit are all refused.
func TestTLSLinks(t *testing.T) {
	members := map[string]bool{"gw-1": true, "server": true}
	s := listen(t, Auth{Self: "server", Key: key, TLS: trustOf(t, "server", secret), Admit: func(n string) bool { return members[n] }})
	good := Auth{Self: "gw-1", Key: key, TLS: trustOf(t, "gw-1", secret)}
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: good, Peer: "server"})
	if err != nil {
		t.Fatalf("a member with the secret: %v", err)
	}
	if _, ok := c.nc.(*tls.Conn); !ok {
		t.Fatal("the link is not TLS")
	}
	if _, err := Call(t.Context(), c, Publish{Channel: "C1", User: "U1", Text: "over tls"}); err != nil {
		t.Fatalf("a call over TLS: %v", err)
	}
	c.Shutdown()
	for name, o := range map[string]DialOptions{
		"another secret":                 {Auth: Auth{Self: "gw-1", Key: key, TLS: trustOf(t, "gw-1", otherSecret)}, Peer: "server"},
		"no TLS, the cluster key known":  {Auth: Auth{Self: "gw-1", Key: key}, Peer: "server"},
		"not a live member":              {Auth: Auth{Self: "mallory", Key: key, TLS: trustOf(t, "mallory", secret)}, Peer: "server"},
		"the listener's own name":        {Auth: Auth{Self: "server", Key: key, TLS: trustOf(t, "server", secret)}, Peer: "server"},
		"a certificate for another name": {Auth: Auth{Self: "gw-1", Key: key, TLS: trustOf(t, "someone", secret)}, Peer: "server"},
	} {
		if c, err := Dial(t.Context(), s.Addr(), o); err == nil {
			c.Shutdown()
			t.Errorf("%s: dial succeeded", name)
		}
	}
	// A dialer expecting the listener under another name refuses it.
	if _, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: good, Peer: "ch-9"}); err == nil {
		t.Error("the listener's certificate names server, and the dialer took it for ch-9")
	}
}

// TestOwnLinks: a node links to itself (its gateway subscribes at its own
// channel role), which the handshake tells from a stranger giving its
// name by the nonces of the process's handshakes in progress.
func TestOwnLinks(t *testing.T) {
	own := NewOwn()
	self := Auth{Self: "n1", Key: key, Own: own, Admit: func(string) bool { return false }}
	s := listen(t, self)
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: self, Peer: "n1"})
	if err != nil {
		t.Fatalf("a link to itself: %v", err)
	}
	c.Shutdown()
	// Another process with the key, giving n1's name, and its own Own.
	stranger := Auth{Self: "n1", Key: key, Own: NewOwn()}
	if _, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: stranger, Peer: "n1"}); err == nil {
		t.Fatalf("a stranger giving the node's own name: %v", err)
	}
	// The listener's side forgets its nonce when its handshake returns,
	// which may be a moment after the dialer's.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		own.mu.Lock()
		n := len(own.nonces)
		own.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d nonces left in the set after the handshakes", n)
		}
	}
}

// TestRelayedProofIsRefused: a man in the middle who has the secret (so
// it can finish TLS with both sides) but not the cluster key relays a
// real dialer's handshake to a real listener. The proofs are bound to
// each TLS connection, so both sides refuse.
func TestRelayedProofIsRefused(t *testing.T) {
	s := listen(t, Auth{Self: "server", Key: key, TLS: trustOf(t, "server", secret)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	mitm := trustOf(t, "server", secret) // its certificate names server for the dialer
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		in := tls.Server(raw, mitm.Server())
		defer in.Close()
		rawOut, err := net.Dial("tcp", s.Addr())
		if err != nil {
			return
		}
		out := tls.Client(rawOut, trustOf(t, "gw-1", secret).Client("server"))
		defer out.Close()
		go io.Copy(in, out)
		io.Copy(out, in)
	}()
	_, err = Dial(t.Context(), ln.Addr().String(), DialOptions{Auth: Auth{Self: "gw-1", Key: key, TLS: trustOf(t, "gw-1", secret)}, Peer: "server"})
	if !errors.Is(err, ErrBadHello) {
		t.Fatalf("a relayed handshake: %v, want ErrBadHello", err)
	}
}

// TestHandshakeFrameCap: before a peer is authenticated, a frame over a
// few hundred bytes ends the connection without its body being read (or
// allocated): before, a peer could announce 4 MiB and the node
// allocated them.
func TestHandshakeFrameCap(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxFrame)
	// Only the header is there: reading a body would fail otherwise.
	if _, err := readHandshakeFrame(bytes.NewReader(hdr[:])); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("a 4 MiB handshake frame: %v, want ErrFrameTooLarge", err)
	}
	binary.BigEndian.PutUint32(hdr[:], MaxHandshakeFrame+1)
	if _, err := readHandshakeFrame(bytes.NewReader(hdr[:])); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("a frame one byte over the cap: %v", err)
	}
	// A real listener hangs up at once on such a header.
	s := listen(t, Auth{Self: "server", Key: key})
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	binary.BigEndian.PutUint32(hdr[:], MaxFrame)
	nc.Write(hdr[:])
	nc.SetReadDeadline(time.Now().Add(handshakeTimeout / 2)) // well before the handshake's own deadline
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after a 4 MiB header: %v, want the server to hang up", err)
	}
}

// TestHandshakesInProgressCapped: connections that never finish their
// handshakes take at most MaxHandshakes slots; one more is closed at
// once, and once they go a real peer links again.
func TestHandshakesInProgressCapped(t *testing.T) {
	s := listen(t, Auth{Self: "server", Key: key})
	var idle []net.Conn
	for range MaxHandshakes {
		nc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, nc)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.slots) < MaxHandshakes {
		if time.Now().After(deadline) {
			t.Fatalf("%d handshakes in progress, want %d", len(s.slots), MaxHandshakes)
		}
		time.Sleep(time.Millisecond)
	}
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(handshakeTimeout / 2))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection %d: %v, want closed at once", MaxHandshakes+1, err)
	}
	for _, nc := range idle {
		nc.Close()
	}
	for len(s.slots) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle connections' slots were not given back")
		}
		time.Sleep(time.Millisecond)
	}
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "client", Key: key}})
	if err != nil {
		t.Fatalf("after the flood: %v", err)
	}
	c.Shutdown()
}

// scripted is a connection that reads a fixed input and swallows what
// is written: one side of a handshake, driven by a fuzzer.
type scripted struct {
	net.Conn // nil: the methods below are all a handshake uses
	r        io.Reader
}

func (s scripted) Read(b []byte) (int, error)       { return s.r.Read(b) }
func (s scripted) Write(b []byte) (int, error)      { return len(b), nil }
func (s scripted) SetDeadline(time.Time) error      { return nil }
func (s scripted) SetReadDeadline(time.Time) error  { return nil }
func (s scripted) SetWriteDeadline(time.Time) error { return nil }
func (s scripted) Close() error                     { return nil }
func (s scripted) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// handshakeSeeds adds testdata/handshake/*.bin to f's corpus.
func handshakeSeeds(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob("testdata/handshake/*.bin")
	if len(files) == 0 {
		f.Fatal("no seeds in testdata/handshake")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzHandshake: whatever a peer sends, either side of the handshake
// ends with an error (it cannot prove the cluster key), never a panic,
// and never allocates more than MaxHandshakeFrame for a message.
func FuzzHandshake(f *testing.F) {
	handshakeSeeds(f, func(b []byte) { f.Add(b, false); f.Add(b, true) })
	f.Fuzz(func(t *testing.T, in []byte, dialer bool) {
		h := handshake{dialer: dialer, self: "node", key: key, versions: Versions, own: NewOwn(),
			admit: func(string) bool { return true }}
		if _, _, err := h.run(scripted{r: bytes.NewReader(in)}); err == nil {
			t.Fatalf("a handshake without the key succeeded on %x", in)
		}
	})
}

// FuzzReadFrame: the envelope readers, on any bytes (seeded with the
// handshakes of testdata/handshake and a link's frames): a link's reader
// returns envelopes within MaxFrame, the handshake's within
// MaxHandshakeFrame, or an error.
func FuzzReadFrame(f *testing.F) {
	handshakeSeeds(f, func(b []byte) { f.Add(b) })
	if b, err := os.ReadFile(framesFile); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for r := bufio.NewReader(bytes.NewReader(in)); ; {
			fr, err := readFrame(r)
			if err != nil {
				break
			}
			if len(fr.Body) > MaxFrame {
				t.Fatalf("a %d-byte envelope", len(fr.Body))
			}
		}
		for r := bytes.NewReader(in); ; {
			fr, err := readHandshakeFrame(r)
			if err != nil {
				break
			}
			if len(fr.Body) > MaxHandshakeFrame {
				t.Fatalf("a %d-byte handshake message", len(fr.Body))
			}
		}
	})
}
