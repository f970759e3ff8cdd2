package internode

import (
	"fmt"
	"log/slog"
)

// Request is a request to answer: the link it came on and its id.
type Request struct {
	Link *Link
	ID   uint64
}

// Answer sends m, the request's reply type, to the requester.
func Answer[M Message](r Request, m M) error { return send(r.Link, r.ID, m) }

// ChannelServer serves the channel role's requests (roles/channel). Its
// methods run on the link's reader goroutine and must not block: they
// answer later with Answer.
type ChannelServer interface {
	Subscribe(r Request, m Subscribe)
	Unsubscribe(l *Link, m Unsubscribe)
	Publish(r Request, m Publish)
	Member(r Request, m Member)
	Change(r Request, m Change)
	Typing(m Typing)
	LinkClosed(l *Link)
}

// PresenceServer serves the presence role's requests (roles/presence),
// under the same rules.
type PresenceServer interface {
	Report(l *Link, m Report)
	Watch(r Request, m Watch)
	Unwatch(l *Link, m Unwatch)
	Query(r Request, m Query)
	SetAway(r Request, m SetAway)
	UserEvent(l *Link, m UserEvent)
	Lease(l *Link)
	Synced(l *Link, m Synced)
	LinkClosed(l *Link)
}

// wrongOwner is the error a node that does not run the role answers: the
// caller's ring is stale and it retries at the owner it will soon see.
const wrongOwner = "wrong_owner"

// badRequest answers a request that does not decode.
const badRequest = "invalid_arguments"

// Dispatcher is a node's Handler: it decodes each request and hands it
// to the typed method of the role that serves it. A role the node does
// not run (nil) answers every request wrong_owner. The roles may be set
// until the server starts serving.
type Dispatcher struct {
	Channel  ChannelServer
	Presence PresenceServer
	Log      *slog.Logger
}

var _ Handler = (*Dispatcher)(nil)

// HandleFrame decodes f and calls the method that serves it.
func (d *Dispatcher) HandleFrame(l *Link, f Frame) {
	r := Request{l, f.ReqID}
	switch f.Kind {
	case KindSubscribe, KindUnsubscribe, KindPublish, KindMember, KindChange, KindTyping:
		if d.Channel == nil {
			d.refuse(r, f.Kind, wrongOwner)
			return
		}
	case KindReport, KindWatch, KindUnwatch, KindQuery, KindSetAway, KindUserEvent, KindLease, KindSynced:
		if d.Presence == nil {
			d.refuse(r, f.Kind, wrongOwner)
			return
		}
	default:
		d.Log.Warn("internode: unexpected message", "peer", l.Peer(), "kind", f.Kind)
		d.refuse(r, f.Kind, badRequest)
		return
	}
	if err := d.dispatch(r, f); err != nil {
		d.Log.Warn("internode: bad message", "peer", l.Peer(), "err", err)
		d.refuse(r, f.Kind, badRequest)
	}
}

// dispatch decodes f, whose role runs here, and serves it. Each case
// decodes into a local of its concrete type, so that the message stays
// on the stack (a generic decoder moved it to the heap: an allocation
// per message).
func (d *Dispatcher) dispatch(r Request, f Frame) error {
	l, ch, pr := r.Link, d.Channel, d.Presence
	switch f.Kind {
	case KindSubscribe:
		var m Subscribe
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		ch.Subscribe(r, m)
	case KindUnsubscribe:
		var m Unsubscribe
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		ch.Unsubscribe(l, m)
	case KindPublish:
		var m Publish
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		ch.Publish(r, m)
	case KindMember:
		var m Member
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		ch.Member(r, m)
	case KindChange:
		var m Change
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		ch.Change(r, m)
	case KindTyping:
		var m Typing
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		ch.Typing(m)
	case KindReport:
		var m Report
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.Report(l, m)
	case KindWatch:
		var m Watch
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.Watch(r, m)
	case KindUnwatch:
		var m Unwatch
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.Unwatch(l, m)
	case KindQuery:
		var m Query
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.Query(r, m)
	case KindSetAway:
		var m SetAway
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.SetAway(r, m)
	case KindUserEvent:
		var m UserEvent
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.UserEvent(l, m)
	case KindLease:
		var m Lease
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.Lease(l)
	case KindSynced:
		var m Synced
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		pr.Synced(l, m)
	}
	return nil
}

// refuse answers a request (not a one-way message) with an error in the
// request's reply type.
func (d *Dispatcher) refuse(r Request, k Kind, code string) {
	if r.ID == 0 {
		return
	}
	switch k {
	case KindSubscribe:
		Answer(r, SubscribeReply{Err: code})
	case KindPublish:
		Answer(r, PublishReply{Err: code})
	case KindMember:
		Answer(r, MemberReply{Err: code})
	case KindWatch:
		Answer(r, WatchReply{Err: code})
	case KindQuery:
		Answer(r, QueryReply{Err: code})
	default: // a kind without a reply type of its own: SetAwayReply is the error alone
		Answer(r, SetAwayReply{Err: code})
	}
}

// LinkClosed tells every role the link ended.
func (d *Dispatcher) LinkClosed(l *Link) {
	if d.Channel != nil {
		d.Channel.LinkClosed(l)
	}
	if d.Presence != nil {
		d.Presence.LinkClosed(l)
	}
}

// EventReceiver receives what channel owners and presence nodes push to
// a gateway, with the link it came on. Its methods run on that link's
// reader goroutine, in arrival order, and must not block.
type EventReceiver interface {
	Posted(c *Client, m Posted)
	PostedMember(c *Client, m PostedMember)
	Resubscribe(c *Client, m Resubscribe)
	ChannelEvent(c *Client, m ChannelEvent)
	PresenceChange(c *Client, m PresenceChange)
	UserNotice(c *Client, m UserNotice)
	AwayChange(c *Client, m AwayChange)
	Resync(c *Client)
}

// EventHandler returns the events function of a Pool or Dial that
// decodes each event for r; an event that does not decode is logged and
// dropped.
func EventHandler(r EventReceiver, log *slog.Logger) func(*Client, Frame) {
	return func(c *Client, f Frame) {
		if err := dispatchEvent(r, c, f); err != nil {
			log.Warn("internode: bad event", "peer", c.Peer(), "err", err)
		}
	}
}

// dispatchEvent decodes event f (as dispatch does requests) and hands it
// to r.
func dispatchEvent(r EventReceiver, c *Client, f Frame) error {
	switch f.Kind {
	case KindPosted:
		var m Posted
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.Posted(c, m)
	case KindPostedAt:
		var m PostedAt
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.Posted(c, Posted(m))
	case KindPostedMember:
		var m PostedMember
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.PostedMember(c, m)
	case KindResubscribe:
		var m Resubscribe
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.Resubscribe(c, m)
	case KindChannelEvent:
		var m ChannelEvent
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.ChannelEvent(c, m)
	case KindPresenceChange:
		var m PresenceChange
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.PresenceChange(c, m)
	case KindUserNotice:
		var m UserNotice
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.UserNotice(c, m)
	case KindAwayChange:
		var m AwayChange
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.AwayChange(c, m)
	case KindResync:
		var m Resync
		if err := m.Decode(f.Body); err != nil {
			return err
		}
		r.Resync(c)
	default:
		return fmt.Errorf("internode: unexpected event %v", f.Kind)
	}
	return nil
}
