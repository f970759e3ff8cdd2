package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testPublisher is a publisher of one channel ("C1") over RTM, outside
// any run.
func testPublisher(t *testing.T, inflight int) *publisher {
	t.Helper()
	r, err := newRunner(Config{URL: "http://127.0.0.1:1", AdminKey: "k", Scenario: Publish, Channels: 1, Publishers: 1,
		Inflight: inflight, Drain: 100 * time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := &benchChan{id: "C1", idBytes: []byte("C1")}
	r.chans = []*benchChan{ch}
	return newPublisher(r, 0, &benchUser{name: "p", chans: r.chans})
}

// dialFake opens a websocket to f as user and reads its hello.
func dialFake(t *testing.T, f *fakeServer, user string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws?user=" + user
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPublisherAfterReconnect: a send fails on a connection the session
// has already replaced by the time the publisher looks; the publisher
// must go on with the new one rather than wait for yet another.
func TestPublisherAfterReconnect(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{noAck: true})
	old, fresh := dialFake(t, f, "U1"), dialFake(t, f, "U1")
	p := testPublisher(t, 100) // more than the run sends: the fake does not ack
	p.sess = &session{dead: make(chan struct{})}
	p.sess.conn.Store(old)

	// Hold old's writer, so that the publisher's first write blocks.
	w, err := old.Writer(context.Background(), websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	end := start.Add(500 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx, start, end, 10*time.Millisecond)
	}()
	for p.sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the write is waiting on old
	// The reader reconnects first, then the failed write returns.
	p.sess.conn.Store(fresh)
	old.CloseNow()
	<-done
	if took := time.Since(start); took > time.Second {
		t.Errorf("publisher ran %v, want it to stop at the end (500ms)", took)
	}
	if n := f.frames.Load(); n < 40 {
		t.Errorf("%d messages reached the server after the reconnect, want about 50 (the schedule went on)", n)
	}
}

// TestPublisherSkips: an open-loop publisher more than maxBehind late
// gives up the rest of its schedule, counting exactly the sends it gives
// up, and reports how late it was.
func TestPublisherSkips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		span time.Duration // from the first late send to the end
		want uint64
	}{
		{"exact multiple", time.Second, 10},
		{"not a multiple", 1050 * time.Millisecond, 11},
		{"less than one interval", 30 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPublisher(t, 4)
			start := time.Now().Add(-maxBehind - time.Second)
			p.run(context.Background(), start, start.Add(tt.span), 100*time.Millisecond)
			if got := p.skipped.Load(); got != tt.want {
				t.Errorf("skipped %d, want %d", got, tt.want)
			}
			if lag := time.Duration(p.maxLag.Load()); lag < maxBehind+time.Second {
				t.Errorf("max lag %v, want at least %v", lag, maxBehind+time.Second)
			}
			if p.sent.Load() != 0 {
				t.Errorf("sent %d", p.sent.Load())
			}
		})
	}
}

// TestOnAck: an ack frees its slot and records the publish; an error ack
// counts the server's code.
func TestOnAck(t *testing.T) {
	p := testPublisher(t, 4)
	r := p.r
	r.winStart.Store(0)
	ch := r.chans[0]
	send := func() (int64, *pubRec) {
		k := <-p.free
		idx, rec := ch.pubs.alloc()
		rec.sent.Store(time.Now().UnixNano())
		id := int64(p.counter.Add(1))<<slotBits | int64(k)
		p.slots[k].idx.Store(idx)
		p.slots[k].id.Store(id)
		return id, rec
	}
	id, rec := send()
	p.onAck([]byte(`{"ok":true,"reply_to":`+strconv.FormatInt(id, 10)+`,"ts":"1.000001","text":"x"}`), true)
	if rec.ack.Load() <= 0 || p.acked.Load() != 1 || len(p.free) != 4 {
		t.Fatalf("after an ack: ack %d, acked %d, free slots %d", rec.ack.Load(), p.acked.Load(), len(p.free))
	}
	id, rec = send()
	p.onAck([]byte(`{"ok":false,"reply_to":`+strconv.FormatInt(id, 10)+`,"error":{"code":-1,"msg":"slow down"}}`), false)
	if rec.ack.Load() != ackFailed || p.failed.Load() != 1 || r.errs["rtm error ack, code -1"] != 1 || len(p.free) != 4 {
		t.Fatalf("after an error ack: ack %d, failed %d, errors %v", rec.ack.Load(), p.failed.Load(), r.errs)
	}
	p.onAck([]byte(`{"ok":true,"reply_to":`+strconv.FormatInt(id, 10)+`}`), true) // answered already
	if r.errs["ack for an unknown id"] != 1 {
		t.Fatalf("a second answer: errors %v", r.errs)
	}
}
