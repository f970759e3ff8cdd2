package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// The gateway's per-channel delivery, with fakes around it: an owner
// node the test drives message by message, a store in memory whose reads
// the test can hold, and sessions on real sockets whose frames the test
// reads. No cluster, no timing: every step waits for a condition.

// memStore is the log in memory that the gateway reads from to fill
// gaps and replay resumes; gate, when set, holds every read until it is
// closed.
type memStore struct {
	store.Store // the rest is not used by delivery

	mu      sync.Mutex
	log     map[string][]chat.Message
	gate    chan struct{}
	members map[[2]string]bool // (channel, user) -> a member now
}

func newMemStore() *memStore {
	return &memStore{log: map[string][]chat.Message{}, members: map[[2]string]bool{}}
}

func (m *memStore) IsMember(_ context.Context, channel, user string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.members[[2]string{channel, user}], nil
}

func (m *memStore) setMember(channel, user string, in bool) {
	m.mu.Lock()
	m.members[[2]string{channel, user}] = in
	m.mu.Unlock()
}

func (m *memStore) User(_ context.Context, id string) (chat.User, error) {
	return chat.User{ID: id}, nil
}

func (m *memStore) UserChannels(context.Context, string) ([]string, error) { return nil, nil }

// AppByBot: no user of these tests is an app's bot.
func (m *memStore) AppByBot(context.Context, string) (chat.App, error) {
	return chat.App{}, store.ErrNotFound
}

func (m *memStore) Messages(ctx context.Context, channel string, after uint64, limit int) ([]chat.Message, error) {
	m.mu.Lock()
	gate := m.gate
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []chat.Message
	for _, msg := range m.log[channel] {
		if msg.Seq > after && len(out) < limit {
			out = append(out, msg)
		}
	}
	return out, nil
}

// holdReads makes reads wait until the returned function is called.
func (m *memStore) holdReads() (release func()) {
	gate := make(chan struct{})
	m.mu.Lock()
	m.gate = gate
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.gate = nil
		m.mu.Unlock()
		close(gate)
	}
}

// fakeOwner is a channel owner the test drives: it answers a subscribe
// with its last committed seq and pushes what the test says on the links
// subscribed to the channel, committing messages to the shared store
// first, as an owner does.
type fakeOwner struct {
	internode.ChannelServer // the rest is not used by delivery
	name                    string
	addr                    string
	st                      *memStore

	mu         sync.Mutex
	committed  map[string]uint64
	links      map[string][]*internode.Link
	subscribed chan string
}

