package internode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = []byte("test-key")

var update = flag.Bool("update", false, "rewrite testdata/frames.bin from examples()")

// framesFile holds examples() in envelopes (request id i for the i-th):
// the wire format of every message, which TestRoundTrip checks and the
// fuzz targets start from. A change to it is a change of the protocol.
const framesFile = "testdata/frames.bin"

// decodable is a message that decodes into its pointer.
type decodable interface {
	Message
	Decode([]byte) error
}

// examples has one message of every kind, with every field set.
func examples() []Message {
	return []Message{
		Hello{Versions: []uint16{1, 7}, Name: "n1", Nonce: bytes.Repeat([]byte{9}, NonceSize), Proof: []byte{1, 2}},
		Proof{MAC: []byte{3, 4}},
		Subscribe{Channel: "C1"},
		SubscribeReply{Err: "wrong_owner", Seq: 1 << 40},
		Unsubscribe{Channel: "C1"},
		Publish{Channel: "C1", User: "U1", Text: "héllo\x00", ThreadTS: 1700000000000001, ClientMsgID: "cm", More: []byte(`{"st":"thread_broadcast"}`)},
		PublishReply{Seq: 42, TS: 1700000000000100},
		Change{Op: chat.KindEdit, Channel: "C1", User: "U1", Target: 1700000000000001, Text: "new", Name: "eyes", Blocks: "[]", Attachments: "[{}]"},
		ChangeReply{Err: "cant_update_message", Seq: 3, TS: 1700000000000200},
		Member{Op: MemberInvite, Channel: "C1", Actor: "U1", Users: []string{"U2", "", "U3"}},
		MemberReply{Err: "already_in_channel", Seq: 9},
		Typing{Channel: "C1", User: "U1"},
		Posted{Channel: "C1", Seq: 12, Payload: []byte(`{"type":"message"}`)},
		PostedAt{Channel: "C1", Seq: 13, Payload: []byte(`{"type":"message"}`), Committed: 1700000000123456789},
		PostedMember{Posted: Posted{Channel: "C1", Seq: 14, Payload: []byte(`{"type":"message","subtype":"channel_leave"}`), Committed: 1700000000123456790},
			User: "U2", Left: true, Event: []byte(`{"type":"member_left_channel"}`), Self: []byte(`{"type":"channel_left"}`)},
		Resubscribe{Channel: "C1"},
		ChannelEvent{Channel: "C1", After: 11, Activity: ActivityTyping, User: "U2", Payload: []byte(`{}`)},
		Report{User: "U1", Sessions: 3, Away: true, Round: 2},
		Watch{Users: []string{"U1", "U2"}},
		WatchReply{Active: []bool{true, false}},
		Unwatch{Users: []string{"U1"}},
		Query{Users: []string{"U1"}},
		QueryReply{Active: []bool{true}, Connections: 2, LastActive: 1700000000, ManualAway: true},
		SetAway{User: "U1", Away: true},
		SetAwayReply{Err: "invalid_presence"},
		UserEvent{User: "U1", Channel: "C1", Seq: 5, Name: ChannelJoined, Payload: []byte(`{"type":"channel_joined"}`)},
		Lease{},
		Synced{Round: 3, Ring: []string{"p1", "p2"}},
		PresenceChange{User: "U1", Active: true},
		UserNotice{User: "U1", Channel: "C1", Seq: 5, Name: ChannelJoined, Payload: []byte(`{}`)},
		AwayChange{User: "U1", Away: true},
		Resync{},
	}
}

// decodeAs decodes body into a new value of m's type.
func decodeAs(m Message, body []byte) (Message, error) {
	p := reflect.New(reflect.TypeOf(m))
	err := p.Interface().(decodable).Decode(body)
	return p.Elem().Interface().(Message), err
}

