package channel

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/sqlite"
	"github.com/ringcast/ringcast/transport/internode"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

var key = []byte("k")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// viewOf is a view in which the given nodes run the channel role.
func viewOf(self string, owners ...string) *ring.View {
	var ms []ring.Member
	for _, o := range owners {
		ms = append(ms, ring.Member{Name: o, Meta: ring.Meta{Roles: []ring.Role{ring.RoleChannel}}})
	}
	return ring.NewView(self, ms)
}

type testOwner struct {
	*Owner
	view *ring.Static
	addr string
}

func openStore(t testing.TB) store.Store {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newOwner runs an Owner named self that believes the view v, serving
// internode links.
func newOwner(t testing.TB, st store.Store, self string, v *ring.View, idle time.Duration) *testOwner {
	t.Helper()
	p := ring.NewStatic(v)
	o, err := New(Config{Self: self, Team: "T1", Store: st, View: p.View, Logger: quiet(), IdleAfter: idle})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := internode.Listen("127.0.0.1:0", internode.Auth{Self: self, Key: key}, &internode.Dispatcher{Channel: o.Server(), Log: quiet()}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.Run(ctx) }()
	go srv.Serve()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return &testOwner{Owner: o, view: p, addr: srv.Addr()}
}

func seed(t testing.TB, st store.Store, channel string, members ...string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateChannel(ctx, chat.Channel{ID: channel, Name: strings.ToLower(channel), Creator: members[0]}); err != nil {
		t.Fatal(err)
	}
	// The others joined as the owner would have them: entries of the log.
	var joins []chat.Message
	for i, m := range members[1:] {
		seq := uint64(i + 1)
		joins = append(joins, chat.Message{Channel: channel, Seq: seq, TS: chat.TS(1_700_000_000_000_000 + seq), User: m,
			More: &chat.More{Kind: chat.KindJoin, Subtype: "channel_join", Name: "C"}})
	}
	if res, err := st.Append(ctx, joins); err != nil || slices.ContainsFunc(res, func(e error) bool { return e != nil }) {
		t.Fatal(res, err)
	}
}

// publish is the blocking form of Owner.Publish.
func publish(o *Owner, p cluster.Post) (chat.Message, error) {
	type res struct {
		m   chat.Message
		err error
	}
	ch := make(chan res, 1)
	o.Publish(p, func(m chat.Message, err error) { ch <- res{m, err} })
	r := <-ch
	return r.m, r.err
}

// event is what an owner pushed to a subscriber.
type event struct {
	kind    internode.Kind
	seq     uint64 // a message's seq; a channel event's After
	payload []byte
}

// subscriber is a gateway-side link to an owner that records events.
type subscriber struct {
	internode.EventReceiver // presence events: none expected
	c                       *internode.Client
	events                  chan event
}

func (s *subscriber) Posted(_ *internode.Client, m internode.Posted) {
	s.events <- event{internode.KindPosted, m.Seq, m.Payload}
}
func (s *subscriber) Resubscribe(*internode.Client, internode.Resubscribe) {
	s.events <- event{kind: internode.KindResubscribe}
}
func (s *subscriber) ChannelEvent(_ *internode.Client, m internode.ChannelEvent) {
	s.events <- event{internode.KindChannelEvent, m.After, m.Payload}
}

func subscribe(t *testing.T, o *testOwner, channel string) (*subscriber, uint64) {
	t.Helper()
	s := &subscriber{events: make(chan event, 10000)}
	c, err := internode.Dial(context.Background(), o.addr, internode.DialOptions{Auth: internode.Auth{Self: "gw", Key: key},
		Events: internode.EventHandler(s, quiet())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	s.c = c
	f, err := internode.Call(context.Background(), c, internode.Subscribe{Channel: channel})
	var r internode.SubscribeReply
	if err == nil {
		err = r.Decode(f.Body)
	}
	if err != nil || r.Err != "" {
		t.Fatalf("subscribe: %v %q", err, r.Err)
	}
	return s, r.Seq
}

func (s *subscriber) next(t *testing.T) event {
	t.Helper()
	select {
	case f := <-s.events:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return event{}
	}
}

func TestPublishSequencesCommitsAndFansOut(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	o := newOwner(t, st, "a", viewOf("a", "a"), 0)
	if o.Loaded() != 0 {
		t.Fatal("state loaded before use")
	}
	sub, from := subscribe(t, o, "C1")
	if from != 0 || o.Loaded() != 1 {
		t.Fatalf("subscribe reply seq %d, loaded %d", from, o.Loaded())
	}
	var last chat.Message
	for i := 1; i <= 3; i++ {
		m, err := publish(o.Owner, cluster.Post{Channel: "C1", User: "U1", Text: fmt.Sprint("m", i)})
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != uint64(i) || m.TS <= last.TS {
			t.Fatalf("message %d: seq %d ts %v after ts %v", i, m.Seq, m.TS, last.TS)
		}
		last = m
		// Acked means committed: it is in the store already.
		if seq, _, _ := st.Last(context.Background(), "C1"); seq != m.Seq {
			t.Fatalf("acked seq %d but the store's last is %d", m.Seq, seq)
		}
		ev := sub.next(t)
		if ev.kind != internode.KindPosted || ev.seq != uint64(i) || !strings.Contains(string(ev.payload), fmt.Sprintf(`"text":"m%d"`, i)) {
			t.Fatalf("event %+v %s", ev, ev.payload)
		}
	}
}

func TestPublishRefusals(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	if err := st.CreateChannel(context.Background(), chat.Channel{ID: "C9", Name: "c9", Creator: "U1", IsArchived: true}); err != nil {
		t.Fatal(err)
	}
	o := newOwner(t, st, "a", viewOf("a", "a"), 0)
	notMine := newOwner(t, st, "b", viewOf("b", "a"), 0)
	tests := []struct {
		name  string
		owner *Owner
		p     cluster.Post
		want  error
	}{
		{"not a member", o.Owner, cluster.Post{Channel: "C1", User: "U2", Text: "x"}, chat.ErrNotInChannel},
		{"no such channel", o.Owner, cluster.Post{Channel: "C404", User: "U1", Text: "x"}, chat.ErrChannelNotFound},
		{"archived", o.Owner, cluster.Post{Channel: "C9", User: "U1", Text: "x"}, chat.ErrArchived},
		{"no text", o.Owner, cluster.Post{Channel: "C1", User: "U1"}, chat.ErrNoText},
		{"too long", o.Owner, cluster.Post{Channel: "C1", User: "U1", Text: strings.Repeat("x", 4001)}, chat.ErrMsgTooLong},
		{"no user", o.Owner, cluster.Post{Channel: "C1", Text: "x"}, chat.ErrBadRequest},
		{"not the owner", notMine.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "x"}, chat.ErrWrongOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := publish(tt.owner, tt.p); err != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if seq, _, _ := st.Last(context.Background(), "C1"); seq != 0 {
		t.Fatalf("refused publishes wrote up to seq %d", seq)
	}
	// A failed load is not cached: the channel can be created later.
	seed(t, st, "C404", "U1")
	if _, err := publish(o.Owner, cluster.Post{Channel: "C404", User: "U1", Text: "x"}); err != nil {
		t.Fatalf("publish after the channel appeared: %v", err)
	}
}

// TestTwoOwnersAtOnce forces two nodes to both believe they own a
// channel and publish to it concurrently: the store's key fences them,
// so no seq is written twice, the log stays dense, ts strictly increases,
// and every message that was acked is in the log exactly once.
func TestTwoOwnersAtOnce(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	a := newOwner(t, st, "a", viewOf("a", "a"), 0)
	b := newOwner(t, st, "b", viewOf("b", "b"), 0)
	subA, _ := subscribe(t, a, "C1")

	// A deterministic fence first: a writes 1, b (loading now) writes 2,
	// a's cached state still says 1 and is fenced.
	mustSeq := func(o *Owner, text string, want uint64) {
		t.Helper()
		m, err := publish(o, cluster.Post{Channel: "C1", User: "U1", Text: text})
		if err != nil || m.Seq != want {
			t.Fatalf("%s: seq %d err %v, want seq %d", text, m.Seq, err, want)
		}
	}
	mustSeq(a.Owner, "a1", 1)
	mustSeq(b.Owner, "b1", 2)
	if _, err := publish(a.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "a2"}); err != chat.ErrConflict {
		t.Fatalf("stale owner's publish: err = %v, want chat.ErrConflict", err)
	}
	for {
		ev := subA.next(t)
		if ev.kind == internode.KindResubscribe {
			break // the fenced owner told its subscriber to go elsewhere
		}
	}
	mustSeq(a.Owner, "a2", 3) // reloaded from the store

	// Then a race: both publish as fast as they can, retrying on conflict.
	const each = 150
	var acked sync.Map
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for _, o := range []*Owner{a.Owner, b.Owner} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				text := fmt.Sprintf("%s-%d", o.cfg.Self, i)
				for {
					m, err := publish(o, cluster.Post{Channel: "C1", User: "U1", Text: text})
					if err == chat.ErrConflict {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					acked.Store(text, m.Seq)
					break
				}
			}
		}()
	}
	wg.Wait()
	log, err := st.Messages(context.Background(), "C1", 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3+2*each {
		t.Fatalf("log has %d messages, want %d", len(log), 3+2*each)
	}
	seen := map[string]bool{}
	for i, m := range log {
		if m.Seq != uint64(i+1) {
			t.Fatalf("log not dense: position %d has seq %d", i, m.Seq)
		}
		if i > 0 && m.TS <= log[i-1].TS {
			t.Fatalf("ts not increasing at seq %d", m.Seq)
		}
		if seen[m.Text] {
			t.Fatalf("%q written twice", m.Text)
		}
		seen[m.Text] = true
		if s, ok := acked.Load(m.Text); ok && s.(uint64) != m.Seq {
			t.Fatalf("%q acked as seq %d but stored as %d", m.Text, s, m.Seq)
		}
	}
	t.Logf("%d conflicts while racing", conflicts.Load())
}

// TestRetryWithClientMsgIDIsIdempotent: the same client_msg_id returns
// the original seq and ts, also from a new owner that loaded the channel
// from the store after a move.
func TestRetryWithClientMsgIDIsIdempotent(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	a := newOwner(t, st, "a", viewOf("a", "a"), 0)
	first, err := publish(a.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "once", ClientMsgID: "cm-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*Owner{a.Owner, newOwner(t, st, "b", viewOf("b", "b"), 0).Owner} {
		again, err := publish(o, cluster.Post{Channel: "C1", User: "U1", Text: "once", ClientMsgID: "cm-1"})
		if err != nil || again.Seq != first.Seq || again.TS != first.TS {
			t.Fatalf("%s: retry = %+v, %v; want seq %d ts %v", o.cfg.Self, again, err, first.Seq, first.TS)
		}
	}
	// Retries queued behind an uncommitted original answer as it went.
	var wg sync.WaitGroup
	seqs := make([]uint64, 20)
	for i := range seqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := publish(a.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "burst", ClientMsgID: "cm-2"})
			if err != nil && err != chat.ErrConflict { // a fenced a: it may be stale after b's load
				t.Error(err)
			}
			seqs[i] = m.Seq
		}()
	}
	wg.Wait()
	log, _ := st.Messages(context.Background(), "C1", 0, 100)
	n := 0
	for _, m := range log {
		if m.ClientMsgID == "cm-2" {
			n++
		}
	}
	if len(log) != 2 || n != 1 {
		t.Fatalf("log = %+v, want the two distinct messages once each", log)
	}
}