func startOwner(t *testing.T, name string, st *memStore) *fakeOwner {
	t.Helper()
	o := &fakeOwner{name: name, st: st, committed: map[string]uint64{}, links: map[string][]*internode.Link{},
		subscribed: make(chan string, 100)}
	srv, err := internode.Listen("127.0.0.1:0", internode.Auth{Self: name, Key: testKey}, &internode.Dispatcher{Channel: o, Log: quiet()}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	o.addr = srv.Addr()
	return o
}

func (o *fakeOwner) member() ring.Member {
	return ring.Member{Name: o.name, Meta: ring.Meta{Roles: []ring.Role{ring.RoleChannel}, Internode: o.addr}}
}

func (o *fakeOwner) Subscribe(r internode.Request, m internode.Subscribe) {
	o.mu.Lock()
	o.links[m.Channel] = append(o.links[m.Channel], r.Link)
	seq := o.st.last(m.Channel)
	o.committed[m.Channel] = seq
	internode.Answer(r, internode.SubscribeReply{Seq: seq})
	o.mu.Unlock()
	o.subscribed <- m.Channel
}

func (o *fakeOwner) Unsubscribe(l *internode.Link, m internode.Unsubscribe) {
	o.mu.Lock()
	o.links[m.Channel] = slices.DeleteFunc(o.links[m.Channel], func(x *internode.Link) bool { return x == l })
	o.mu.Unlock()
}

func (o *fakeOwner) LinkClosed(*internode.Link) {}

func (m *memStore) last(channel string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.log[channel]; len(l) > 0 {
		return l[len(l)-1].Seq
	}
	return 0
}

// commit writes the channel's next message to the store (only) and
// returns it with its RTM event.
func (o *fakeOwner) commit(channel string) (uint64, []byte) {
	o.st.mu.Lock()
	seq := uint64(len(o.st.log[channel]) + 1)
	m := chat.Message{Channel: channel, Seq: seq, TS: chat.TS(1_700_000_000_000_000 + seq), User: "U1", Text: fmt.Sprint("m", seq)}
	o.st.log[channel] = append(o.st.log[channel], m)
	o.st.mu.Unlock()
	o.mu.Lock()
	o.committed[channel] = seq
	o.mu.Unlock()
	return seq, rtm.AppendMessage(nil, &m, "T1")
}

// post commits the channel's next message and sends it to subscribers.
func (o *fakeOwner) post(channel string) uint64 {
	seq, payload := o.commit(channel)
	o.send(internode.Posted{Channel: channel, Seq: seq, Payload: payload})
	return seq
}

// repost sends message seq again (a duplicate).
func (o *fakeOwner) repost(channel string, seq uint64) {
	o.st.mu.Lock()
	m := o.st.log[channel][seq-1]
	o.st.mu.Unlock()
	o.send(internode.Posted{Channel: channel, Seq: seq, Payload: rtm.AppendMessage(nil, &m, "T1")})
}

// typing sends a user's typing, produced now, after the last commit.
func (o *fakeOwner) typing(channel, user string) {
	o.mu.Lock()
	after := o.committed[channel]
	o.mu.Unlock()
	o.send(internode.ChannelEvent{Channel: channel, After: after, Activity: internode.ActivityTyping, User: user,
		Payload: rtm.UserTyping(channel, user)})
}

// joinLeave commits the channel's next entry, user joining (or leaving),
// as the owner does: in the store (with the membership), then a
// PostedMember to subscribers when send is set.
func (o *fakeOwner) joinLeave(channel, user string, left, send bool) uint64 {
	o.st.mu.Lock()
	seq := uint64(len(o.st.log[channel]) + 1)
	k := chat.KindJoin
	if left {
		k = chat.KindLeave
	}
	m := chat.Message{Channel: channel, Seq: seq, TS: chat.TS(1_700_000_000_000_000 + seq), User: user,
		More: &chat.More{Kind: k, Subtype: chat.ChannelSubtypes[k], Name: "G"}}
	o.st.log[channel] = append(o.st.log[channel], m)
	o.st.members[[2]string{channel, user}] = !left
	o.st.mu.Unlock()
	o.mu.Lock()
	o.committed[channel] = seq
	o.mu.Unlock()
	if send {
		pm := internode.PostedMember{Posted: internode.Posted{Channel: channel, Seq: seq, Payload: rtm.AppendMessage(nil, &m, "T1")},
			User: user, Left: left, Event: rtm.MemberEvent(&m, "T1")}
		if left {
			pm.Self = rtm.MemberLeft(&m)
		}
		o.send(pm)
	}
	return seq
}

func send[M internode.Message](o *fakeOwner, channel string, m M) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range o.links[channel] {
		internode.Send(l, m)
	}
}

func (o *fakeOwner) send(m internode.Message) {
	switch m := m.(type) {
	case internode.Posted:
		send(o, m.Channel, m)
	case internode.ChannelEvent:
		send(o, m.Channel, m)
	case internode.PostedMember:
		send(o, m.Channel, m)
	case internode.Resubscribe:
		send(o, m.Channel, m)
	}
}

var testKey = []byte("k")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// deliveryGateway runs a gateway named gw in a view of itself and the
// given owners (the channel ring of the owners).
func deliveryGateway(t *testing.T, st store.Store, owners ...*fakeOwner) (*Gateway, *ring.Static) {
	t.Helper()
	ms := []ring.Member{{Name: "gw", Meta: ring.Meta{Roles: []ring.Role{ring.RoleGateway}}}}
	for _, o := range owners {
		ms = append(ms, o.member())
	}
	view := ring.NewStatic(ring.NewView("gw", ms))
	g, err := New(testConfig(view.View, st, testKey, quiet()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	return g, view
}

// client is a session of user on the gateway and what it reads.
type client struct {
	*rawClient
	s *session
}

// event is what a client reads: the fields delivery tests look at.
type event struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	User    string `json:"user"`
	Seq     uint64 `json:"seq"`
}

func (e event) String() string {
	if e.Type == "message" {
		return fmt.Sprintf("message %d", e.Seq)
	}
	return e.Type + " " + e.User
}

// join attaches a session of user to channel (resuming after seq when
// resuming) and waits until the subscription is live.
func join(t *testing.T, g *Gateway, user, channel string, resume uint64, resuming bool) *client {
	t.Helper()
	s, peer := testSession(t, g, 0)
	s.user = user
	select {
	case <-g.subs.attach(s, channel, resume, resuming, false, time.Time{}):
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription never went live")
	}
	return &client{rawClient: &rawClient{nc: peer, br: bufio.NewReader(peer)}, s: s}
}

// next reads one frame and decodes it.
func (c *client) next(t *testing.T) event {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := c.readFrame(t)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var e event
	if err := json.Unmarshal(f.payload, &e); err != nil {
		t.Fatalf("frame %q: %v", f.payload, err)
	}
	return e
}

// expect reads len(want) events and compares them, in order.
func (c *client) expect(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	for range want {
		got = append(got, c.next(t).String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read\n  %q\nwant\n  %q", got, want)
	}
}

func messages(from, to uint64) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("message %d", i))
	}
	return out
}

