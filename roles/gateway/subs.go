package gateway

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// Bounds of a channel subscription.
const (
	// maxHeld bounds the items a chanSub or a resuming attachment holds
	// while a gap is filled from the store.
	maxHeld = 1 << 14
	// fillPage is how many messages one store read fetches.
	fillPage = 512
	// MaxResume is the most messages replayed to one resuming client per
	// channel; beyond it the client is told to fetch history instead.
	MaxResume = 10_000
)

// subscriptions are the gateway's channel subscriptions: one chanSub per
// channel that local sessions are in, subscribed at the channel's owner
// on a link of the gateway's own pool. Everything a session receives
// about a channel (its messages, member and typing events, channel_left,
// a resume's replay) is released by its chanSub in the order the owner
// produced it, through the session's fan-out worker. Safe for concurrent
// use.
//
// Lock order: chanSub.mu, then subscriptions.mu, then session.mu;
// pendingMu and the fan-out workers' locks are leaves.
type subscriptions struct {
	team  string
	store store.Store
	bots  store.Bots // authors' apps, for the messages read from the store
	view  func() *ring.View
	pool  *internode.Pool
	fan   *fanout
	life  *lifecycle.Group
	log   *slog.Logger

	mu    sync.Mutex // guards chans
	chans map[string]*chanSub

	pendingMu   sync.Mutex // guards pending (a leaf lock)
	pending     map[string]struct{}
	pendingWake chan struct{}
}

func newSubscriptions(team string, st store.Store, view func() *ring.View, pool *internode.Pool, fan *fanout,
	life *lifecycle.Group, log *slog.Logger) *subscriptions {
	return &subscriptions{team: team, store: st, view: view, pool: pool, fan: fan, life: life, log: log,
		chans: map[string]*chanSub{}, pendingWake: make(chan struct{}, 1)}
}

// chanSub is this gateway's subscription to one channel. Fields below mu
// are guarded by it.
type chanSub struct {
	id  string
	fan *fanout

	mu       sync.Mutex
	gone     bool              // removed from the gateway; goroutines must stop
	link     *internode.Client // where the live subscription is (nil: none)
	next     uint64            // next seq to deliver; 0 until the first subscribe reply
	target   uint64            // the store has everything up to here
	filling  bool              // a catch-up goroutine runs (none runs: held is empty)
	held     []held            // what waits for a gap to be filled, by position
	attached []*attachment
	ready    chan struct{} // closed at the first subscribe reply
	// liveSince is when the first subscribe reply came (zero until
	// then: see live), lastLeave when the last leave entry was
	// delivered: a session that read its channels after both starts
	// live (see attach).
	liveSince, lastLeave time.Time
}

// live says whether the first subscribe reply came.
func (c *chanSub) live() bool { return !c.liveSince.IsZero() }

// held is a message or an event waiting for its turn. Its position
// orders it in the channel: message seq n at 2n, an event produced
// after message a (ChannelEvent.After) at 2a+1, so between a and a+1.
type held struct {
	pos       uint64
	frame     []byte                  // a complete websocket frame
	ev        *internode.ChannelEvent // nil for a message
	committed int64                   // a message's commit time at its owner (unix ns; 0: unknown)
	member    *memberFrames           // a join or leave entry's other frames (nil for any other)
}

// memberFrames are what a session gets of a member joining or leaving
// beside the entry's message (see internode.PostedMember): event before
// the message, or for a leave, self instead of both to the leaver's
// sessions, which receive nothing of the channel after it. Complete
// websocket frames.
type memberFrames struct {
	user        string
	left        bool
	event, self []byte
}

// memberOf returns the frames of a join or leave entry read from the
// store (nil for any other entry): what its owner sent live.
func (u *subscriptions) memberOf(m *chat.Message) *memberFrames {
	if !m.Kind().MemberKind() {
		return nil
	}
	mf := &memberFrames{user: m.User, left: m.Kind() == chat.KindLeave, event: wsframe.Text(rtm.MemberEvent(m, u.team))}
	if mf.left {
		mf.self = wsframe.Text(rtm.MemberLeft(m))
	}
	return mf
}