// TestRoundTrip: every message comes back as it was sent, through an
// envelope, and every kind has a name.
func TestRoundTrip(t *testing.T) {
	var buf []byte
	for i, m := range examples() {
		buf = appendEnvelope(buf, uint64(i), m)
	}
	if *update {
		if err := os.WriteFile(framesFile, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if golden, err := os.ReadFile(framesFile); err != nil || !bytes.Equal(golden, buf) {
		t.Fatalf("the messages' encoding is not %s (%v): a protocol change needs a new Version; then go test -run TestRoundTrip -update", framesFile, err)
	}
	br := bufio.NewReader(bytes.NewReader(buf))
	for i, want := range examples() {
		f, err := readFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind != want.Kind() || f.ReqID != uint64(i) || f.Kind.String() == "" || kindNames[f.Kind] == "" {
			t.Fatalf("%T: envelope %v id %d", want, f.Kind, f.ReqID)
		}
		got, err := decodeAs(want, f.Body)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%T round trip:\n got %+v, %v\nwant %+v", want, got, err, want)
		}
	}
	if _, err := readFrame(br); err != io.EOF {
		t.Fatalf("after last frame: %v", err)
	}
}

// TestKindsAreOneList: no two kinds share a number or a name.
func TestKindsAreOneList(t *testing.T) {
	names := map[string]Kind{}
	for k, n := range kindNames {
		if other, dup := names[n]; dup {
			t.Errorf("kinds %d and %d are both %q", k, other, n)
		}
		names[n] = k
	}
	seen := map[Kind]bool{}
	for _, m := range examples() {
		if m.Kind() != KindReply && seen[m.Kind()] {
			t.Errorf("%T shares kind %v", m, m.Kind())
		}
		seen[m.Kind()] = true
	}
}

// TestDecodeRejectsBadInput: a truncated or padded body, an impossible
// list length or a bad boolean is an error, never a guess.
func TestDecodeRejectsBadInput(t *testing.T) {
	for _, m := range examples() {
		body := m.AppendBody(nil)
		for i := range len(body) {
			if _, err := decodeAs(m, body[:i]); err == nil && len(m.AppendBody(nil)) > 0 {
				if _, isEmpty := m.(Lease); !isEmpty {
					t.Errorf("%T: %d of %d bytes decoded", m, i, len(body))
				}
			}
		}
		if _, err := decodeAs(m, append(body, 0)); err == nil {
			t.Errorf("%T: a trailing byte was accepted", m)
		}
	}
	if _, err := decodeAs(Watch{}, []byte{0xff, 0x7f}); err == nil {
		t.Error("a list longer than the body was accepted")
	}
	if _, err := decodeAs(SetAway{}, []byte{0, 2}); err == nil {
		t.Error("a boolean of 2 was accepted")
	}
	if _, err := readFrame(bufio.NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}))); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized frame: %v", err)
	}
}

// frameSeeds adds every frame of framesFile to f's corpus.
func frameSeeds(f *testing.F, add func(Frame)) {
	b, err := os.ReadFile(framesFile)
	if err != nil {
		f.Fatal(err)
	}
	for br := bufio.NewReader(bytes.NewReader(b)); ; {
		fr, err := readFrame(br)
		if err == io.EOF {
			return
		}
		if err != nil {
			f.Fatal(err)
		}
		add(fr)
	}
}

func FuzzDecode(f *testing.F) {
	frameSeeds(f, func(fr Frame) { f.Add(byte(fr.Kind), fr.Body) })
	byKind := map[Kind]Message{}
	for _, m := range examples() {
		if m.Kind() != KindReply {
			byKind[m.Kind()] = m
		}
	}
	f.Fuzz(func(t *testing.T, kind byte, body []byte) {
		m, ok := byKind[Kind(kind)]
		if !ok {
			return
		}
		got, err := decodeAs(m, body)
		if err != nil {
			return
		}
		// What decodes survives a re-encoding unchanged.
		again, err := decodeAs(m, got.AppendBody(nil))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding %+v gave %+v, %v", got, again, err)
		}
	})
}

// echoChannel serves the channel requests of the tests: it answers a
// publish with its own seq after pushing an event, and a subscribe with
// seq 7.
type echoChannel struct {
	mu     sync.Mutex
	closed []string
	block  chan struct{} // when set, Publish waits on it
}

