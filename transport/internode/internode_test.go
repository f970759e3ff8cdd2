package internode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = []byte("test-key")

func TestFrameRoundTrip(t *testing.T) {
	frames := []*Frame{
		{Kind: KindHello, User: "node-a", Text: "proof"},
		{Kind: KindSubscribe, Op: SubFromLatest, ReqID: 7, Channel: "C1", Seq: 99},
		{Kind: KindPublish, ReqID: 1 << 40, Channel: "C1", User: "U1", Text: "héllo\x00", TS: -5, Extra: "cm"},
		{Kind: KindMember, Op: 2, Channel: "C1", Users: []string{"U1", "", "U3"}},
		{Kind: KindEvent, Channel: "C1", Seq: 12, Payload: []byte(`{"type":"message"}`)},
		{Kind: KindReply, ReqID: 3, Extra: "not_in_channel"},
	}
	var buf []byte
	for _, f := range frames {
		buf = AppendFrame(buf, f)
	}
	r := bytes.NewReader(buf)
	for _, want := range frames {
		got, err := ReadFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
	if _, err := ReadFrame(r); err != io.EOF {
		t.Fatalf("after last frame: %v", err)
	}
}

func TestReadFrameRejectsBadInput(t *testing.T) {
	good := AppendFrame(nil, &Frame{Kind: KindPublish, Channel: "C1", Text: "x"})
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated body", good[:len(good)-1]},
		{"too large", []byte{0xff, 0xff, 0xff, 0xff}},
		{"trailing bytes", func() []byte {
			b := append(append([]byte(nil), good...), 0)
			b[3]++
			return b
		}()},
		{"string longer than frame", []byte{0, 0, 0, 8, 4, 0, 0, 0, 0, 100, 0, 0}},
		{"huge user count", []byte{0, 0, 0, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x7f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := ReadFrame(bytes.NewReader(tt.in)); err == nil {
				t.Fatalf("accepted %x as %+v", tt.in, f)
			}
		})
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(AppendFrame(nil, &Frame{Kind: KindEvent, Channel: "C1", Seq: 1, Payload: []byte("{}")})[4:])
	f.Add(AppendFrame(nil, &Frame{Kind: KindMember, Users: []string{"a", "b"}})[4:])
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := DecodeFrame(body)
		if err != nil {
			return
		}
		// What decodes survives a re-encoding unchanged (varints may be
		// written non-minimally on input, so compare frames, not bytes).
		again, err := DecodeFrame(AppendFrame(nil, fr)[4:])
		if err != nil || !reflect.DeepEqual(again, fr) {
			t.Fatalf("re-encoding %+v gave %+v, %v", fr, again, err)
		}
	})
}

// echo is a Handler that replies to each request with its own fields and
// pushes an event per publish.
type echo struct {
	mu     sync.Mutex
	closed []string
}

func (e *echo) HandleFrame(l *Link, f *Frame) {
	if f.Kind == KindPublish {
		l.Send(&Frame{Kind: KindEvent, Channel: f.Channel, Seq: f.Seq, Payload: []byte(f.Text)})
	}
	l.Send(&Frame{Kind: KindReply, ReqID: f.ReqID, Seq: f.Seq, Channel: f.Channel})
}

