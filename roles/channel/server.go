package channel

import (
	"context"
	"slices"
	"time"
	"unique"

	"github.com/cespare/xxhash/v2"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Server is the owner's side of the channel requests other nodes send,
// for the node's internode.Dispatcher. Its methods run on a link's
// reader goroutine and never wait for the store: replies go out later.
func (o *Owner) Server() internode.ChannelServer { return server{o} }

type server struct{ o *Owner }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (s server) Publish(r internode.Request, m internode.Publish) {
	answer := func(msg chat.Message, err error) {
		internode.Answer(r, internode.PublishReply{Err: errString(err), Seq: msg.Seq, TS: msg.TS})
	}
	p, err := cluster.PostOf(m)
	if err != nil {
		answer(chat.Message{}, err)
		return
	}
	s.o.Publish(p, answer)
}

func (s server) Subscribe(r internode.Request, m internode.Subscribe) {
	s.o.subscribe(r.Link, m.Channel, func(seq uint64, err error) {
		internode.Answer(r, internode.SubscribeReply{Err: errString(err), Seq: seq})
	})
}

func (s server) Unsubscribe(l *internode.Link, m internode.Unsubscribe) {
	s.o.unsubscribe(l, m.Channel)
}

func (s server) Typing(m internode.Typing) { s.o.Typing(m.Channel, m.User) }

// Member blocks on the store, so it runs on a goroutine of the owner.
func (s server) Member(r internode.Request, m internode.Member) {
	answer := func(seq uint64, err error) {
		internode.Answer(r, internode.MemberReply{Err: errString(err), Seq: seq})
	}
	if !s.o.life.Go(func(context.Context) { s.o.Member(m.Op, m.Channel, m.Actor, m.Users, answer) }) {
		answer(0, chat.ErrUnavailable)
	}
}

func (s server) LinkClosed(l *internode.Link) { s.o.LinkClosed(l) }

// subscribe adds link l to the channel's fan-out and replies with the
// last committed seq: every later message reaches l, after the reply.
func (o *Owner) subscribe(l *internode.Link, id string, reply func(uint64, error)) {
	if id == "" {
		reply(0, chat.ErrBadRequest)
		return
	}
	if !o.cache.owns(id) {
		reply(0, chat.ErrWrongOwner)
		return
	}
	o.cache.with(id, func(st *chanState, err error) {
		if err != nil {
			reply(0, err)
			return
		}
		if !o.cache.owns(id) {
			reply(0, chat.ErrWrongOwner)
			return
		}
		if !slices.Contains(st.subs, l) {
			st.subs = append(st.subs, l)
			o.cache.follow(l, id)
		}
		reply(st.committed, nil)
	})
}

func (o *Owner) unsubscribe(l *internode.Link, id string) {
	o.cache.unfollow(l, id)
	if st := o.cache.peek(id); st != nil {
		st.subs = slices.DeleteFunc(st.subs, func(x *internode.Link) bool { return x == l })
		st.mu.Unlock()
	}
}

// LinkClosed removes a gone link from every channel it subscribed to.
func (o *Owner) LinkClosed(l *internode.Link) {
	for id := range o.cache.linkGone(l) {
		if st := o.cache.peek(id); st != nil {
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
	o.cache.with(id, func(st *chanState, err error) { ch <- result{st, err} })
	r := <-ch
	return r.st, r.err
}

// Member changes the channel's member set, durably, and replies with the
// channel's last committed seq at the time of the change. It blocks on
// the store; Server runs it on a goroutine of the owner.
func (o *Owner) Member(op internode.MemberOp, id, actor string, users []string, reply func(uint64, error)) {
	if id == "" || actor == "" || (op == internode.MemberInvite && len(users) == 0) {
		reply(0, chat.ErrBadRequest)
		return
	}
	if !o.cache.owns(id) {
		reply(0, chat.ErrWrongOwner)
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
		reply(0, chat.ErrConflict)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var targets []string
	inviter := ""
	switch op {
	case internode.MemberJoin:
		if actorIn {
			reply(o.committed(st), chat.ErrAlreadyMember)
			return
		}
		targets = []string{actor}
	case internode.MemberLeave:
		if !actorIn {
			reply(o.committed(st), chat.ErrNotInChannel)
			return
		}
		targets = []string{actor}
	case internode.MemberInvite:
		if !actorIn {
			reply(0, chat.ErrNotInChannel)
			return
		}
		targets = users
		inviter = actor
	case internode.MemberKick:
		st.mu.Lock()
		targetIn := len(users) == 1 && st.isMember(users[0])
		st.mu.Unlock()
		switch {
		case len(users) != 1:
			reply(0, chat.ErrBadRequest)
			return
		case users[0] == actor:
			reply(0, chat.Error("cant_kick_self"))
			return
		case !actorIn:
			reply(0, chat.Error("restricted_action"))
			return
		case !targetIn:
			reply(o.committed(st), chat.ErrNotInChannel)
			return
		}
		targets = users
	default:
		reply(0, chat.ErrBadRequest)
		return
	}
	leaving := op == internode.MemberLeave || op == internode.MemberKick
	var changed []string
	for _, u := range targets {
		var done bool
		var err error
		if leaving {
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
			o.cache.dropLocked(st) // memory may now disagree with the store
			st.mu.Unlock()
			reply(0, chat.ErrUnavailable)
			return
		}
	}
	st.mu.Lock()
	for _, u := range targets {
		i, found := st.findMember(u)
		switch {
		case leaving && found:
			st.members = slices.Delete(st.members, i, i+1)
		case !leaving && !found:
			st.members = slices.Insert(st.members, i, unique.Make(u))
		}
	}
	seq := st.committed
	now := chat.TSOf(time.Now())
	for _, u := range changed {
		ev := internode.ChannelEvent{Channel: id, After: seq, Activity: internode.ActivityJoined, User: u,
			Payload: rtm.MemberJoined(id, u, inviter, o.cfg.Team, now)}
		if leaving {
			ev.Activity, ev.Payload = internode.ActivityLeft, rtm.MemberLeft(id, u, o.cfg.Team, now)
		}
		broadcast(st, ev)
	}
	members := len(st.members)
	st.mu.Unlock()
	reply(seq, nil)
	if !leaving && o.cfg.UserEvent != nil && len(changed) > 0 {
		// The joiners' sessions learn of the channel, and start receiving
		// it after seq, through their presence nodes.
		ch, err := o.cfg.Store.Channel(ctx, id)
		if err != nil {
			o.log.Error("channel_joined: load channel", "channel", id, "err", err)
			return
		}
		frame := rtm.ChannelJoined(ch, o.cfg.Team, members)
		for _, u := range changed {
			o.cfg.UserEvent(u, id, seq, internode.ChannelJoined, frame)
		}
	}
}

func (o *Owner) committed(st *chanState) uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.committed
}
