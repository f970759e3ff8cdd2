package presence

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = []byte("k")

type fixture struct {
	s    *Server
	view *ring.Static
	addr string
}

func members(names ...string) *ring.View {
	var ms []ring.Member
	for _, n := range names {
		roles := []ring.Role{ring.RoleGateway}
		if n == "p" {
			roles = []ring.Role{ring.RolePresence}
		}
		ms = append(ms, ring.Member{Name: n, Meta: ring.Meta{Roles: roles}})
	}
	return ring.NewView("p", ms)
}

// start serves a presence Server; with run, its Run loop follows the
// view (else the test drives view changes itself).
func start(t *testing.T, cfg Config, v *ring.View, run bool) *fixture {
	t.Helper()
	view := ring.NewStatic(v)
	cfg.Self, cfg.View = "p", view.View
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Settle == 0 {
		cfg.Settle = time.Millisecond // most tests do not exercise the settle
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := internode.Listen("127.0.0.1:0", internode.Auth{Self: "p", Key: key}, &internode.Dispatcher{Presence: s, Log: cfg.Logger}, cfg.Logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if run {
			s.Run(ctx)
		}
	}()
	go srv.Serve()
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &fixture{s: s, view: view, addr: srv.Addr()}
}

// event is what a gateway was pushed: a presence change or a resync.
type event struct {
	kind   internode.Kind
	user   string
	active bool
}

// fakeGateway collects the events a presence node pushes.
type fakeGateway struct {
	internode.EventReceiver // the other events: none expected
	events                  chan event
}

func (g fakeGateway) PresenceChange(_ *internode.Client, m internode.PresenceChange) {
	g.events <- event{internode.KindPresenceChange, m.User, m.Active}
}
func (g fakeGateway) Resync(*internode.Client) { g.events <- event{kind: internode.KindResync} }
func (g fakeGateway) AwayChange(_ *internode.Client, m internode.AwayChange) {
	g.events <- event{internode.KindAwayChange, m.User, !m.Away}
}

// gw dials the presence node as gateway name, collecting pushed events.
func (f *fixture) gw(t *testing.T, name string) (*internode.Client, chan event) {
	t.Helper()
	events := make(chan event, 100)
	c, err := internode.Dial(context.Background(), f.addr, internode.DialOptions{Auth: internode.Auth{Self: name, Key: key},
		Events: internode.EventHandler(fakeGateway{events: events}, slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c, events
}

// barrier returns once everything c sent before has been handled (a
// link is processed in order).
func barrier(t *testing.T, c *internode.Client) {
	t.Helper()
	if _, err := internode.Call(context.Background(), c, internode.Query{}); err != nil {
		t.Fatal(err)
	}
}

func watch(t *testing.T, c *internode.Client, users ...string) []bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := internode.Call(ctx, c, internode.Watch{Users: users})
	var r internode.WatchReply
	if err == nil {
		err = r.Decode(f.Body)
	}
	if err != nil || r.Err != "" {
		t.Fatalf("watch: %v %q", err, r.Err)
	}
	return r.Active
}

// report sends g's count of user's sessions.
func report(g *internode.Client, user string, n uint32) {
	internode.Send(g.Link, internode.Report{User: user, Sessions: n})
}

func expect(t *testing.T, events chan event, user, presence string) {
	t.Helper()
	select {
	case ev := <-events:
		if ev.kind != internode.KindPresenceChange || ev.user != user || ev.active != (presence == "active") {
			t.Fatalf("event %+v, want %s %s", ev, user, presence)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event for %s", presence, user)
	}
}

// TestLeaseExpiry: a gateway that stays in the view but stops talking
// loses its sessions after the lease.
func TestLeaseExpiry(t *testing.T) {
	f := start(t, Config{LeaseTTL: 300 * time.Millisecond}, members("p", "g1", "g2"), true)
	g1, _ := f.gw(t, "g1")
	g2, events := f.gw(t, "g2")
	report(g1, "U1", 1)
	barrier(t, g1)
	if st := watch(t, g2, "U1"); !st[0] {
		t.Fatalf("U1 = %v, want active", st)
	}
	// g2 keeps its lease; g1 goes silent.
	stop := time.After(2 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-events:
			if ev.user != "U1" || ev.active {
				t.Fatalf("event %+v", ev)
			}
			return
		case <-tick.C:
			internode.Send(g2.Link, internode.Lease{})
		case <-stop:
			t.Fatal("U1 still active 2s after its gateway's 300ms lease")
		}
	}
}

// TestSetAwayIsKeptForTheTicketsAge: a user's entry outlives a SetAway
// by rtm.UserDataAge even with nothing else to keep it (auto, no
// session), and a gateway that reports the user with another flag (its
// ticket predates the SetAway) is sent the entry's; a report with the
// entry's flag is not answered.
func TestSetAwayIsKeptForTheTicketsAge(t *testing.T) {
	f := start(t, Config{}, members("p", "g1"), false)
	g1, events := f.gw(t, "g1")
	if _, err := internode.Call(context.Background(), g1, internode.SetAway{User: "U1", Away: false}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f.s.expire(now.Add(rtm.UserDataAge - time.Second))
	if n := f.s.Tracked(); n != 1 {
		t.Fatalf("%d users tracked just after SetAway auto, want 1", n)
	}
	internode.Send(g1.Link, internode.Report{User: "U1", Sessions: 1, Away: true}) // a ticket's stale flag
	select {
	case ev := <-events:
		if ev != (event{internode.KindAwayChange, "U1", true}) {
			t.Fatalf("event %+v, want U1's away change to auto", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stale flag was not corrected")
	}
	internode.Send(g1.Link, internode.Report{User: "U1", Sessions: 2, Away: false})
	internode.Send(g1.Link, internode.Report{User: "U1", Sessions: 0, Away: false})
	barrier(t, g1)
	select {
	case ev := <-events:
		if ev.kind == internode.KindAwayChange {
			t.Fatalf("a report with the right flag was answered: %+v", ev)
		}
	default:
	}
	f.s.expire(now.Add(rtm.UserDataAge + time.Second))
	if n := f.s.Tracked(); n != 0 {
		t.Fatalf("%d users tracked after rtm.UserDataAge, want 0", n)
	}
}

// TestGatewayLeavingTheViewDropsItsSessions: membership drives presence.
func TestGatewayLeavingTheViewDropsItsSessions(t *testing.T) {
	f := start(t, Config{Settle: 50 * time.Millisecond}, members("p", "g1", "g2"), true)
	g1, _ := f.gw(t, "g1")
	g2, events := f.gw(t, "g2")
	report(g1, "U1", 2)
	report(g2, "U2", 1)
	barrier(t, g1)
	if st := watch(t, g2, "U1", "U2"); !st[0] || !st[1] {
		t.Fatalf("states %v", st)
	}
	f.view.Set(members("p", "g2")) // g1 died
	expect(t, events, "U1", "away")
	if st := watch(t, g2, "U2"); !st[0] {
		t.Fatal("a surviving gateway's user went away")
	}
}

// TestDroppedGatewayIsAskedToReportAgain: a gateway that was thought
// dead (it left the view: a stall, a false suspicion) but is not is asked
// to report its users again, both when it is back in the view and when
// it next sends anything, so its users do not stay away for good. A
// gateway never dropped is never asked.
func TestDroppedGatewayIsAskedToReportAgain(t *testing.T) {
	f := start(t, Config{Settle: 50 * time.Millisecond}, members("p", "g1", "g2"), true)
	g1, g1events := f.gw(t, "g1")
	g2, events := f.gw(t, "g2")
	reportU1 := func() { report(g1, "U1", 1) }
	reportU1()
	barrier(t, g1)
	if st := watch(t, g2, "U1"); !st[0] {
		t.Fatalf("U1 = %v, want active", st)
	}
	resync := func(how string) {
		t.Helper()
		select {
		case ev := <-g1events:
			if ev.kind != internode.KindResync {
				t.Fatalf("%s: event %+v, want EvResync", how, ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: g1 was never asked to report again", how)
		}
	}

	f.view.Set(members("p", "g2")) // g1 thought dead
	expect(t, events, "U1", "away")
	f.view.Set(members("p", "g1", "g2")) // it was not
	resync("back in the view")
	reportU1()
	expect(t, events, "U1", "active")

	f.view.Set(members("p", "g2"))
	expect(t, events, "U1", "away")
	internode.Send(g1.Link, internode.Lease{}) // still out of the view
	resync("a lease")
	reportU1()
	expect(t, events, "U1", "active")
	barrier(t, g2)
	select {
	case ev := <-g1events:
		t.Fatalf("a second event for g1: %+v", ev)
	default:
	}

	// A dropped gateway whose link closes is forgotten: it reports
	// everything again on its next link anyway.
	f.view.Set(members("p", "g2"))
	expect(t, events, "U1", "away")
	g1.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.s.mu.Lock()
		n := len(f.s.dropped)
		f.s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d dropped links kept after the link closed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSettleHoldsWatchesUntilGatewaysResynced: after a view change a
// watch is answered only when every gateway re-reported (or the settle
// time passed), so the answer is never a premature "away".
func TestSettleHoldsWatchesUntilGatewaysResynced(t *testing.T) {
	f := start(t, Config{Settle: time.Minute}, members("p", "g1"), false)
	f.s.viewChanged(members("p", "g1", "g2"))
	g1, _ := f.gw(t, "g1")
	g2, _ := f.gw(t, "g2")
	answered := make(chan []bool, 1)
	go func() { answered <- watch(t, g2, "U1") }()
	report(g1, "U1", 1)
	internode.Send(g1.Link, internode.Synced{})
	select {
	case <-answered:
		t.Fatal("watch answered before every gateway re-synced")
	case <-time.After(100 * time.Millisecond):
	}
	internode.Send(g2.Link, internode.Synced{})
	select {
	case st := <-answered:
		if !st[0] {
			t.Fatalf("U1 = %v after the resync", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch never answered")
	}
}

// TestBadRequests: a presence request that does not decode, or of a
// role the node does not run, is answered with an error and changes
// nothing.
func TestBadRequests(t *testing.T) {
	f := start(t, Config{}, members("p", "g1"), true)
	g1, _ := f.gw(t, "g1")
	ctx := context.Background()
	for _, m := range []raw{
		{internode.KindSetAway, []byte{0, 2}},     // a boolean of 2
		{internode.KindWatch, []byte{0xff, 0x7f}}, // more users than bytes
		{internode.KindPublish, []byte{}},         // not a presence request
		{internode.Kind(99), []byte{}},            // not a request at all
	} {
		r, err := internode.Call(ctx, g1, m)
		if err != nil || internode.ReplyError(r.Body) == "" {
			t.Fatalf("%v: reply %q, %v; want an error code", m.kind, r.Body, err)
		}
	}
	if f.s.Tracked() != 0 {
		t.Fatalf("bad requests left %d users", f.s.Tracked())
	}
}

// raw is a message of any kind and body.
type raw struct {
	kind internode.Kind
	body []byte
}

func (m raw) Kind() internode.Kind       { return m.kind }
func (m raw) AppendBody(b []byte) []byte { return append(b, m.body...) }
