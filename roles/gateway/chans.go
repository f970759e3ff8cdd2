package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// Bounds of a channel subscription.
const (
	// maxHeld bounds the events a chanSub or a resuming attachment holds
	// while a gap is filled from the store.
	maxHeld = 1 << 14
	// fillPage is how many messages one store read fetches.
	fillPage = 512
	// MaxResume is the most messages replayed to one resuming client per
	// channel; beyond it the client is told to fetch history instead.
	MaxResume = 10_000
)

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
	filling  bool              // a catch-up goroutine runs
	held     []held            // events waiting for a gap to be filled
	attached []*attachment
	ready    chan struct{} // closed at the first subscribe reply
	isReady  bool
}

type held struct {
	seq   uint64
	frame []byte // a complete websocket frame
}

// attachment is one session's interest in a channel.
type attachment struct {
	s        *session
	resume   uint64 // with resuming: the client has seen up to this seq
	resuming bool   // false: start live
	skip     uint64 // deliver only seq > skip
	hold     bool   // a replay to this session runs; live frames wait in held
	held     []held
}

// sub returns the channel's subscription, creating it (and starting the
// subscribe) when create is set.
func (g *Gateway) sub(id string, create bool) *chanSub {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.chans[id]
	if c == nil && create {
		c = &chanSub{id: id, fan: g.fan, ready: make(chan struct{})}
		g.chans[id] = c
		g.resubscribe(id, 0)
	}
	return c
}

// attach adds session s to channel id, starting live, or (when resuming)
// right after seq resume, 0 meaning from the first message. The returned
// channel is closed once the subscription is live.
func (g *Gateway) attach(s *session, id string, resume uint64, resuming bool) <-chan struct{} {
	for {
		c := g.sub(id, true)
		c.mu.Lock()
		if c.gone {
			c.mu.Unlock()
			continue
		}
		if slices.ContainsFunc(c.attached, func(a *attachment) bool { return a.s == s }) {
			c.mu.Unlock()
			return c.ready // already attached (a join racing the session's start)
		}
		a := &attachment{s: s, resume: resume, resuming: resuming}
		c.attached = append(c.attached, a)
		s.addChan(id) // under c.mu, so that a leave cannot come in between
		if c.isReady {
			g.startResume(c, a)
		}
		c.mu.Unlock()
		return c.ready
	}
}

// detach removes session s from channel id; the last one out ends the
// subscription.
func (g *Gateway) detach(s *session, id string) {
	c := g.sub(id, false)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attached = slices.DeleteFunc(c.attached, func(a *attachment) bool { return a.s == s })
	if len(c.attached) == 0 {
		g.dropSubLocked(c)
	}
}

// dropSubLocked ends a subscription nobody here needs any more. c.mu
// must be held.
func (g *Gateway) dropSubLocked(c *chanSub) {
	c.gone = true
	if c.link != nil {
		internode.Send(c.link.Link, internode.Unsubscribe{Channel: c.id})
		c.link = nil
	}
	g.mu.Lock()
	if g.chans[c.id] == c {
		delete(g.chans, c.id)
	}
	g.mu.Unlock()
}

// startResume decides how attachment a starts receiving: live, live
// after skipping what the client has already seen, or after a replay
// from the store. c.mu must be held and c ready.
func (g *Gateway) startResume(c *chanSub, a *attachment) {
	delivered := c.next - 1
	switch {
	case !a.resuming || a.resume == delivered:
	case a.resume > delivered:
		a.skip = a.resume
	case delivered-a.resume > MaxResume:
		a.s.push(rtm.ErrorEvent(rtm.CodeResumeTooOld, "resume too old for "+c.id+": fetch conversations.history"))
	default:
		a.hold = true
		from := a.resume
		g.life.Go(func(context.Context) { g.replay(c, a, from, delivered) })
	}
}

// replay sends (from, upto] of c from the store to a's session, then
// releases what was held for it meanwhile.
func (g *Gateway) replay(c *chanSub, a *attachment, from, upto uint64) {
	for from < upto {
		msgs, err := g.readLog(c.id, from, min(fillPage, int(upto-from)))
		if err != nil || len(msgs) == 0 {
			g.log.Error("resume: store read failed", "channel", c.id, "after", from, "err", err)
			a.s.close(errStore)
			return
		}
		for i := range msgs {
			a.s.pushFrame(g.encode(&msgs[i]))
		}
		from = msgs[len(msgs)-1].Seq
	}
	c.mu.Lock()
	for _, h := range a.held {
		if h.seq > upto {
			a.s.pushFrame(h.frame)
		}
	}
	a.hold, a.held = false, nil
	c.mu.Unlock()
}

func (g *Gateway) readLog(id string, after uint64, limit int) ([]chat.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return g.cfg.Store.Messages(ctx, id, after, limit)
}

// encode makes the websocket frame of a message read from the store.
func (g *Gateway) encode(m *chat.Message) []byte {
	return wsframe.Text(rtm.AppendMessage(nil, m, g.cfg.Team))
}