func messagePos(seq uint64) uint64 { return 2 * seq }
func eventPos(after uint64) uint64 { return 2*after + 1 }
func (h held) seq() uint64         { return h.pos / 2 }
func (h held) isMessage() bool     { return h.ev == nil }
func heldOrder(a, b held) int      { return cmpUint(a.pos, b.pos) }
func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// needs is the last seq that must be delivered before h.
func (h held) needs() uint64 {
	if h.isMessage() {
		return h.seq() - 1
	}
	return h.ev.After
}

// attachment is one session's interest in a channel.
type attachment struct {
	s        *session
	resume   uint64 // with resuming: the client has seen up to this seq
	resuming bool   // false: start live
	skip     uint64 // deliver only what comes after message skip
	hold     bool   // a replay to this session runs; what comes meanwhile waits in held
	held     []held // frames for this session, by position
	// confirm: the attachment comes from a join's notice, which travels
	// through the presence node and may arrive after the leave that
	// followed the join. Nothing reaches the session until the store
	// says the user is a member (confirmMember).
	confirm bool
}

// sub returns the channel's subscription, creating it (and starting the
// subscribe) when create is set.
func (u *subscriptions) sub(id string, create bool) *chanSub {
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.chans[id]
	if c == nil && create {
		c = &chanSub{id: id, fan: u.fan, ready: make(chan struct{})}
		u.chans[id] = c
		u.resubscribe(id, 0)
	}
	return c
}

// count is the number of channels subscribed.
func (u *subscriptions) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.chans)
}

// all snapshots the subscriptions (so that no chanSub.mu is taken under
// subscriptions.mu).
func (u *subscriptions) all() []*chanSub {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]*chanSub, 0, len(u.chans))
	for _, c := range u.chans {
		out = append(out, c)
	}
	return out
}

// attach adds session s to channel id, starting live, or (when resuming)
// right after seq resume, 0 meaning from the first message; with
// confirm, only once the store says the user is a member. The returned
// channel is closed once the subscription is live.
//
// read, unless zero, is when the session started reading its channels
// from the store, id among them. A leave committed after that read may
// have been delivered here before this attach (it would not detach the
// session: starting live would pass it by) or fall before the position
// a new subscription starts at: unless the subscription was live before
// read and delivered no leave since, the attachment is confirmed
// against the store, as a join's notice is.
func (u *subscriptions) attach(s *session, id string, resume uint64, resuming, confirm bool, read time.Time) <-chan struct{} {
	for {
		c := u.sub(id, true)
		c.mu.Lock()
		if c.gone {
			c.mu.Unlock()
			continue
		}
		if slices.ContainsFunc(c.attached, func(a *attachment) bool { return a.s == s }) {
			c.mu.Unlock()
			return c.ready // already attached (a join racing the session's start)
		}
		if !read.IsZero() && !(c.live() && c.liveSince.Before(read) && c.lastLeave.Before(read)) {
			confirm = true
		}
		a := &attachment{s: s, resume: resume, resuming: resuming, confirm: confirm}
		c.attached = append(c.attached, a)
		s.addChan(id) // under c.mu, so that a leave cannot come in between
		if c.live() {
			u.startResume(c, a)
		}
		c.mu.Unlock()
		return c.ready
	}
}

// detach removes session s from channel id; the last one out ends the
// subscription.
func (u *subscriptions) detach(s *session, id string) {
	c := u.sub(id, false)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attached = slices.DeleteFunc(c.attached, func(a *attachment) bool { return a.s == s })
	if len(c.attached) == 0 {
		u.dropLocked(c)
	}
}