func (e *echo) LinkClosed(l *Link) {
	e.mu.Lock()
	e.closed = append(e.closed, l.Peer())
	e.mu.Unlock()
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startServer(t *testing.T, h Handler) *Server { t.Helper(); return startNamed(t, "server", h) }

func startNamed(t *testing.T, name string, h Handler) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", name, key, h, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCallAndEvents(t *testing.T) {
	h := &echo{}
	s := startServer(t, h)
	events := make(chan *Frame, 100)
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Self: "client", Peer: "server", Key: key, Events: func(_ *Client, f *Frame) { events <- f }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	for i := uint64(1); i <= 50; i++ {
		r, err := c.Call(t.Context(), &Frame{Kind: KindPublish, Channel: "C1", Seq: i, Text: "m"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != i {
			t.Fatalf("reply seq %d, want %d", r.Seq, i)
		}
		// The event was sent before the reply, so it is already here.
		select {
		case ev := <-events:
			if ev.Seq != i {
				t.Fatalf("event seq %d, want %d", ev.Seq, i)
			}
		default:
			t.Fatal("event did not arrive before its reply")
		}
	}
}

func TestBadHelloIsRefused(t *testing.T) {
	s := startServer(t, &echo{})
	if _, err := Dial(t.Context(), s.Addr(), DialOptions{Self: "intruder", Key: []byte("wrong")}); err == nil {
		t.Fatal("dial with a wrong key succeeded")
	}
	if _, err := Dial(t.Context(), s.Addr(), DialOptions{Self: "client", Peer: "someone-else", Key: key}); !errors.Is(err, ErrBadHello) {
		t.Fatalf("dial expecting another peer name: err = %v", err)
	}
	// Garbage instead of a hello.
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("server answered garbage")
	}
	nc.Close()
}

func TestPendingCallsFailWhenLinkEnds(t *testing.T) {
	block := make(chan struct{})
	s := startServer(t, handlerFunc(func(l *Link, f *Frame) { <-block }))
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Self: "client", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), &Frame{Kind: KindPublish})
		errc <- err
	}()
	// Wait until the request is in flight, then cut the link.
	for {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.Shutdown()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending call: err = %v, want ErrClosed", err)
	}
	close(block)
	c.Go(&Frame{Kind: KindPublish}, func(_ *Frame, err error) {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Go on a closed client: %v", err)
		}
	})
}

type handlerFunc func(*Link, *Frame)

func (h handlerFunc) HandleFrame(l *Link, f *Frame) { h(l, f) }
func (h handlerFunc) LinkClosed(*Link)              {}

func TestPoolRedialsAndReportsDown(t *testing.T) {
	h := &echo{}
	s := startServer(t, h)
	downs := make(chan string, 4)
	p := NewPool("client", key, nil, func(peer string) { downs <- peer }, logger(t))
	defer p.Close()
	c1, err := p.Get(t.Context(), "server", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := p.Get(t.Context(), "server", s.Addr()); c2 != c1 {
		t.Fatal("pool dialed twice for a live link")
	}
	c1.Close(nil) // the link is lost
	if peer := <-downs; peer != "server" {
		t.Fatalf("down(%q)", peer)
	}
	c3, err := p.Get(t.Context(), "server", s.Addr())
	if err != nil || c3 == c1 {
		t.Fatalf("no fresh link after drop: %v", err)
	}
	if _, err := c3.Call(t.Context(), &Frame{Kind: KindSubscribe}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(t.Context(), "server", "127.0.0.1:1"); err == nil {
		t.Fatal("dial of a dead address succeeded")
	}
}

// TestPoolRetain: the links to peers that left the cluster end, and a
// call waiting on one fails at once (the Router then resends what is
// idempotent to the new owner) instead of waiting for its context; the
// others stay.
func TestPoolRetain(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	gone := startNamed(t, "gone", handlerFunc(func(l *Link, f *Frame) { <-block }))
	kept := startNamed(t, "kept", &echo{})
	p := NewPool("client", key, nil, nil, logger(t))
	defer p.Close()
	cg, err := p.Get(t.Context(), "gone", gone.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ck, err := p.Get(t.Context(), "kept", kept.Addr())
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := cg.Call(context.Background(), &Frame{Kind: KindPublish})
		errc <- err
	}()
	for {
		cg.mu.Lock()
		n := len(cg.pending)
		cg.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.Retain(func(peer string) bool { return peer == "kept" })
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("call to a peer that left: err = %v, want ErrClosed", err)
	}
	if _, err := ck.Call(t.Context(), &Frame{Kind: KindSubscribe}); err != nil {
		t.Fatalf("the kept link: %v", err)
	}
}

// TestSlowPeerIsDropped: a peer that never reads is disconnected once
// MaxPending bytes wait for it; Send never blocks meanwhile.
func TestSlowPeerIsDropped(t *testing.T) {
	a, b := net.Pipe() // a pipe has no buffer: nothing is read from b
	defer b.Close()
	l := newLink(a)
	payload := make([]byte, 1<<20)
	var err error
	for range 200 {
		if err = l.Send(&Frame{Kind: KindEvent, Payload: payload}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrSlowPeer) {
		t.Fatalf("Send to a stuck peer: err = %v, want ErrSlowPeer", err)
	}
	l.wait()
}

func BenchmarkAppendFrameEvent(b *testing.B) {
	f := &Frame{Kind: KindEvent, Channel: "C0123456789", Seq: 123456, Payload: make([]byte, 300)}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], f)
	}
}