// deliver hands one event of c to every attached session, through the
// fan-out workers: one job per worker per message, no allocation per
// recipient. c.mu must be held.
func (c *chanSub) deliver(seq uint64, frame []byte) {
	var lists [][]*session // per worker, allocated only when used
	for _, a := range c.attached {
		switch {
		case seq <= a.skip:
		case a.hold:
			if len(a.held) >= maxHeld {
				a.s.close(errSlow)
				continue
			}
			a.held = append(a.held, held{seq, frame})
		default:
			if lists == nil {
				lists = make([][]*session, len(c.fan.workers))
			}
			w := a.s.shard
			if lists[w] == nil {
				lists[w] = make([]*session, 0, len(c.attached)/len(lists)+1)
			}
			lists[w] = append(lists[w], a.s)
		}
	}
	large := len(c.attached) >= largeChannel
	for w, l := range lists {
		if len(l) > 0 {
			c.fan.workers[w].add(fanJob{frame: frame, sessions: l, large: large})
		}
	}
	c.next = seq + 1
}

// receiver takes the events channel owners and presence nodes push, on
// each link's reader goroutine.
type receiver struct{ g *Gateway }

// from returns the subscription an event of channel id is for, locked,
// or nil when it came on a link the subscription has left.
func (g *Gateway) from(link *internode.Client, id string) *chanSub {
	c := g.sub(id, false)
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

func (r receiver) Posted(from *internode.Client, m internode.Posted) {
	c := r.g.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	switch {
	case m.Seq < c.next:
		// Already delivered (replayed from the store first).
	case m.Seq == c.next && !c.filling:
		c.deliver(m.Seq, wsframe.Text(m.Payload))
	default:
		if len(c.held) >= maxHeld {
			// Too far behind: drop the held events and let the fill
			// read them from the store instead.
			c.held = c.held[:0]
		}
		c.held = append(c.held, held{m.Seq, wsframe.Text(m.Payload)})
		c.target = max(c.target, m.Seq-1)
		r.g.startFill(c)
	}
}

func (r receiver) Resubscribe(from *internode.Client, m internode.Resubscribe) {
	c := r.g.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	c.link = nil
	r.g.resubscribe(c.id, 0)
}

func (r receiver) ChannelEvent(from *internode.Client, m internode.ChannelEvent) {
	c := r.g.from(from, m.Channel)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	switch m.Activity {
	case internode.ActivityTyping, internode.ActivityJoined:
		// Ephemeral: to the other members, outside the seq order.
		fr := wsframe.Text(m.Payload)
		for _, a := range c.attached {
			if a.s.user != m.User {
				a.s.pushFrame(fr)
			}
		}
	case internode.ActivityLeft:
		// The leaver's sessions stop receiving the channel at once.
		var left []*session
		fr := wsframe.Text(m.Payload)
		c.attached = slices.DeleteFunc(c.attached, func(a *attachment) bool {
			if a.s.user == m.User {
				left = append(left, a.s)
				return true
			}
			a.s.pushFrame(fr)
			return false
		})
		goodbye := rtm.ChannelLeft(c.id, chat.TSOf(time.Now()))
		for _, s := range left {
			s.removeChan(c.id)
			s.push(goodbye)
		}
		if len(c.attached) == 0 {
			r.g.dropSubLocked(c)
		}
	}
}

func (r receiver) PresenceChange(from *internode.Client, m internode.PresenceChange) {
	r.g.onPresence(from, m)
}

func (r receiver) UserNotice(_ *internode.Client, m internode.UserNotice) { r.g.onUserNotice(m) }

func (r receiver) AwayChange(_ *internode.Client, m internode.AwayChange) { r.g.onAwayChange(m) }

func (r receiver) Resync(*internode.Client) { r.g.reReport() }

// onSubscribed handles the owner's reply to a subscribe sent on link.
func (g *Gateway) onSubscribed(c *chanSub, link *internode.Client, f internode.Frame, err error) {
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
			g.log.Warn("subscribed channel does not exist", "channel", c.id)
			return
		}
		g.resubscribe(c.id, 100*time.Millisecond)
		return
	}
	if c.next == 0 {
		c.next = r.Seq + 1 // a new subscription starts live
	} else if r.Seq >= c.next {
		c.target = max(c.target, r.Seq) // missed messages while moving
		g.startFill(c)
	}
	if !c.isReady {
		c.isReady = true
		close(c.ready)
		for _, a := range c.attached {
			g.startResume(c, a)
		}
	}
}

// startFill starts the catch-up goroutine unless it runs. c.mu must be held.
func (g *Gateway) startFill(c *chanSub) {
	if c.filling || c.next == 0 {
		return
	}
	c.filling = true
	g.life.Go(func(context.Context) { g.fill(c) })
}

