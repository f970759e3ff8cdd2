package channel

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Errors of changes to messages (Slack's strings).
const (
	errMessageNotFound chat.Error = "message_not_found"
	errCantUpdate      chat.Error = "cant_update_message"
	errCantDelete      chat.Error = "cant_delete_message"
	errAlreadyReacted  chat.Error = "already_reacted"
	errNoReaction      chat.Error = "no_reaction"
	errTooManyReacts   chat.Error = "too_many_reactions"
	errTooManyEmoji    chat.Error = "too_many_emoji"
)

// Slack's reaction limits: a message takes at most maxEmoji distinct
// reactions (too_many_emoji; it also keeps a state row bounded), and one
// person puts at most maxUserReactions on it (too_many_reactions).
const (
	maxEmoji         = 50
	maxUserReactions = 23
)

func (s server) Change(r internode.Request, m internode.Change) {
	answer := func(e chat.Message, err error) {
		internode.Answer(r, internode.ChangeReply{Err: errString(err), Seq: e.Seq, TS: e.TS})
	}
	if !s.o.life.Go(func(context.Context) { s.o.Change(m, answer) }) {
		answer(chat.Message{}, chat.ErrUnavailable)
	}
}

// Change checks an edit, a delete or a reaction against the message's
// current state and commits it as the channel's next entry, then replies
// with the entry. It blocks on the store; Server runs it on a goroutine
// of the owner.
//
// Changes of one channel are serialised (the channel's stripe of
// memberMus, held until the entry is committed), so each is checked
// against the state every earlier change left: two reactions.add of one
// emoji by one user are one reaction and one already_reacted. Posts do
// not wait for it; a thread reply changes only its parent's reply count,
// which no check reads.
func (o *Owner) Change(c cluster.Change, reply func(chat.Message, error)) {
	switch {
	case c.Channel == "" || c.User == "" || (c.Target <= 0 && !c.Op.ChannelKind()):
		reply(chat.Message{}, chat.ErrBadRequest)
		return
	case c.Op < chat.KindEdit || c.Op > chat.KindUnarchive:
		reply(chat.Message{}, chat.ErrBadRequest)
		return
	case !o.cache.owns(c.Channel):
		reply(chat.Message{}, chat.ErrWrongOwner)
		return
	}
	st, err := o.acquire(c.Channel)
	if err != nil {
		reply(chat.Message{}, err)
		return
	}
	mu := &o.memberMus[xxhash.Sum64String(c.Channel)%uint64(len(o.memberMus))]
	mu.Lock()
	defer mu.Unlock()
	st.mu.Lock()
	stale, member, visible, archived := st.dropped, st.isMember(c.User), false, st.archived
	visible = st.visibleTo(member)
	st.mu.Unlock()
	switch {
	case stale:
		reply(chat.Message{}, chat.ErrConflict)
		return
	case !visible:
		reply(chat.Message{}, chat.ErrChannelNotFound)
		return
	case archived && c.Op != chat.KindUnarchive && c.Op != chat.KindArchive: // those two say already_archived, not_archived
		reply(chat.Message{}, chat.ErrArchived)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var e chat.Message
	if c.Op.ChannelKind() {
		e, err = o.checkChannel(ctx, c, member, archived)
	} else {
		e, err = o.check(ctx, c, member)
	}
	if err != nil {
		reply(chat.Message{}, err)
		return
	}
	done := make(chan struct{})
	o.cache.with(c.Channel, func(st *chanState, err error) {
		if err == nil && st.archived && c.Op != chat.KindUnarchive && c.Op != chat.KindArchive {
			err = chat.ErrArchived
		}
		if err != nil {
			reply(chat.Message{}, err)
			close(done)
			return
		}
		switch c.Op {
		case chat.KindArchive:
			st.archived = true // posts are refused from the next one on
		case chat.KindUnarchive:
			st.archived = false
		}
		st.sequence(&e)
		o.commits.enqueue(pending{st: st, msg: e, event: rtm.AppendMessage(nil, &e, o.cfg.Team),
			reply: func(m chat.Message, err error) {
				reply(m, err)
				close(done)
			}})
	})
	<-done
}

// check reads the message c changes and returns c's entry (without seq
// and ts), or the error that refuses c.
func (o *Owner) check(ctx context.Context, c cluster.Change, member bool) (chat.Message, error) {
	target, err := o.cfg.Store.MessageAt(ctx, c.Channel, c.Target)
	if errors.Is(err, store.ErrNotFound) {
		return chat.Message{}, errMessageNotFound
	}
	if err != nil {
		o.log.Error("change: read the message", "channel", c.Channel, "err", err)
		return chat.Message{}, chat.ErrUnavailable
	}
	tomb := target.Subtype() == chat.SubtypeTombstone
	var reactions []chat.Reaction
	if target.More != nil {
		reactions = target.More.Reactions
	}
	i := slices.IndexFunc(reactions, func(r chat.Reaction) bool { return r.Name == c.Name })
	switch c.Op {
	case chat.KindEdit:
		if tomb || target.User != c.User {
			return chat.Message{}, errCantUpdate
		}
	case chat.KindDelete:
		if tomb {
			return chat.Message{}, errMessageNotFound
		}
		if target.User != c.User {
			ch, err := o.cfg.Store.Channel(ctx, c.Channel)
			if err != nil {
				return chat.Message{}, chat.ErrUnavailable
			}
			if ch.Creator != c.User {
				return chat.Message{}, errCantDelete
			}
		}
	case chat.KindReactionAdd:
		switch {
		case !member:
			return chat.Message{}, chat.ErrNotInChannel
		case tomb:
			return chat.Message{}, errMessageNotFound
		case i >= 0 && slices.Contains(reactions[i].Users, c.User):
			return chat.Message{}, errAlreadyReacted
		case i < 0 && len(reactions) >= maxEmoji:
			return chat.Message{}, errTooManyEmoji
		case reactedBy(reactions, c.User) >= maxUserReactions:
			return chat.Message{}, errTooManyReacts
		}
	case chat.KindReactionRemove:
		if i < 0 || !slices.Contains(reactions[i].Users, c.User) {
			return chat.Message{}, errNoReaction
		}
	}
	e := chat.Message{Channel: c.Channel, User: c.User, ThreadTS: target.ThreadTS,
		More: &chat.More{Kind: c.Op, Target: c.Target, Author: target.User}}
	switch c.Op {
	case chat.KindEdit:
		e.Text, e.More.Blocks, e.More.Attachments, e.More.PrevText = c.Text, c.Blocks, c.Attachments, target.Text
	case chat.KindDelete:
		e.More.PrevText = target.Text
	default:
		e.More.Name = c.Name
	}
	if !target.IsReply() {
		e.ThreadTS = 0 // a parent's own thread_ts says nothing of where the change belongs
	}
	return e, nil
}

// reactedBy is how many of a message's reactions are user's.
func reactedBy(reactions []chat.Reaction, user string) int {
	n := 0
	for _, r := range reactions {
		if slices.Contains(r.Users, user) {
			n++
		}
	}
	return n
}

// Errors of channel changes (Slack's strings).
const (
	errNameTaken       chat.Error = "name_taken"
	errAlreadyArchived chat.Error = "already_archived"
	errNotArchived     chat.Error = "not_archived"
)

// checkChannel checks a change to the channel (topic, purpose, name,
// archive) by a caller who is a member, and returns its entry: a message
// with the change's subtype, shown in history as Slack shows it.
func (o *Owner) checkChannel(ctx context.Context, c cluster.Change, member, archived bool) (chat.Message, error) {
	switch {
	case !member:
		return chat.Message{}, chat.ErrNotInChannel
	case c.Op == chat.KindArchive && archived:
		return chat.Message{}, errAlreadyArchived
	case c.Op == chat.KindUnarchive && !archived:
		return chat.Message{}, errNotArchived
	case c.Op == chat.KindRename:
		other, err := o.cfg.Store.ChannelByName(ctx, c.Name)
		switch {
		case err == nil && other.ID != c.Channel:
			return chat.Message{}, errNameTaken
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return chat.Message{}, chat.ErrUnavailable
		}
	}
	text := "<@" + c.User + "> "
	switch c.Op {
	case chat.KindTopic:
		text += "set the channel topic: " + c.Name
	case chat.KindPurpose:
		text += "set the channel purpose: " + c.Name
	case chat.KindRename:
		text += "renamed the channel to \"" + c.Name + "\""
	case chat.KindArchive:
		text += "archived the channel"
	case chat.KindUnarchive:
		text += "un-archived the channel"
	}
	return chat.Message{Channel: c.Channel, User: c.User, Text: text,
		More: &chat.More{Kind: c.Op, Subtype: chat.ChannelSubtypes[c.Op], Name: c.Name}}, nil
}