// dropLocked ends a subscription nobody here needs any more. c.mu must be
// held.
func (u *subscriptions) dropLocked(c *chanSub) {
	c.gone = true
	if c.link != nil {
		internode.Send(c.link.Link, internode.Unsubscribe{Channel: c.id})
		c.link = nil
	}
	u.mu.Lock()
	if u.chans[c.id] == c {
		delete(u.chans, c.id)
	}
	u.mu.Unlock()
}

// startResume decides how attachment a starts receiving: live, live
// after skipping what the client has already seen, or after a replay
// from the store. c.mu must be held and c ready.
func (u *subscriptions) startResume(c *chanSub, a *attachment) {
	delivered := c.next - 1
	if a.confirm {
		a.hold = true
		u.life.Go(func(context.Context) { u.confirmMember(c, a, delivered) })
		return
	}
	switch {
	case !a.resuming || a.resume == delivered:
	case a.resume > delivered:
		a.skip = a.resume
	case delivered-a.resume > MaxResume:
		a.s.pushLater(wsframe.Text(rtm.ErrorEvent(rtm.CodeResumeTooOld, "resume too old for "+c.id+": fetch conversations.history")))
	default:
		a.hold = true
		from := a.resume
		u.life.Go(func(context.Context) { u.replay(c, a, from, delivered) })
	}
}

