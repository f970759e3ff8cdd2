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

// Member changes the channel's member set by entries of its log: each
// user joining or leaving is the channel's next entry (chat.KindJoin,
// chat.KindLeave), whose Append writes the membership, so it is durable
// before the reply, ordered with the channel's messages and fenced like
// them. It replies with the seq of the last entry. It blocks until the
// entries are committed; Server runs it on a goroutine of the owner.
//
// Membership changes and changes to messages of one channel are
// serialised (the channel's stripe of memberMus), so each is checked
// against what the one before it left. The owner's member set changes
// when an entry is sequenced: a post sequenced after a leave is refused,
// one after a join is accepted, in log order (a failed commit drops the
// channel's state, and the next operation reloads it from the store).
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
	stale, archived, committed := st.dropped, st.archived, st.committed
	actorIn := st.isMember(actor)
	var fresh []string // invite: who is not a member yet
	for _, u := range users {
		if !st.isMember(u) && !slices.Contains(fresh, u) {
			fresh = append(fresh, u)
		}
	}
	st.mu.Unlock()
	if stale {
		reply(0, chat.ErrConflict)
		return
	}
	var targets []string
	by := "" // who invited or removed the targets
	switch op {
	case internode.MemberJoin:
		if actorIn {
			reply(committed, chat.ErrAlreadyMember)
			return
		}
		targets = []string{actor}
	case internode.MemberLeave:
		if !actorIn {
			reply(committed, chat.ErrNotInChannel)
			return
		}
		targets = []string{actor}
	case internode.MemberInvite:
		if !actorIn {
			reply(0, chat.ErrNotInChannel)
			return
		}
		if len(fresh) == 0 {
			reply(committed, chat.ErrAlreadyMember)
			return
		}
		targets, by = fresh, actor
	case internode.MemberKick:
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
		case len(fresh) == 1:
			reply(committed, chat.ErrNotInChannel)
			return
		}
		targets, by = users, actor
	default:
		reply(0, chat.ErrBadRequest)
		return
	}
	if archived {
		reply(0, chat.ErrArchived)
		return
	}
	leaving := op == internode.MemberLeave || op == internode.MemberKick
	entries, err := o.commitMembers(id, targets, by, leaving)
	if err != nil {
		reply(0, err)
		return
	}
	reply(entries[len(entries)-1].Seq, nil)
	if leaving || o.cfg.UserEvent == nil {
		return
	}
	// The joiners' sessions learn of the channel through their presence
	// nodes and start receiving it from their join entry.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := o.cfg.Store.Channel(ctx, id)
	if err != nil {
		o.log.Error("channel_joined: load channel", "channel", id, "err", err)
		return
	}
	n, err := o.cfg.Store.Members(ctx, id)
	if err != nil {
		o.log.Error("channel_joined: load members", "channel", id, "err", err)
		return
	}
	frame := rtm.ChannelJoined(ch, o.cfg.Team, len(n))
	for _, e := range entries {
		o.cfg.UserEvent(e.User, id, e.Seq-1, internode.ChannelJoined, frame)
	}
}

// commitMembers sequences a join (or leave) entry per user, by (who
// invited or removed them, "" for themselves), and returns them once
// committed.
func (o *Owner) commitMembers(id string, users []string, by string, leaving bool) ([]chat.Message, error) {
	kind := chat.KindJoin
	if leaving {
		kind = chat.KindLeave
	}
	type result struct {
		i   int
		m   chat.Message
		err error
	}
	results := make(chan result, len(users))
	o.cache.with(id, func(st *chanState, err error) {
		if err == nil && st.archived {
			err = chat.ErrArchived
		}
		if err != nil {
			for i := range users {
				results <- result{i, chat.Message{}, err}
			}
			return
		}
		typ := rtm.ChannelTypePublic
		if st.private {
			typ = rtm.ChannelTypePrivate
		}
		for i, u := range users {
			e := chat.Message{Channel: id, User: u, Text: "<@" + u + "> has joined the channel",
				More: &chat.More{Kind: kind, Subtype: chat.ChannelSubtypes[kind], Name: typ, Author: by}}
			j, found := st.findMember(u)
			switch {
			case leaving && found:
				st.members = slices.Delete(st.members, j, j+1)
			case !leaving && !found:
				st.members = slices.Insert(st.members, j, unique.Make(u))
			}
			if leaving {
				e.Text = "<@" + u + "> has left the channel"
			}
			st.sequence(&e)
			pm := &internode.PostedMember{User: u, Left: leaving, Event: rtm.MemberEvent(&e, o.cfg.Team)}
			if leaving {
				pm.Self = rtm.MemberLeft(&e)
			}
			o.commits.enqueue(pending{st: st, msg: e, event: rtm.AppendMessage(nil, &e, o.cfg.Team), member: pm,
				reply: func(m chat.Message, err error) { results <- result{i, m, err} }})
		}
	})
	out := make([]chat.Message, len(users))
	var first error
	for range users {
		r := <-results
		out[r.i] = r.m
		if r.err != nil && first == nil {
			first = r.err
		}
	}
	return out, first
}

func (o *Owner) committed(st *chanState) uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.committed
}