func (e *echoChannel) Subscribe(r Request, m Subscribe) { Answer(r, SubscribeReply{Seq: 7}) }
func (e *echoChannel) Unsubscribe(*Link, Unsubscribe)   {}
func (e *echoChannel) Publish(r Request, m Publish) {
	if e.block != nil {
		<-e.block
	}
	Send(r.Link, Posted{Channel: m.Channel, Seq: uint64(m.ThreadTS), Payload: []byte(m.Text)})
	Answer(r, PublishReply{Seq: uint64(m.ThreadTS)})
}
func (e *echoChannel) Member(r Request, m Member) { Answer(r, MemberReply{Err: "not_in_channel"}) }
func (e *echoChannel) Change(r Request, m Change) { Answer(r, ChangeReply{Err: "message_not_found"}) }
func (e *echoChannel) Typing(Typing)              {}
func (e *echoChannel) LinkClosed(l *Link) {
	e.mu.Lock()
	e.closed = append(e.closed, l.Peer())
	e.mu.Unlock()
}

func logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startServer(t *testing.T, h Handler) *Server { t.Helper(); return startNamed(t, "server", h) }

func startNamed(t *testing.T, name string, h Handler) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", Auth{Self: name, Key: key}, h, logger())
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

// events collects the Posted events a client receives.
type events struct {
	EventReceiver
	posted chan Posted
}

func (e *events) Posted(_ *Client, m Posted) { e.posted <- m }

func TestCallAndEvents(t *testing.T) {
	s := startServer(t, &Dispatcher{Channel: &echoChannel{}, Log: logger()})
	ev := &events{posted: make(chan Posted, 100)}
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "client", Key: key}, Peer: "server", Events: EventHandler(ev, logger())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if c.Version() != Versions[len(Versions)-1] || c.Peer() != "server" {
		t.Fatalf("link speaks %d to %q", c.Version(), c.Peer())
	}
	for i := uint64(1); i <= 50; i++ {
		f, err := Call(t.Context(), c, Publish{Channel: "C1", Text: "m", ThreadTS: chat.TS(i)})
		if err != nil {
			t.Fatal(err)
		}
		var r PublishReply
		if err := r.Decode(f.Body); err != nil || r.Seq != i {
			t.Fatalf("reply %+v, %v; want seq %d", r, err, i)
		}
		// The event was sent before the reply, so it is already here.
		select {
		case p := <-ev.posted:
			if p.Seq != i {
				t.Fatalf("event seq %d, want %d", p.Seq, i)
			}
		default:
			t.Fatal("event did not arrive before its reply")
		}
	}
}

// TestRoleNotRunRefuses: a request for a role the node does not run is
// answered wrong_owner; one that does not decode, invalid_arguments.
func TestRoleNotRunRefuses(t *testing.T) {
	s := startServer(t, &Dispatcher{Channel: &echoChannel{}, Log: logger()})
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "client", Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	f, err := Call(t.Context(), c, Watch{Users: []string{"U1"}})
	var r WatchReply
	if err != nil || r.Decode(f.Body) != nil || r.Err != "wrong_owner" {
		t.Fatalf("watch at a node without presence: %+v %v", r, err)
	}
	f, err = Call(t.Context(), c, rawMessage{KindSubscribe, []byte{0xff}})
	var sr SubscribeReply
	if err != nil || sr.Decode(f.Body) != nil || sr.Err != "invalid_arguments" {
		t.Fatalf("a subscribe that does not decode: %+v %v", sr, err)
	}
}

// rawMessage sends any body under any kind.
type rawMessage struct {
	kind Kind
	body []byte
}

func (m rawMessage) Kind() Kind                 { return m.kind }
func (m rawMessage) AppendBody(b []byte) []byte { return append(b, m.body...) }

func TestBadHelloIsRefused(t *testing.T) {
	s := startServer(t, &Dispatcher{Log: logger()})
	if _, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "intruder", Key: []byte("wrong")}}); !errors.Is(err, ErrBadHello) {
		t.Fatalf("dial with a wrong key: %v", err)
	}
	if _, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "client", Key: key}, Peer: "someone-else"}); !errors.Is(err, ErrBadHello) {
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

// fakePeer runs the listener's side of the handshake on one accepted
// connection with the given versions and key, and reports how it ended.
func fakePeer(t *testing.T, versions []uint16, k []byte) (addr string, result chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	result = make(chan error, 1)
	go func() {
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			result <- err
			return
		}
		defer nc.Close()
		_, _, err = handshake{self: "next", key: k, versions: versions}.run(nc)
		result <- err
		io.Copy(io.Discard, nc) // until the dialer hangs up
	}()
	return ln.Addr().String(), result
}