// sub is the gateway's subscription to channel.
func sub(t *testing.T, g *Gateway, channel string) *chanSub {
	t.Helper()
	c := g.subs.sub(channel, false)
	if c == nil {
		t.Fatalf("no subscription to %s", channel)
	}
	return c
}

func TestDeliveryInOrder(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	c := join(t, g, "U2", "C1", 0, false)
	for range 200 {
		o.post("C1")
	}
	c.expect(t, messages(1, 200)...)
}

// TestDeliveryFillsGapsFromTheStore: messages the owner committed but the
// subscription did not receive are read from the store and released in
// place, the live ones behind them held meanwhile.
func TestDeliveryFillsGapsFromTheStore(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	c := join(t, g, "U2", "C1", 0, false)
	o.post("C1")
	o.post("C1")
	for range 4 {
		o.commit("C1") // 3..6 never sent
	}
	o.post("C1")
	o.post("C1")
	c.expect(t, messages(1, 8)...)
}

// TestDeliveryDropsDuplicates: a message sent twice is delivered once.
func TestDeliveryDropsDuplicates(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	c := join(t, g, "U2", "C1", 0, false)
	o.post("C1")
	o.post("C1")
	o.repost("C1", 2)
	o.repost("C1", 1)
	o.post("C1")
	o.repost("C1", 3)
	o.post("C1")
	c.expect(t, messages(1, 4)...)
}

// TestDeliveryResubscribesAfterAnOwnerMove: when the ring moves the
// channel, the subscription moves to the new owner and catches up from
// the store with what was committed meanwhile, without a gap or a
// duplicate.
func TestDeliveryResubscribesAfterAnOwnerMove(t *testing.T) {
	st := newMemStore()
	a := startOwner(t, "a", st)
	b := startOwner(t, "b", st)
	g, view := deliveryGateway(t, st, a)
	c := join(t, g, "U2", "C1", 0, false)
	<-a.subscribed
	a.post("C1")
	a.post("C1")
	c.expect(t, messages(1, 2)...)
	// b takes the channel over and commits two messages before the
	// gateway subscribes there.
	b.commit("C1")
	b.commit("C1")
	view.Set(ring.NewView("gw", []ring.Member{{Name: "gw", Meta: ring.Meta{Roles: []ring.Role{ring.RoleGateway}}}, b.member()}))
	<-b.subscribed
	b.post("C1")
	c.expect(t, messages(3, 5)...)
	a.repost("C1", 5) // on the old link: ignored
	b.post("C1")
	c.expect(t, "message 6")
}

// TestEventsHeldDuringResumeReplay: a session resuming from the start
// gets the replay from the store first, then the live messages and
// events that came meanwhile, in the order the owner produced them.
func TestEventsHeldDuringResumeReplay(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	for range 5 {
		o.commit("C1")
	}
	g, _ := deliveryGateway(t, st, o)
	live := join(t, g, "U3", "C1", 0, false) // makes the subscription live at 5
	release := st.holdReads()
	c := join(t, g, "U2", "C1", 0, true)
	waitFor(t, "the replay to hold", func() bool {
		s := sub(t, g, "C1")
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.ContainsFunc(s.attached, func(a *attachment) bool { return a.s == c.s && a.hold })
	})
	o.post("C1")
	o.joinLeave("C1", "U9", false, true)
	o.typing("C1", "U9")
	o.post("C1")
	live.expect(t, "message 6", "member_joined_channel U9", "message 7", "user_typing U9", "message 8")
	release()
	c.expect(t, append(messages(1, 6), "member_joined_channel U9", "message 7", "user_typing U9", "message 8")...)
}

// TestEventsHeldDuringAFill: while a gap is filled from the store, the
// events behind it wait with the messages, and come out in place.
func TestEventsHeldDuringAFill(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	c := join(t, g, "U2", "C1", 0, false)
	release := st.holdReads()
	o.post("C1")
	o.commit("C1") // 2 never sent: a gap
	o.typing("C1", "U9")
	o.post("C1")
	o.joinLeave("C1", "U8", false, false) // 4 never sent either: read from the store
	o.typing("C1", "U9")
	o.joinLeave("C1", "U7", false, true)
	c.expect(t, "message 1")
	waitFor(t, "the fill", func() bool {
		s := sub(t, g, "C1")
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.filling && len(s.held) == 4
	})
	release()
	c.expect(t, "message 2", "user_typing U9", "message 3", "member_joined_channel U8", "message 4",
		"user_typing U9", "member_joined_channel U7", "message 5")
}