func TestIdleStateIsEvicted(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	seed(t, st, "C2", "U1")
	o := newOwner(t, st, "a", viewOf("a", "a"), 100*time.Millisecond)
	sub, _ := subscribe(t, o, "C2") // subscribed: stays loaded
	if _, err := publish(o.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if o.Loaded() != 2 {
		t.Fatalf("loaded = %d", o.Loaded())
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.Loaded() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("idle channel not evicted: %d loaded", o.Loaded())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Evicted state reloads with the right seq.
	if m, err := publish(o.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "y"}); err != nil || m.Seq != 2 {
		t.Fatalf("after eviction: seq %d, %v", m.Seq, err)
	}
	_ = sub
	// Counted: C1 and C2 loaded, C1 evicted, C1 loaded again.
	reg := prometheus.NewRegistry()
	reg.MustRegister(o.cache.met.loads, o.cache.met.evictions)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetMetric()[0].GetCounter().GetValue()
	}
	if got["ringcast_channel_loads_total"] != 3 || got["ringcast_channel_evictions_total"] != 1 {
		t.Fatalf("loads %v, evictions %v; want 3 and 1", got["ringcast_channel_loads_total"], got["ringcast_channel_evictions_total"])
	}
}

// TestLosingOwnershipDropsState: when the view moves a channel away, its
// state goes and its subscribers are told to resubscribe.
func TestLosingOwnershipDropsState(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	o := newOwner(t, st, "a", viewOf("a", "a"), 0)
	sub, _ := subscribe(t, o, "C1")
	o.view.Set(viewOf("a", "b"))
	if ev := sub.next(t); ev.kind != internode.KindResubscribe {
		t.Fatalf("event %+v, want resubscribe", ev)
	}
	if _, err := publish(o.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "x"}); err != chat.ErrWrongOwner {
		t.Fatalf("publish after the move: %v", err)
	}
	if o.Loaded() != 0 {
		t.Fatalf("%d channels still loaded", o.Loaded())
	}
}