// TestVersionNegotiation: during a rolling upgrade a node that also
// speaks the next version links at the highest one both speak; a node
// that speaks only the next version is refused on both sides, with an
// error that names the versions.
func TestVersionNegotiation(t *testing.T) {
	now := Versions[len(Versions)-1]
	next := now + 1
	addr, res := fakePeer(t, []uint16{now, next}, key)
	c, err := Dial(t.Context(), addr, DialOptions{Auth: Auth{Self: "old", Key: key}})
	if err != nil {
		t.Fatalf("a peer speaking versions %d and %d: %v", now, next, err)
	}
	if c.Version() != now {
		t.Fatalf("link speaks %d, want %d", c.Version(), now)
	}
	if err := <-res; err != nil {
		t.Fatalf("the peer's side: %v", err)
	}
	c.Shutdown()

	addr, res = fakePeer(t, []uint16{next}, key)
	_, err = Dial(t.Context(), addr, DialOptions{Auth: Auth{Self: "old", Key: key}})
	if !errors.Is(err, ErrNoCommonVersion) || !strings.Contains(err.Error(), fmt.Sprint(Versions)) || !strings.Contains(err.Error(), fmt.Sprint([]uint16{next})) {
		t.Fatalf("a peer speaking only version %d: %v", next, err)
	}
	if err := <-res; !errors.Is(err, ErrNoCommonVersion) {
		t.Fatalf("the peer's side: %v", err)
	}

	// And a dialer from the future at a listener of today.
	s := startServer(t, &Dispatcher{Log: logger()})
	_, err = Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "next", Key: key}, Versions: []uint16{next}})
	if !errors.Is(err, ErrNoCommonVersion) {
		t.Fatalf("dialing with only version %d: %v", next, err)
	}
}