// TestChannelLeftAfterEarlierMessages: a leave reaches the leaver's
// sessions (channel_left) and the other members (member_left_channel)
// after every message of the channel produced before it, even while the
// fan-out workers hold their rounds (a busy large channel's pacing), and
// the leaver gets nothing of the channel after it. (Before, the events
// went to the sockets at once, ahead of the messages the workers held.)
func TestChannelLeftAfterEarlierMessages(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	leaver := join(t, g, "U2", "C1", 0, false)
	other := join(t, g, "U3", "C1", 0, false)
	for _, w := range g.fan.workers { // the pacer holds the next round
		w.mu.Lock()
		w.hold = time.Now().Add(200 * time.Millisecond)
		w.mu.Unlock()
	}
	for range 3 {
		o.post("C1")
	}
	o.joinLeave("C1", "U2", true, true)
	o.post("C1")
	leaver.expect(t, "message 1", "message 2", "message 3", "group_left ")
	other.expect(t, "message 1", "message 2", "message 3", "member_left_channel U2", "message 4", "message 5")
	s := sub(t, g, "C1")
	s.mu.Lock()
	attached := len(s.attached)
	s.mu.Unlock()
	if attached != 1 || leaver.s.hasChan("C1") {
		t.Fatalf("the leaver is still attached (%d attached)", attached)
	}
}

// TestJoinNoticeAfterTheLeave: a join's notice travels through the
// presence node and may arrive after the leave that followed the join
// (already written to the store, already delivered on the channel's
// stream). The session it would attach gets nothing of the channel; a
// notice of a member still in gets what came after its join.
func TestJoinNoticeAfterTheLeave(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	live := join(t, g, "U3", "C1", 0, false)
	for _, tt := range []struct {
		user   string
		member bool
	}{{"U2", false}, {"U4", true}} {
		st.setMember("C1", tt.user, tt.member)
		joinedAt := o.post("C1")
		s, peer := testSession(t, g, 0)
		s.user = tt.user
		g.subs.attach(s, "C1", joinedAt, true, true, time.Time{}) // the notice: from the join's seq on
		next := o.post("C1")
		live.expect(t, fmt.Sprint("message ", joinedAt), fmt.Sprint("message ", next))
		settled(t, g, "C1", s)
		// A frame after everything, through the session's worker: any
		// message the session got would come before it.
		s.pushLater(wsframe.Text([]byte(`{"type":"sentinel"}`)))
		c := &client{rawClient: &rawClient{nc: peer, br: bufio.NewReader(peer)}, s: s}
		if tt.member {
			c.expect(t, fmt.Sprint("message ", next), "sentinel ")
		} else {
			c.expect(t, "sentinel ")
			if s.hasChan("C1") {
				t.Fatal("the session still counts the channel as its own")
			}
		}
	}
}

// TestSessionStartAfterTheLeave: a session starts with the channels its
// user was in when it read them from the store; a leave committed and
// delivered on the channel's stream between that read and the attach
// leaves the session with nothing of the channel (the private churn
// test's leak), while a member starting then (U4, in the store) gets
// what follows.
func TestSessionStartAfterTheLeave(t *testing.T) {
	st := newMemStore()
	o := startOwner(t, "a", st)
	g, _ := deliveryGateway(t, st, o)
	live := join(t, g, "U3", "C1", 0, false)
	for _, user := range []string{"U2", "U4"} {
		joined := o.joinLeave("C1", user, false, true)
		live.expect(t, "member_joined_channel "+user, fmt.Sprint("message ", joined))
	}
	read := time.Now() // the sessions of U2 and U4 read their channels: C1 is among them
	left := o.joinLeave("C1", "U2", true, true)
	live.expect(t, "member_left_channel U2", fmt.Sprint("message ", left))
	var cs []*client
	for _, user := range []string{"U2", "U4"} {
		s, peer := testSession(t, g, 0)
		s.user = user
		<-g.subs.attach(s, "C1", 0, false, false, read) // as session.start does with what it read
		settled(t, g, "C1", s)
		cs = append(cs, &client{rawClient: &rawClient{nc: peer, br: bufio.NewReader(peer)}, s: s})
	}
	next := o.post("C1")
	live.expect(t, fmt.Sprint("message ", next))
	for _, c := range cs {
		c.s.pushLater(wsframe.Text([]byte(`{"type":"sentinel"}`)))
	}
	cs[0].expect(t, "sentinel ")
	if cs[0].s.hasChan("C1") {
		t.Fatal("the session still counts the channel as its own")
	}
	cs[1].expect(t, fmt.Sprint("message ", next), "sentinel ")
}

// settled waits until session s is no longer held on channel (confirmed
// and replayed) or no longer attached to it.
func settled(t *testing.T, g *Gateway, channel string, s *session) {
	t.Helper()
	waitFor(t, "the membership to be confirmed", func() bool {
		c := sub(t, g, channel)
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.IndexFunc(c.attached, func(a *attachment) bool { return a.s == s })
		return i < 0 || !c.attached[i].hold
	})
}