// fill reads from the store what c is missing, delivers it in order
// merged with the held events, and stops once nothing is missing.
func (g *Gateway) fill(c *chanSub) {
	backoff := 10 * time.Millisecond
	for {
		c.mu.Lock()
		c.drainHeld()
		upto := c.target
		if len(c.held) > 0 {
			upto = max(upto, c.held[0].seq-1)
		}
		if c.gone || c.next > upto {
			c.filling = false
			c.mu.Unlock()
			return
		}
		after := c.next - 1
		c.mu.Unlock()

		msgs, err := g.readLog(c.id, after, min(fillPage, int(upto-after)))
		if err != nil || len(msgs) == 0 {
			// Committed messages are always readable; an empty read means
			// the store is failing or lagging. Wait and read again.
			g.log.Warn("catch-up read found nothing", "channel", c.id, "after", after, "upto", upto, "err", err)
			select {
			case <-g.life.Done():
				c.mu.Lock()
				c.filling = false
				c.mu.Unlock()
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		c.mu.Lock()
		for i := range msgs {
			if msgs[i].Seq == c.next {
				c.deliver(msgs[i].Seq, g.encode(&msgs[i]))
			}
		}
		c.mu.Unlock()
	}
}

// drainHeld delivers held events that are next in order and drops those
// already delivered. c.mu must be held.
func (c *chanSub) drainHeld() {
	slices.SortFunc(c.held, func(a, b held) int { return int(int64(a.seq - b.seq)) })
	i := 0
	for ; i < len(c.held); i++ {
		h := c.held[i]
		if h.seq < c.next {
			continue
		}
		if h.seq != c.next {
			break
		}
		c.deliver(h.seq, h.frame)
	}
	c.held = append(c.held[:0], c.held[i:]...)
}

// resubscribe queues channel id for (re)subscription at its current
// owner after delay.
func (g *Gateway) resubscribe(id string, delay time.Duration) {
	if delay > 0 {
		g.life.Go(func(ctx context.Context) {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
				g.resubscribe(id, 0)
			}
		})
		return
	}
	g.pendingMu.Lock()
	if g.pending == nil {
		g.pending = map[string]struct{}{}
	}
	g.pending[id] = struct{}{}
	g.pendingMu.Unlock()
	select {
	case g.pendingWake <- struct{}{}:
	default:
	}
}

// subscriber is the one goroutine that (re)subscribes channels: it may
// block dialing an owner, which the event path must never do.
func (g *Gateway) subscriber(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.pendingWake:
		}
		g.pendingMu.Lock()
		ids := g.pending
		g.pending = nil
		g.pendingMu.Unlock()
		for id := range ids {
			g.subscribeOne(ctx, id)
		}
	}
}

func (g *Gateway) subscribeOne(ctx context.Context, id string) {
	c := g.sub(id, false)
	if c == nil {
		return
	}
	owner, ok := g.cfg.View().Owner(ring.RoleChannel, id)
	if !ok {
		g.resubscribe(id, 200*time.Millisecond)
		return
	}
	c.mu.Lock()
	if c.gone || (c.link != nil && c.link.Peer() == owner.Name && isUp(c.link)) {
		c.mu.Unlock()
		return // already subscribed at the owner
	}
	old := c.link
	c.link = nil
	c.mu.Unlock()
	if old != nil && isUp(old) {
		internode.Send(old.Link, internode.Unsubscribe{Channel: id})
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	link, err := g.pool.Get(dctx, owner.Name, owner.Internode)
	cancel()
	if err != nil {
		g.resubscribe(id, 200*time.Millisecond)
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
		func(f internode.Frame, err error) { g.onSubscribed(c, link, f, err) })
}

func isUp(c *internode.Client) bool {
	select {
	case <-c.Done():
		return false
	default:
		return true
	}
}

// followView re-subscribes every channel whose owner changed.
func (g *Gateway) followView(ctx context.Context) {
	for {
		v := g.cfg.View()
		select {
		case <-ctx.Done():
			return
		case <-v.Changed():
		}
		v = g.cfg.View()
		for _, c := range g.subs() {
			c.mu.Lock()
			if !c.gone && (c.link == nil || c.link.Peer() != v.Ring(ring.RoleChannel).Owner(c.id)) {
				g.resubscribe(c.id, 0)
			}
			c.mu.Unlock()
		}
	}
}

// subs snapshots the subscriptions (so that no chanSub.mu is taken under
// Gateway.mu).
func (g *Gateway) subs() []*chanSub {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*chanSub, 0, len(g.chans))
	for _, c := range g.chans {
		out = append(out, c)
	}
	return out
}

// linkDown re-subscribes the channels that were subscribed at peer and
// re-sends what went to it as a presence node.
func (g *Gateway) linkDown(peer string) {
	g.presenceDown(peer)
	for _, c := range g.subs() {
		c.mu.Lock()
		if c.link != nil && c.link.Peer() == peer {
			c.link = nil
			g.resubscribe(c.id, 50*time.Millisecond)
		}
		c.mu.Unlock()
	}
}

// reattach replays channel id to session s from after seq (a client's
// resume request mid-session). False when s is not attached to id.
func (g *Gateway) reattach(s *session, id string, seq uint64) bool {
	c := g.sub(id, false)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.attached {
		if a.s == s {
			if !a.hold && c.isReady {
				a.resume, a.resuming = seq, true
				g.startResume(c, a)
			}
			return true
		}
	}
	return false
}
