package channel

import (
	"context"
	"slices"
	"time"
	"unique"

	"github.com/cespare/xxhash/v2"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Membership operations: the Op of a KindMember request.
const (
	MemberJoin   byte = 1 // User joins
	MemberLeave  byte = 2 // User leaves
	MemberInvite byte = 3 // User adds Users
)

var _ internode.Handler = (*Owner)(nil)

// HandleFrame serves a request from another node. It runs on the link's
// reader goroutine and never waits for the store: replies go out later.
func (o *Owner) HandleFrame(l *internode.Link, f *internode.Frame) {
	reply := func(r *internode.Frame, err error) {
		r.Kind, r.ReqID = internode.KindReply, f.ReqID
		if err != nil {
			r.Extra = err.Error()
		}
		l.Send(r)
	}
	switch f.Kind {
	case internode.KindPublish:
		o.Publish(Post{Channel: f.Channel, User: f.User, Text: f.Text, ThreadTS: chat.TS(f.TS), ClientMsgID: f.Extra},
			func(m chat.Message, err error) { reply(&internode.Frame{Seq: m.Seq, TS: int64(m.TS)}, err) })
	case internode.KindSubscribe:
		o.subscribe(l, f.Channel, func(seq uint64, err error) { reply(&internode.Frame{Channel: f.Channel, Seq: seq}, err) })
	case internode.KindUnsubscribe:
		o.unsubscribe(l, f.Channel)
	case internode.KindTyping:
		o.Typing(f.Channel, f.User)
	case internode.KindMember:
		answer := func(seq uint64, err error) { reply(&internode.Frame{Channel: f.Channel, Seq: seq}, err) }
		if !o.life.Go(func(context.Context) { o.Member(f.Op, f.Channel, f.User, f.Users, answer) }) {
			answer(0, ErrUnavailable)
		}
	default:
		if f.ReqID != 0 {
			reply(&internode.Frame{}, ErrBadRequest)
		}
	}
}

// subscribe adds link l to the channel's fan-out and replies with the
// last committed seq: every later message reaches l, after the reply.
func (o *Owner) subscribe(l *internode.Link, id string, reply func(uint64, error)) {
	if id == "" {
		reply(0, ErrBadRequest)
		return
	}
	if !o.owns(id) {
		reply(0, ErrWrongOwner)
		return
	}
	o.with(id, func(st *chanState, err error) {
		if err != nil {
			reply(0, err)
			return
		}
		if !o.owns(id) {
			reply(0, ErrWrongOwner)
			return
		}
		if !slices.Contains(st.subs, l) {
			st.subs = append(st.subs, l)
			o.linksMu.Lock()
			set := o.links[l]
			if set == nil {
				set = map[string]struct{}{}
				o.links[l] = set
			}
			set[id] = struct{}{}
			o.linksMu.Unlock()
		}
		reply(st.committed, nil)
	})
}

func (o *Owner) unsubscribe(l *internode.Link, id string) {
	o.linksMu.Lock()
	delete(o.links[l], id)
	o.linksMu.Unlock()
	if st := o.peek(id); st != nil {
		st.subs = slices.DeleteFunc(st.subs, func(x *internode.Link) bool { return x == l })
		st.mu.Unlock()
	}
}

// LinkClosed removes a gone link from every channel it subscribed to.
func (o *Owner) LinkClosed(l *internode.Link) {
	o.linksMu.Lock()
	ids := o.links[l]
	delete(o.links, l)
	o.linksMu.Unlock()
	for id := range ids {
		if st := o.peek(id); st != nil {
			st.subs = slices.DeleteFunc(st.subs, func(x *internode.Link) bool { return x == l })
			st.mu.Unlock()
		}
	}
}

// acquire returns the channel's loaded state (unlocked), waiting for the
// load if needed.
func (o *Owner) acquire(id string) (*chanState, error) {
	type result struct {
		st  *chanState
		err error
	}
	ch := make(chan result, 1)
	o.with(id, func(st *chanState, err error) { ch <- result{st, err} })
	r := <-ch
	return r.st, r.err
}

// Member changes the channel's member set, durably, and replies with the
// channel's last committed seq at the time of the change. It blocks on
// the store; HandleFrame runs it on its own goroutine.
func (o *Owner) Member(op byte, id, actor string, users []string, reply func(uint64, error)) {
	if id == "" || actor == "" || (op == MemberInvite && len(users) == 0) {
		reply(0, ErrBadRequest)
		return
	}
	if !o.owns(id) {
		reply(0, ErrWrongOwner)
		return
	}
	st, err := o.acquire(id)
	if err != nil {
		reply(0, err)
		return
	}
	mu := &o.memberMus[xxhash.Sum64String(id)%uint64(len(o.memberMus))]
	mu.Lock()
	defer mu.Unlock()
	st.mu.Lock()
	stale := st.dropped
	actorIn := st.isMember(actor)
	st.mu.Unlock()
	if stale {
		reply(0, ErrConflict)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var targets []string
	inviter := ""
	switch op {
	case MemberJoin:
		if actorIn {
			reply(o.committed(st), ErrAlreadyMember)
			return
		}
		targets = []string{actor}
	case MemberLeave:
		if !actorIn {
			reply(o.committed(st), ErrNotInChannel)
			return
		}
		targets = []string{actor}
	case MemberInvite:
		if !actorIn {
			reply(0, ErrNotInChannel)
			return
		}
		targets = users
		inviter = actor
	default:
		reply(0, ErrBadRequest)
		return
	}
	var changed []string
	for _, u := range targets {
		var done bool
		var err error
		if op == MemberLeave {
			done, err = o.cfg.Store.RemoveMember(ctx, id, u)
		} else {
			done, err = o.cfg.Store.AddMember(ctx, id, u)
		}
		if done {
			changed = append(changed, u)
		}
		if err != nil {
			o.log.Error("member change", "channel", id, "user", u, "err", err)
			st.mu.Lock()
			o.dropLocked(st) // memory may now disagree with the store
			st.mu.Unlock()
			reply(0, ErrUnavailable)
			return
		}
	}
	st.mu.Lock()
	for _, u := range targets {
		i, found := st.findMember(u)
		switch {
		case op == MemberLeave && found:
			st.members = slices.Delete(st.members, i, i+1)
		case op != MemberLeave && !found:
			st.members = slices.Insert(st.members, i, unique.Make(u))
		}
	}
	seq := st.committed
	now := chat.TSOf(time.Now())
	for _, u := range changed {
		ev := &internode.Frame{Kind: internode.KindEvent, Op: EvMemberJoined, Channel: id, User: u,
			Payload: rtm.MemberJoined(id, u, inviter, o.cfg.Team, now)}
		if op == MemberLeave {
			ev.Op, ev.Payload = EvMemberLeft, rtm.MemberLeft(id, u, o.cfg.Team, now)
		}
		o.sendLocked(st, ev)
	}
	members := len(st.members)
	st.mu.Unlock()
	reply(seq, nil)
	if op != MemberLeave && o.cfg.UserEvent != nil && len(changed) > 0 {
		// The joiners' sessions learn of the channel, and start receiving
		// it after seq, through their presence nodes.
		ch, err := o.cfg.Store.Channel(ctx, id)
		if err != nil {
			o.log.Error("channel_joined: load channel", "channel", id, "err", err)
			return
		}
		frame := rtm.ChannelJoined(ch, o.cfg.Team, members)
		for _, u := range changed {
			o.cfg.UserEvent(u, id, seq, "channel_joined", frame) // presence.ChannelJoined
		}
	}
}

func (o *Owner) committed(st *chanState) uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.committed
}