func member(o *Owner, op internode.MemberOp, ch, actor string, users ...string) (uint64, error) {
	type res struct {
		seq uint64
		err error
	}
	c := make(chan res, 1)
	o.Member(op, ch, actor, users, func(seq uint64, err error) { c <- res{seq, err} })
	r := <-c
	return r.seq, r.err
}

func TestMembership(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	o := newOwner(t, st, "a", viewOf("a", "a"), 0).Owner
	steps := []struct {
		name      string
		op        internode.MemberOp
		actor     string
		users     []string
		want      error
		canPostU2 bool
	}{
		{"join", internode.MemberJoin, "U2", nil, nil, true},
		{"join twice", internode.MemberJoin, "U2", nil, chat.ErrAlreadyMember, true},
		{"leave", internode.MemberLeave, "U2", nil, nil, false},
		{"leave twice", internode.MemberLeave, "U2", nil, chat.ErrNotInChannel, false},
		{"invite by a non-member", internode.MemberInvite, "U3", []string{"U2"}, chat.ErrNotInChannel, false},
		{"invite nobody", internode.MemberInvite, "U1", nil, chat.ErrBadRequest, false},
		{"invite", internode.MemberInvite, "U1", []string{"U2", "U4"}, nil, true},
		{"bad op", 99, "U1", nil, chat.ErrBadRequest, true},
	}
	for _, s := range steps {
		if _, err := member(o, s.op, "C1", s.actor, s.users...); err != s.want {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
		_, err := publish(o, cluster.Post{Channel: "C1", User: "U2", Text: "x"})
		if (err == nil) != s.canPostU2 {
			t.Fatalf("after %s: U2 publish err = %v", s.name, err)
		}
		in, _ := st.IsMember(context.Background(), "C1", "U2")
		if in != s.canPostU2 {
			t.Fatalf("after %s: store says member=%v", s.name, in)
		}
	}
	if _, err := member(o, internode.MemberJoin, "C404", "U1"); err != chat.ErrChannelNotFound {
		t.Fatalf("join of an unknown channel: %v", err)
	}
}

// BenchmarkPublishDurable measures group commit: messages/s made durable
// (synchronous=FULL) with 64 concurrent publishers over 1000 channels.
func BenchmarkPublishDurable(b *testing.B) {
	for _, pubs := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("publishers=%d", pubs), func(b *testing.B) {
			st := openStore(b)
			const nch = 1000
			for i := range nch {
				seed(b, st, fmt.Sprintf("C%d", i), "U1")
			}
			o := newOwner(b, st, "a", viewOf("a", "a"), 0)
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for p := range pubs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := publish(o.Owner, cluster.Post{Channel: fmt.Sprintf("C%d", p%nch), User: "U1", Text: "benchmark message"}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// TestRecentStateIsNotEvicted: a channel used moments ago stays loaded
// (the idle check must hold right after the owner starts, too).
func TestRecentStateIsNotEvicted(t *testing.T) {
	st := openStore(t)
	seed(t, st, "C1", "U1")
	o := newOwner(t, st, "a", viewOf("a", "a"), 2*time.Second)
	if _, err := publish(o.Owner, cluster.Post{Channel: "C1", User: "U1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	o.cache.sweep(o.cache.idle)
	if o.Loaded() != 1 {
		t.Fatal("a channel used just now was evicted")
	}
}