// TestHandshakeCannotBeReplayed: a dialer's recorded hello and proof,
// sent again, fail against the listener's fresh nonce.
func TestHandshakeCannotBeReplayed(t *testing.T) {
	s := startServer(t, &Dispatcher{Log: logger()})
	// Record a good dialer's side through a proxy.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	recorded := make(chan []byte, 1)
	go func() {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		defer in.Close()
		out, err := net.Dial("tcp", s.Addr())
		if err != nil {
			return
		}
		defer out.Close()
		var rec bytes.Buffer
		go io.Copy(in, out)
		io.Copy(io.MultiWriter(out, &rec), in)
		recorded <- rec.Bytes()
	}()
	c, err := Dial(t.Context(), ln.Addr().String(), DialOptions{Auth: Auth{Self: "client", Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	c.Shutdown()
	replay := <-recorded
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(replay)
	// The server answers the replayed hello with its own (new nonce),
	// refuses the old proof and hangs up.
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	var h Hello
	if err := readMessage(br, &h); err != nil {
		t.Fatalf("no hello from the server: %v", err)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the server kept a link whose handshake was replayed")
	}
}

func TestPendingCallsFailWhenLinkEnds(t *testing.T) {
	block := make(chan struct{})
	s := startServer(t, &Dispatcher{Channel: &echoChannel{block: block}, Log: logger()})
	c, err := Dial(t.Context(), s.Addr(), DialOptions{Auth: Auth{Self: "client", Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := Call(context.Background(), c, Publish{})
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
	Go(c, Publish{}, func(_ Frame, err error) {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Go on a closed client: %v", err)
		}
	})
}

func TestPoolRedialsAndReportsDown(t *testing.T) {
	s := startServer(t, &Dispatcher{Channel: &echoChannel{}, Log: logger()})
	downs := make(chan string, 4)
	p := NewPool(Auth{Self: "client", Key: key}, nil, func(peer string) { downs <- peer }, logger())
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
	if _, err := Call(t.Context(), c3, Subscribe{Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(t.Context(), "server", "127.0.0.1:1"); err == nil {
		t.Fatal("dial of a dead address succeeded")
	}
}

// TestPoolRetain: the links to peers that left the cluster end, and a
// call waiting on one fails at once (the caller then resends what is
// idempotent to the new owner) instead of waiting for its context; the
// others stay.
func TestPoolRetain(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	gone := startNamed(t, "gone", &Dispatcher{Channel: &echoChannel{block: block}, Log: logger()})
	kept := startNamed(t, "kept", &Dispatcher{Channel: &echoChannel{}, Log: logger()})
	p := NewPool(Auth{Self: "client", Key: key}, nil, nil, logger())
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
		_, err := Call(context.Background(), cg, Publish{})
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
	if _, err := Call(t.Context(), ck, Subscribe{Channel: "C1"}); err != nil {
		t.Fatalf("the kept link: %v", err)
	}
}

// TestSlowPeerIsDropped: a peer that never reads is disconnected once
// MaxPending bytes wait for it; Send never blocks meanwhile.
func TestSlowPeerIsDropped(t *testing.T) {
	a, b := net.Pipe() // a pipe has no buffer: nothing is read from b
	defer b.Close()
	l := newLink(a, "peer", Version1)
	payload := make([]byte, 1<<20)
	var err error
	for range 200 {
		if err = Send(l, Posted{Channel: "C1", Payload: payload}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrSlowPeer) {
		t.Fatalf("Send to a stuck peer: err = %v, want ErrSlowPeer", err)
	}
	l.wait()
}

// The hot paths: a committed message fanned out to a gateway (encode at
// the owner, decode at the gateway) and a publish (request and reply).

func BenchmarkFrame(b *testing.B) {
	posted := Posted{Channel: "C0123456789", Seq: 123456, Payload: make([]byte, 300)}
	publish := Publish{Channel: "C0123456789", User: "U0123456789", Text: string(make([]byte, 128)), ClientMsgID: "0f8e7d6c-5b4a"}
	reply := PublishReply{Seq: 123456, TS: 1700000000000100}
	b.Run("posted/send", func(b *testing.B) {
		l := &Link{wake: make(chan struct{}, 1)}
		b.ReportAllocs()
		for b.Loop() {
			Send(l, posted)
			l.pending = l.pending[:0]
		}
	})
	b.Run("posted/read", func(b *testing.B) {
		benchRead(b, appendEnvelope(nil, 0, posted), func(f Frame) error { var m Posted; return m.Decode(f.Body) })
	})
	b.Run("publish/send", func(b *testing.B) {
		l := &Link{wake: make(chan struct{}, 1)}
		b.ReportAllocs()
		for b.Loop() {
			send(l, 7, publish)
			l.pending = l.pending[:0]
		}
	})
	b.Run("publish/read", func(b *testing.B) {
		benchRead(b, appendEnvelope(nil, 7, publish), func(f Frame) error { var m Publish; return m.Decode(f.Body) })
	})
	b.Run("reply/send", func(b *testing.B) {
		l := &Link{wake: make(chan struct{}, 1)}
		b.ReportAllocs()
		for b.Loop() {
			Reply(l, 7, reply)
			l.pending = l.pending[:0]
		}
	})
	b.Run("reply/read", func(b *testing.B) {
		benchRead(b, appendEnvelope(nil, 7, reply), func(f Frame) error { var m PublishReply; return m.Decode(f.Body) })
	})
	b.Run("posted/dispatch", func(b *testing.B) {
		h := EventHandler(discard{}, logger())
		f, _ := parseFrame(appendEnvelope(nil, 0, posted)[4:])
		b.ReportAllocs()
		for b.Loop() {
			h(nil, f)
		}
	})
}

// benchRead reads one envelope from a buffered reader and decodes it.
func benchRead(b *testing.B, env []byte, decode func(Frame) error) {
	src := bytes.NewReader(nil)
	br := bufio.NewReaderSize(src, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(env)
		br.Reset(src)
		f, err := readFrame(br)
		if err == nil {
			err = decode(f)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{ EventReceiver }

func (discard) Posted(*Client, Posted) {}
