package cluster

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// TypingEvery is the most often one user's typing in one channel is
// passed on (Slack's rule); the gateway and the owner both keep to it.
const TypingEvery = 3 * time.Second

// PublishTimeout bounds an asynchronous publish, retries included.
const PublishTimeout = 10 * time.Second

// Post is a message to publish.
type Post struct {
	Channel     string
	User        string
	Text        string
	ThreadTS    chat.TS
	ClientMsgID string
	// More is a broadcast reply's subtype, blocks and attachments, and a
	// reply's parent's author (Author: its parent_user_id) (nil for a
	// plain message): only Subtype, Blocks, Attachments and Author are
	// taken.
	More *chat.More
}

// Change is an edit, a delete or a reaction of the message at Target.
type Change = internode.Change

// Check validates a post's own fields, as the owner does before
// anything else. A value receiver: with a pointer one, p is
// address-taken in Owner.Publish and Channels.Go, and each moves it to
// the heap instead of copying it into its closure (an allocation per
// message each).
func (p Post) Check() error {
	switch {
	case p.Channel == "" || p.User == "":
		return chat.ErrBadRequest
	case p.Text == "" && (p.More == nil || p.More.Blocks == "" && p.More.Attachments == ""):
		return chat.ErrNoText
	case utf8.RuneCountInString(p.Text) > rtm.MaxText:
		return chat.ErrMsgTooLong
	case len(p.ClientMsgID) > MaxClientMsgID:
		return chat.ErrBadRequest
	case p.More != nil && (len(p.More.Blocks) > MaxRich || len(p.More.Attachments) > MaxRich):
		return chat.ErrBadRequest
	}
	return nil
}

// MaxRich bounds a message's blocks, and its attachments, in bytes of
// JSON: each is stored with its message and returned in every history
// page (Slack's own cap is 50 blocks).
const MaxRich = 16 << 10

// MaxClientMsgID bounds a client_msg_id, in bytes (a UUID is 36): it is
// stored with its message and returned with it in every history page.
const MaxClientMsgID = 64

// Local is this node's channel role, when it runs one: requests for the
// channels it owns skip the network.
type Local interface {
	// Publish sequences p and calls reply once it is committed (or
	// failed); reply must not block.
	Publish(p Post, reply func(chat.Message, error))
	// Typing passes a user's typing on to the channel's subscribers.
	Typing(channel, user string)
}

// Channels sends channel requests to whichever node owns the channel,
// and retries those that failed without effect (wrong owner during
// churn, a fenced write, an owner that cannot be reached) until the
// context ends. Safe for concurrent use.
type Channels struct {
	caller *Caller
	self   string
	local  Local // nil when the node runs no channel role
}

// NewChannels routes through caller. When local is not nil (the node
// runs the channel role, under the name self), requests for channels
// this node owns skip the network.
func NewChannels(caller *Caller, self string, local Local) *Channels {
	return &Channels{caller: caller, self: self, local: local}
}

// localOwner returns the local role when this node owns channel.
func (c *Channels) localOwner(channel string) Local {
	if c.local != nil && c.caller.view().Ring(ring.RoleChannel).Owner(channel) == c.self {
		return c.local
	}
	return nil
}

// posted is the committed message of p.
func posted(p Post, seq uint64, ts chat.TS) chat.Message {
	return chat.Message{Channel: p.Channel, Seq: seq, TS: ts, User: p.User,
		Text: p.Text, ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID, More: p.More}
}

func publishOf(p Post) internode.Publish {
	m := internode.Publish{Channel: p.Channel, User: p.User, Text: p.Text, ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID}
	if p.More != nil {
		m.More, _ = json.Marshal(p.More) // plain values: cannot fail
	}
	return m
}

// PostOf is the Post a Publish carries.
func PostOf(m internode.Publish) (Post, error) {
	p := Post{Channel: m.Channel, User: m.User, Text: m.Text, ThreadTS: m.ThreadTS, ClientMsgID: m.ClientMsgID}
	if len(m.More) > 0 {
		p.More = new(chat.More)
		if err := json.Unmarshal(m.More, p.More); err != nil {
			return p, chat.ErrBadRequest
		}
	}
	return p, nil
}

// Change sends an edit, a delete or a reaction to the channel's owner,
// which checks it against the message's current state, and returns its
// committed entry's seq and ts. It is not resent after a link failure
// (a reaction twice is already_reacted).
func (c *Channels) Change(ctx context.Context, m Change) (seq uint64, ts chat.TS, err error) {
	f, err := call(ctx, c.caller, ring.RoleChannel, m.Channel, false, m)
	if err != nil {
		return 0, 0, err
	}
	var r internode.ChangeReply
	if err := r.Decode(f.Body); err != nil {
		return 0, 0, chat.ErrInternal
	}
	return r.Seq, r.TS, chat.ErrorOf(r.Err)
}

