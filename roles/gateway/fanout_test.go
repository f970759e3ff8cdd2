package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// BenchmarkFanout measures the gateway's fan-out of one message to n
// local sessions: the loop that runs once per message per gateway and
// the fan-out workers' pushes, up to the point where each session has
// the frame (the sessions are paused, so no socket is written). Its
// allocations are per message (one list per worker), none per recipient.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			g := &Gateway{cfg: Config{MaxQueue: 1 << 30}, fan: newFanout()}
			g.met = newGatewayMetrics(prometheus.NewRegistry(), g) // counted as in a node
			g.fan.instrument(g.met)
			life := lifecycle.NewGroup()
			g.fan.start(life)
			defer life.Close()
			c := &chanSub{id: "C1", next: 1, fan: g.fan}
			sessions := make([]*session, n)
			for i := range sessions {
				s := &session{g: g, user: fmt.Sprint("U", i), paused: true, shard: g.fan.shard(uint64(i))}
				s.queue = make([][]byte, 0, 4096)
				sessions[i] = s
				c.attached = append(c.attached, &attachment{s: s})
			}
			frame := []byte(`{"type":"message","channel":"C1","user":"U1","text":"hello","ts":"1700000000.000100","seq":1}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i&4095 == 4095 { // keep the queues within their capacity
					waitQueued(sessions, 4095)
					for _, s := range sessions {
						s.mu.Lock()
						s.queue = s.queue[:0]
						s.mu.Unlock()
					}
				}
				c.mu.Lock()
				c.deliver(c.next, frame, time.Now().UnixNano())
				c.mu.Unlock()
			}
			waitQueued(sessions, b.N&4095)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		})
	}
}

// BenchmarkPushFrame measures one frame written at once to a real
// socket (whose other end is drained): the per-delivery path.
func BenchmarkPushFrame(b *testing.B) {
	g := &Gateway{cfg: Config{MaxQueue: 4096}}
	nc, peer := tcpPair(b, 0)
	s := newTestSession(g, nc)
	go io.Copy(io.Discard, peer)
	f := wsframe.Text(bytes.Repeat([]byte("x"), 300))
	b.ReportAllocs()
	for b.Loop() {
		s.pushFrame(f)
	}
	s.writers.Wait()
}

// waitQueued waits until every session holds n frames.
func waitQueued(sessions []*session, n int) {
	for _, s := range sessions {
		for {
			s.mu.Lock()
			l := len(s.queue)
			s.mu.Unlock()
			if l >= n {
				break
			}
			runtime.Gosched()
		}
	}
}

// TestRoundSize: a round takes jobs while their frames fit
// maxRoundFrames, and always at least one job (which may be larger).
func TestRoundSize(t *testing.T) {
	many := make([]*session, maxRoundFrames/2)
	huge := make([]*session, maxRoundFrames+1)
	one := &session{}
	tests := []struct {
		name string
		jobs []fanJob
		want int
	}{
		{"one small job", []fanJob{{one: one}}, 1},
		{"all fit", []fanJob{{sessions: many}, {one: one}, {sessions: many[:10]}}, 3},
		{"the third would not fit", []fanJob{{sessions: many}, {sessions: many}, {one: one}, {one: one}}, 2},
		{"a job larger than a round goes alone", []fanJob{{sessions: huge}, {one: one}}, 1},
		{"after small ones, a large job waits", []fanJob{{one: one}, {sessions: huge}}, 1},
	}
	for _, tt := range tests {
		if got := roundSize(tt.jobs); got != tt.want {
			t.Errorf("%s: roundSize = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection; rcvbuf > 0
// sets the client's receive buffer (before connecting, so the window
// is sized for it).
func tcpPair(t testing.TB, rcvbuf int) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		if rcvbuf > 0 {
			c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
		return nil
	}}
	client, err = d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// testSession is a session writing to a real socket; the other end is
// returned for reading.
func testSession(t testing.TB, g *Gateway, rcvbuf int) (*session, net.Conn) {
	nc, peer := tcpPair(t, rcvbuf)
	return newTestSession(g, nc), peer
}

// newTestSession is a session on nc as newSession makes it, without a
// websocket (and not paused).
func newTestSession(g *Gateway, nc net.Conn) *session {
	s := &session{g: g, nc: nc, raw: rawConn(nc)}
	s.flushFn = s.flush
	s.directFn = s.direct.write
	return s
}

// readN reads exactly n bytes from c.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// TestRoundWritesEachSessionInOrder: a worker's round joins each
// session's frames, from jobs for many sessions and for one, in the
// order the jobs came.
func TestRoundWritesEachSessionInOrder(t *testing.T) {
	g := &Gateway{cfg: Config{MaxQueue: 4096}}
	s1, p1 := testSession(t, g, 0)
	s2, p2 := testSession(t, g, 0)
	a, b, c := []byte("frame-a;"), []byte("frame-b;"), []byte("frame-c;")
	w := &fanWorker{}
	w.write([]fanJob{{frame: a, sessions: []*session{s1, s2}}, {frame: b, one: s1}, {frame: c, sessions: []*session{s2, s1}}})
	if got := string(readN(t, p1, 24)); got != "frame-a;frame-b;frame-c;" {
		t.Errorf("session 1 read %q", got)
	}
	if got := string(readN(t, p2, 16)); got != "frame-a;frame-c;" {
		t.Errorf("session 2 read %q", got)
	}
	if s1.slot != 0 || s2.slot != 0 || len(w.touched) != 0 {
		t.Errorf("round state left behind: slots %d %d, touched %d", s1.slot, s2.slot, len(w.touched))
	}
}

// TestRoundPartialWriteKeepsItsBytes: when the socket takes only part of
// a round's joined frames, the rest is queued as a copy, so the worker's
// next round (joining another session's frames in the same scratch
// buffer) cannot change what the client reads.
func TestRoundPartialWriteKeepsItsBytes(t *testing.T) {
	g := &Gateway{cfg: Config{MaxQueue: 4096}}
	s, peer := testSession(t, g, 4096) // with the send buffer, room for ~20 KiB in all
	other, otherPeer := testSession(t, g, 0)
	s.nc.(*net.TCPConn).SetWriteBuffer(4096)
	w := &fanWorker{joined: make([]byte, 0, maxJoined)} // one scratch array for both rounds
	round := func(s *session, fill byte) (sent []byte) {
		var jobs []fanJob
		for i := range 48 {
			f := bytes.Repeat([]byte{fill}, 4096)
			f[0] = byte(i)
			jobs = append(jobs, fanJob{frame: f, one: s})
			sent = append(sent, f...)
		}
		w.write(jobs)
		return sent
	}
	want := round(s, 'a')
	s.mu.Lock()
	behind := len(s.queue) > 0 || s.writing // the writer stays blocked until peer reads
	s.mu.Unlock()
	if !behind {
		t.Fatal("the socket took 192 KiB without blocking: the test does not reach the partial write")
	}
	otherSent := len(round(other, 'z'))
	otherRead := make(chan error, 1)
	go func() {
		otherPeer.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(otherPeer, make([]byte, otherSent))
		otherRead <- err
	}()
	if got := readN(t, peer, len(want)); !bytes.Equal(got, want) {
		i := 0
		for got[i] == want[i] {
			i++
		}
		t.Fatalf("byte %d of %d differs: %q, want %q", i, len(want), got[i], want[i])
	}
	if err := <-otherRead; err != nil {
		t.Fatalf("the other session: %v", err)
	}
	s.writers.Wait()
	other.writers.Wait()
}

// TestPacer: only a busy large channel (its messages closer than 3/4 of
// coalesce, or several in one round) makes the next round wait, until
// coalesce after the round began; small channels and a lone large
// message never do.
func TestPacer(t *testing.T) {
	small, large := fanJob{}, fanJob{large: true}
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		name   string
		rounds [][]fanJob
		starts []int // ms, one per round
		want   []int // the hold after each round, ms; -1: none
	}{
		{"small channels", [][]fanJob{{small, small}, {small}}, []int{0, 1}, []int{-1, -1}},
		{"a lone large message", [][]fanJob{{large}}, []int{0}, []int{-1}},
		{"large messages every coalesce", [][]fanJob{{large}, {large}, {large}}, []int{0, 20, 40}, []int{-1, -1, -1}},
		{"large messages about every coalesce", [][]fanJob{{large}, {large}, {large}}, []int{0, 16, 34}, []int{-1, -1, -1}},
		{"large messages closer than coalesce", [][]fanJob{{large}, {large}, {large}}, []int{0, 5, 25}, []int{-1, 25, -1}},
		{"two large messages in a round", [][]fanJob{{large, small, large}}, []int{0}, []int{20}},
		{"a small round in between", [][]fanJob{{large}, {small}, {large}}, []int{0, 2, 10}, []int{-1, -1, 30}},
	} {
		var p pacer
		for i, jobs := range c.rounds {
			got := p.next(jobs, ms(c.starts[i]))
			want := time.Time{}
			if c.want[i] >= 0 {
				want = ms(c.want[i])
			}
			if !got.Equal(want) {
				t.Errorf("%s, round %d: next = %v, want %v", c.name, i, got.Sub(t0), want.Sub(t0))
			}
		}
	}
}

// TestSlowClientIsClosed: a client that does not read has its frames
// queued up to MaxQueue; the next one closes the session at once (its
// queue dropped, the connection closed, since a frame is half written):
// a stalled reader costs the gateway a bounded queue, not memory without
// end.
func TestSlowClientIsClosed(t *testing.T) {
	g := &Gateway{cfg: Config{MaxQueue: 8}, fan: newFanout()}
	g.met = newGatewayMetrics(prometheus.NewRegistry(), g)
	s, peer := testSession(t, g, 4096) // the client reads nothing
	f := wsframe.Text(bytes.Repeat([]byte("x"), 256<<10))
	for i := 0; ; i++ {
		s.pushFrame(f)
		s.mu.Lock()
		ending, queued, closeMsg := s.ending, len(s.queue), s.closeMsg
		s.mu.Unlock()
		if ending {
			// The writer may have taken the close frame already.
			if i < 8 || len(closeMsg) >= 4 && binary.BigEndian.Uint16(closeMsg[2:]) != uint16(wsframe.StatusPolicyViolation) {
				t.Fatalf("ended after %d frames with close frame % x, want 1008 once 8 are queued", i+1, closeMsg)
			}
			break
		}
		if queued > 8 {
			t.Fatalf("%d frames queued, over MaxQueue", queued)
		}
		if i > 1000 {
			t.Fatal("a client that reads nothing was never closed")
		}
	}
	s.writers.Wait()
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, peer); err != nil {
		t.Fatalf("the connection was not closed: %v", err)
	}
	reg := prometheus.NewRegistry() // the counter alone: the gauges read parts this test has not
	reg.MustRegister(g.met.slow)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	slow := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "ringcast_gateway_slow_consumers_total" {
			slow = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if slow != 1 {
		t.Fatalf("ringcast_gateway_slow_consumers_total = %v, want 1", slow)
	}
}