// confirmMember lets a confirmed attachment start (see attachment.confirm)
// once the store says its user is a member, or takes it away. A leave
// processed before the attachment was made is in the store already (the
// owner writes it before it tells anyone), so the store read, made after,
// sees it; a leave processed after removes the attachment itself. What
// comes meanwhile is held, and after a yes the session gets the replay
// from its resume point and then what was held, as any resume. delivered
// is c's last delivered seq when the attachment started.
func (u *subscriptions) confirmMember(c *chanSub, a *attachment, delivered uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	in, err := u.store.IsMember(ctx, c.id, a.s.user)
	cancel()
	if err != nil {
		u.log.Error("confirm a joined member: store read failed", "channel", c.id, "user", a.s.user, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.attached, a) {
		return // a leave (or the session's end) took it away meanwhile
	}
	if err != nil || !in {
		u.removeLocked(c, a)
		return
	}
	a.confirm = false
	from := delivered
	if a.resuming {
		from = a.resume
	}
	upto := max(delivered, from)
	if upto-from > MaxResume {
		a.s.pushLater(wsframe.Text(rtm.ErrorEvent(rtm.CodeResumeTooOld, "resume too old for "+c.id+": fetch conversations.history")))
		from = upto
	}
	a.skip = upto // what is not replayed by then is not for this session (the client has it)
	u.life.Go(func(context.Context) { u.replay(c, a, from, upto) })
}

// replay sends (from, upto] of c from the store to a's session, then
// releases what was held for it meanwhile, all through the session's
// fan-out worker, behind what it already queued for the channel.
//
// A leave of the session's user in what is replayed ends the replay's
// frames there (channel_left, then nothing until a join of theirs); left
// at the end, the session is detached from c and what was held for it
// is not sent.
func (u *subscriptions) replay(c *chanSub, a *attachment, from, upto uint64) {
	out := false
	for from < upto {
		msgs, err := u.readLog(c.id, from, min(fillPage, int(upto-from)))
		if err != nil || len(msgs) == 0 {
			u.log.Error("resume: store read failed", "channel", c.id, "after", from, "err", err)
			a.s.close(errStore)
			return
		}
		bots := u.botsOf(msgs)
		for i := range msgs {
			m := &msgs[i]
			mf := u.memberOf(m)
			switch {
			case mf != nil && mf.user == a.s.user && mf.left:
				if !out {
					a.s.pushLater(mf.self)
				}
				out = true
				continue
			case mf != nil && mf.user == a.s.user:
				out = false
			case out:
				continue
			}
			if mf != nil {
				a.s.pushLater(mf.event)
			}
			a.s.pushLater(u.encode(m, bots))
		}
		from = msgs[len(msgs)-1].Seq
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if out {
		if slices.Contains(c.attached, a) {
			u.removeLocked(c, a)
		}
		return
	}
	for _, h := range a.held {
		if h.pos > messagePos(upto) {
			a.s.pushLater(h.frame)
		}
	}
	a.hold, a.held = false, nil
}

// removeLocked takes attachment a away from c; the last one out ends the
// subscription. c.mu must be held.
func (u *subscriptions) removeLocked(c *chanSub, a *attachment) {
	c.attached = slices.DeleteFunc(c.attached, func(x *attachment) bool { return x == a })
	a.s.removeChan(c.id)
	if len(c.attached) == 0 {
		u.dropLocked(c)
	}
}

func (u *subscriptions) readLog(id string, after uint64, limit int) ([]chat.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return u.store.Messages(ctx, id, after, limit)
}

// encode makes the websocket frame of a message read from the store; a
// bot's carries its app, from bots (botsOf).
func (u *subscriptions) encode(m *chat.Message, bots map[string]chat.Bot) []byte {
	if b := bots[m.User]; b.ID != "" && m.Kind() == chat.KindMessage {
		m = m.WithBot(&b)
	}
	return wsframe.Text(rtm.AppendMessage(nil, m, u.team))
}

// botsOf looks up the apps of msgs' authors (cached), before any lock
// is taken: the log keeps only the author, and a bot's message carries
// its app live too. A failed lookup leaves it out.
func (u *subscriptions) botsOf(msgs []chat.Message) map[string]chat.Bot {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]chat.Bot{}
	for i := range msgs {
		if _, ok := out[msgs[i].User]; !ok && msgs[i].Kind() == chat.KindMessage {
			out[msgs[i].User], _ = u.bots.Of(ctx, u.store, msgs[i].User)
		}
	}
	return out
}

// deliver hands message seq of c to every attached session, through the
// fan-out workers: one job per worker per message, no allocation per
// recipient. c.mu must be held.
// committed is the message's commit time at its owner (unix ns; 0:
// unknown), for the delivery latency.
func (c *chanSub) deliver(seq uint64, frame []byte, committed int64) {
	var lists [][]*session // per worker, allocated only when used
	for _, a := range c.attached {
		switch {
		case seq <= a.skip:
		case a.hold:
			if len(a.held) >= maxHeld {
				a.s.close(errSlow)
				continue
			}
			a.held = append(a.held, held{pos: messagePos(seq), frame: frame})
		default:
			lists = c.add(lists, a.s)
		}
	}
	for w, l := range lists {
		if len(l) > 0 {
			c.fan.workers[w].add(fanJob{frame: frame, sessions: l, large: len(c.attached) >= largeChannel,
				message: true, committed: committed})
		}
	}
	c.next = seq + 1
}

// deliverEvent hands a channel event (typing) to the other attached
// sessions, in the same order as the messages around it. c.mu must be
// held.
func (c *chanSub) deliverEvent(ev *internode.ChannelEvent, frame []byte) {
	var lists [][]*session
	pos := eventPos(ev.After)
	for _, a := range c.attached {
		switch {
		case a.s.user == ev.User || ev.After < a.skip:
		case a.hold:
			a.held = append(a.held, held{pos: pos, frame: frame})
		default:
			lists = c.add(lists, a.s)
		}
	}
	c.send(lists, frame)
}

// deliverMember hands a join or leave entry, message seq of c, to the
// attached sessions: mf's event and the entry's message frame to each,
// but to the leaver's sessions mf's self alone, and then they are
// detached: nothing of c after the entry reaches them. c.mu must be
// held.
func (u *subscriptions) deliverMember(c *chanSub, seq uint64, frame []byte, mf *memberFrames) {
	var lists, leavers [][]*session
	pos := messagePos(seq)
	if mf.left {
		c.lastLeave = time.Now()
	}
	c.attached = slices.DeleteFunc(c.attached, func(a *attachment) bool {
		if seq <= a.skip {
			return false
		}
		if mf.left && a.s.user == mf.user {
			a.s.removeChan(c.id)
			if a.hold { // after the replay, with what it holds
				a.held = append(a.held, held{pos: pos, frame: mf.self})
			} else {
				leavers = c.add(leavers, a.s)
			}
			return true
		}
		if a.hold {
			a.held = append(a.held, held{pos: pos, frame: mf.event}, held{pos: pos, frame: frame})
		} else {
			lists = c.add(lists, a.s)
		}
		return false
	})
	c.send(lists, mf.event)
	c.send(lists, frame)
	c.send(leavers, mf.self)
	c.next = seq + 1
	if len(c.attached) == 0 {
		u.dropLocked(c)
	}
}

// deliverEntry delivers message seq of c, a join or leave entry when mf
// is not nil. c.mu must be held.
func (u *subscriptions) deliverEntry(c *chanSub, seq uint64, frame []byte, committed int64, mf *memberFrames) {
	if mf != nil {
		u.deliverMember(c, seq, frame, mf)
		return
	}
	c.deliver(seq, frame, committed)
}

// add appends s to its worker's list in lists (allocated when first
// used).
func (c *chanSub) add(lists [][]*session, s *session) [][]*session {
	if lists == nil {
		lists = make([][]*session, len(c.fan.workers))
	}
	w := s.shard
	if lists[w] == nil {
		lists[w] = make([]*session, 0, len(c.attached)/len(lists)+1)
	}
	lists[w] = append(lists[w], s)
	return lists
}

// send queues an event's frame to each worker's sessions.
func (c *chanSub) send(lists [][]*session, frame []byte) {
	for w, l := range lists {
		if len(l) > 0 {
			c.fan.workers[w].add(fanJob{frame: frame, sessions: l})
		}
	}
}

// from returns the subscription an event of channel id is for, locked,
// or nil when it came on a link the subscription has left.
func (u *subscriptions) from(link *internode.Client, id string) *chanSub {
	c := u.sub(id, false)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.gone || c.link != link {
		c.mu.Unlock()
		return nil
	}
	return c
}

// posted takes a committed message from the owner.
func (u *subscriptions) posted(from *internode.Client, m internode.Posted) {
	c := u.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	switch {
	case m.Seq < c.next:
		// Already delivered (replayed from the store first).
	case m.Seq == c.next && !c.filling:
		c.deliver(m.Seq, wsframe.Text(m.Payload), m.Committed)
	default:
		u.hold(c, held{pos: messagePos(m.Seq), frame: wsframe.Text(m.Payload), committed: m.Committed})
	}
}

// postedMember takes a committed join or leave entry from the owner.
func (u *subscriptions) postedMember(from *internode.Client, m internode.PostedMember) {
	c := u.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	mf := &memberFrames{user: m.User, left: m.Left, event: wsframe.Text(m.Event)}
	if m.Left {
		mf.self = wsframe.Text(m.Self)
	}
	h := held{pos: messagePos(m.Seq), frame: wsframe.Text(m.Payload), committed: m.Committed, member: mf}
	switch {
	case m.Seq < c.next:
	case m.Seq == c.next && !c.filling:
		u.deliverMember(c, m.Seq, h.frame, mf)
	default:
		u.hold(c, h)
	}
}

// channelEvent takes a typing event from the owner. It is
// released after the messages up to its After, which the owner sent
// before it; while a gap is filled it waits with them.
func (u *subscriptions) channelEvent(from *internode.Client, m internode.ChannelEvent) {
	c := u.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	if !c.filling && m.After < c.next {
		// In order (or, after an owner move, later than messages it
		// followed: delivered at once rather than lost).
		c.deliverEvent(&m, wsframe.Text(m.Payload))
		return
	}
	u.hold(c, held{pos: eventPos(m.After), frame: wsframe.Text(m.Payload), ev: &m})
}

// hold keeps h until the gap before it is filled from the store. c.mu
// must be held.
func (u *subscriptions) hold(c *chanSub, h held) {
	if len(c.held) >= maxHeld {
		// Too far behind: drop the held messages and let the fill read
		// them from the store instead (events are not in the store: they
		// stay).
		c.held = slices.DeleteFunc(c.held, held.isMessage)
	}
	c.held = append(c.held, h)
	c.target = max(c.target, h.needs())
	u.startFill(c)
}

func (u *subscriptions) resubscribed(from *internode.Client, m internode.Resubscribe) {
	c := u.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	c.link = nil
	u.resubscribe(c.id, 0)
}

// onSubscribed handles the owner's reply to a subscribe sent on link.
func (u *subscriptions) onSubscribed(c *chanSub, link *internode.Client, f internode.Frame, err error) {
	var r internode.SubscribeReply
	if err == nil {
		err = r.Decode(f.Body)
	}
	if err == nil {
		err = chat.ErrorOf(r.Err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone || c.link != link {
		return
	}
	if err != nil {
		c.link = nil
		if err == chat.ErrChannelNotFound {
			u.log.Warn("subscribed channel does not exist", "channel", c.id)
			return
		}
		u.resubscribe(c.id, 100*time.Millisecond)
		return
	}
	if c.next == 0 {
		c.next = r.Seq + 1 // a new subscription starts live
	} else if r.Seq >= c.next {
		c.target = max(c.target, r.Seq) // missed messages while moving
		u.startFill(c)
	}
	if !c.live() {
		c.liveSince = time.Now()
		close(c.ready)
		for _, a := range c.attached {
			u.startResume(c, a)
		}
	}
}

// startFill starts the catch-up goroutine unless it runs. c.mu must be held.
func (u *subscriptions) startFill(c *chanSub) {
	if c.filling || c.next == 0 {
		return
	}
	c.filling = true
	if !u.life.Go(func(ctx context.Context) { u.fill(ctx, c) }) {
		c.filling = false
	}
}

// fill reads from the store what c is missing, delivers it in order
// merged with what is held, and stops once nothing is missing.
func (u *subscriptions) fill(ctx context.Context, c *chanSub) {
	backoff := 10 * time.Millisecond
	for {
		c.mu.Lock()
		u.drainHeld(c)
		upto := c.target
		if len(c.held) > 0 {
			upto = max(upto, c.held[0].needs())
		}
		if c.gone || c.next > upto {
			c.filling = false
			c.mu.Unlock()
			return
		}
		after := c.next - 1
		c.mu.Unlock()

		msgs, err := u.readLog(c.id, after, min(fillPage, int(upto-after)))
		if err != nil || len(msgs) == 0 {
			// Committed messages are always readable; an empty read means
			// the store is failing or lagging. Wait and read again.
			u.log.Warn("catch-up read found nothing", "channel", c.id, "after", after, "upto", upto, "err", err)
			select {
			case <-ctx.Done():
				c.mu.Lock()
				c.filling = false
				c.mu.Unlock()
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		bots := u.botsOf(msgs) // store reads: before c.mu
		c.mu.Lock()
		slices.SortStableFunc(c.held, heldOrder)
		for i := range msgs {
			u.releaseHeld(c) // what is held before this message goes first
			if msgs[i].Seq == c.next && !c.gone {
				u.deliverEntry(c, msgs[i].Seq, u.encode(&msgs[i], bots), 0, u.memberOf(&msgs[i]))
			}
		}
		c.mu.Unlock()
	}
}

// drainHeld releases what is held in order while it is next (see
// releaseHeld). c.mu must be held.
func (u *subscriptions) drainHeld(c *chanSub) {
	slices.SortStableFunc(c.held, heldOrder)
	u.releaseHeld(c)
}

// releaseHeld releases the sorted held items while they are next: a
// message when it is seq next, an event when the messages before it are
// delivered; it drops messages already delivered. c.mu must be held.
func (u *subscriptions) releaseHeld(c *chanSub) {
	i := 0
	for ; i < len(c.held) && !c.gone; i++ {
		h := c.held[i]
		if h.isMessage() {
			if h.seq() < c.next {
				continue
			}
			if h.seq() != c.next {
				break
			}
			u.deliverEntry(c, h.seq(), h.frame, h.committed, h.member)
			continue
		}
		if h.ev.After >= c.next {
			break
		}
		c.deliverEvent(h.ev, h.frame)
	}
	if c.gone {
		i = len(c.held)
	}
	c.held = append(c.held[:0], c.held[i:]...)
}

// resubscribe queues channel id for (re)subscription at its current
// owner after delay.
func (u *subscriptions) resubscribe(id string, delay time.Duration) {
	if delay > 0 {
		u.life.Go(func(ctx context.Context) {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
				u.resubscribe(id, 0)
			}
		})
		return
	}
	u.pendingMu.Lock()
	if u.pending == nil {
		u.pending = map[string]struct{}{}
	}
	u.pending[id] = struct{}{}
	u.pendingMu.Unlock()
	select {
	case u.pendingWake <- struct{}{}:
	default:
	}
}

// subscriber is the one goroutine that (re)subscribes channels: it may
// block dialing an owner, which the event path must never do.
func (u *subscriptions) subscriber(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.pendingWake:
		}
		u.pendingMu.Lock()
		ids := u.pending
		u.pending = nil
		u.pendingMu.Unlock()
		for id := range ids {
			u.subscribeOne(ctx, id)
		}
	}
}

func (u *subscriptions) subscribeOne(ctx context.Context, id string) {
	c := u.sub(id, false)
	if c == nil {
		return
	}
	owner, ok := u.view().Owner(ring.RoleChannel, id)
	if !ok {
		u.resubscribe(id, 200*time.Millisecond)
		return
	}
	c.mu.Lock()
	if c.gone || (c.link != nil && c.link.Peer() == owner.Name && c.link.Up()) {
		c.mu.Unlock()
		return // already subscribed at the owner
	}
	old := c.link
	c.link = nil
	c.mu.Unlock()
	if old != nil && old.Up() {
		internode.Send(old.Link, internode.Unsubscribe{Channel: id})
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	link, err := u.pool.Get(dctx, owner.Name, owner.Internode)
	cancel()
	if err != nil {
		u.resubscribe(id, 200*time.Millisecond)
		return
	}
	c.mu.Lock()
	if c.gone || c.link != nil {
		c.mu.Unlock()
		return
	}
	c.link = link
	c.mu.Unlock()
	internode.Go(link, internode.Subscribe{Channel: id},
		func(f internode.Frame, err error) { u.onSubscribed(c, link, f, err) })
}

// followView re-subscribes every channel whose owner changed.
func (u *subscriptions) followView(ctx context.Context) {
	for {
		v := u.view()
		select {
		case <-ctx.Done():
			return
		case <-v.Changed():
		}
		v = u.view()
		for _, c := range u.all() {
			c.mu.Lock()
			if !c.gone && (c.link == nil || c.link.Peer() != v.Ring(ring.RoleChannel).Owner(c.id)) {
				u.resubscribe(c.id, 0)
			}
			c.mu.Unlock()
		}
	}
}

// linkDown re-subscribes the channels that were subscribed at peer.
func (u *subscriptions) linkDown(peer string) {
	for _, c := range u.all() {
		c.mu.Lock()
		if c.link != nil && c.link.Peer() == peer {
			c.link = nil
			u.resubscribe(c.id, 50*time.Millisecond)
		}
		c.mu.Unlock()
	}
}

// reattach replays channel id to session s from after seq (a client's
// resume request mid-session). False when s is not attached to id.
func (u *subscriptions) reattach(s *session, id string, seq uint64) bool {
	c := u.sub(id, false)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.attached {
		if a.s == s {
			if !a.hold && c.live() {
				a.resume, a.resuming = seq, true
				u.startResume(c, a)
			}
			return true
		}
	}
	return false
}