// Publish sends p to the channel's owner and returns the committed
// message.
func (c *Channels) Publish(ctx context.Context, p Post) (chat.Message, error) {
	// A local owner validates p itself; for the network, validate here
	// so that a bad post costs no round trip.
	if o := c.localOwner(p.Channel); o != nil {
		type result struct {
			m   chat.Message
			err error
		}
		done := make(chan result, 1)
		o.Publish(p, func(m chat.Message, err error) { done <- result{m, err} })
		select {
		case res := <-done:
			if !retryable(res.err) {
				return res.m, res.err
			}
		case <-ctx.Done():
			return chat.Message{}, chat.ErrUnavailable
		}
		// Retryable (the ring moved, a fence): take the general path.
	} else if err := p.Check(); err != nil {
		return chat.Message{}, err
	}
	f, err := call(ctx, c.caller, ring.RoleChannel, p.Channel, p.ClientMsgID != "", publishOf(p))
	if err != nil {
		return chat.Message{}, err
	}
	var r internode.PublishReply
	if err := r.Decode(f.Body); err != nil {
		return chat.Message{}, chat.ErrInternal
	}
	if err := chat.ErrorOf(r.Err); err != nil {
		return chat.Message{}, err
	}
	return posted(p, r.Seq, r.TS), nil
}

// Go publishes p without blocking and calls cb with the result. When a
// link to the owner is up the request is written at once, so the posts
// one caller makes in a row reach the owner in that order; otherwise
// (and for retries) a goroutine of the Caller does the blocking work. cb
// may run on a link's reader goroutine and must not block.
func (c *Channels) Go(p Post, cb func(chat.Message, error)) {
	slow := func() {
		if !c.caller.life.Go(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, PublishTimeout)
			defer cancel()
			cb(c.Publish(ctx, p))
		}) {
			cb(chat.Message{}, chat.ErrUnavailable)
		}
	}
	if o := c.localOwner(p.Channel); o != nil { // it validates p itself
		o.Publish(p, func(m chat.Message, err error) {
			if retryable(err) {
				slow()
				return
			}
			cb(m, err)
		})
		return
	}
	if err := p.Check(); err != nil {
		cb(chat.Message{}, err)
		return
	}
	l := c.caller.live(ring.RoleChannel, p.Channel)
	if l == nil {
		slow()
		return
	}
	internode.Go(l, publishOf(p), func(f internode.Frame, err error) {
		var r internode.PublishReply
		if err == nil {
			err = r.Decode(f.Body)
		}
		switch {
		case err != nil && p.ClientMsgID != "":
			slow() // the owner deduplicates the retry
		case err != nil:
			cb(chat.Message{}, chat.ErrUnavailable) // may have been written: not retried
		case Retryable(r.Err):
			slow()
		case r.Err != "":
			cb(chat.Message{}, chat.Error(r.Err))
		default:
			cb(posted(p, r.Seq, r.TS), nil)
		}
	})
}

// member applies a membership operation at the channel's owner and
// returns the channel's last committed seq at the time of the change.
func (c *Channels) member(ctx context.Context, m internode.Member) (uint64, error) {
	// Membership changes are idempotent, so a request whose link failed
	// is sent again.
	f, err := call(ctx, c.caller, ring.RoleChannel, m.Channel, true, m)
	if err != nil {
		return 0, err
	}
	var r internode.MemberReply
	if err := r.Decode(f.Body); err != nil {
		return 0, chat.ErrInternal
	}
	return r.Seq, chat.ErrorOf(r.Err)
}

// Join adds user to channel. chat.ErrAlreadyMember says they were a
// member.
func (c *Channels) Join(ctx context.Context, channel, user string) error {
	_, err := c.member(ctx, internode.Member{Op: internode.MemberJoin, Channel: channel, Actor: user})
	return err
}

// Leave removes user from channel. chat.ErrNotInChannel says they were
// not a member.
func (c *Channels) Leave(ctx context.Context, channel, user string) error {
	_, err := c.member(ctx, internode.Member{Op: internode.MemberLeave, Channel: channel, Actor: user})
	return err
}

// Invite has actor, a member, add users to channel.
func (c *Channels) Invite(ctx context.Context, channel, actor string, users []string) error {
	_, err := c.member(ctx, internode.Member{Op: internode.MemberInvite, Channel: channel, Actor: actor, Users: users})
	return err
}

// Kick has actor, a member, remove user from channel.
func (c *Channels) Kick(ctx context.Context, channel, actor, user string) error {
	_, err := c.member(ctx, internode.Member{Op: internode.MemberKick, Channel: channel, Actor: actor, Users: []string{user}})
	return err
}

// Typing passes a user's typing on to the channel's owner without
// waiting (typing is ephemeral: it is dropped if the owner cannot be
// reached).
func (c *Channels) Typing(channel, user string) {
	if o := c.localOwner(channel); o != nil {
		o.Typing(channel, user)
		return
	}
	send(c.caller, ring.RoleChannel, channel, internode.Typing{Channel: channel, User: user}, 3*time.Second)
}
