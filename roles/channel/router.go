package channel

import (
	"context"
	"errors"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/route"
	"github.com/ringcast/ringcast/transport/internode"
)

// Router sends channel requests to whichever node owns the channel, and
// retries those that failed without effect (wrong owner during churn, a
// fenced write, an owner that cannot be reached) until the context ends.
// Safe for concurrent use.
type Router struct {
	route.Caller
	self  string
	local *Owner // this node's channel role, if it runs one
}

// NewRouter routes with the given membership and link pool. When local
// is set (the node runs the channel role, under the name self), requests
// for channels this node owns skip the network.
func NewRouter(view func() *ring.View, pool *internode.Pool, self string, local *Owner) *Router {
	return &Router{Caller: route.Caller{View: view, Pool: pool}, self: self, local: local}
}

// owner returns the local Owner when this node owns channel.
func (r *Router) owner(channel string) *Owner {
	if r.local != nil && r.View().Ring(ring.RoleChannel).Owner(channel) == r.self {
		return r.local
	}
	return nil
}

// call routes a channel request; a reply's error code becomes an error.
func (r *Router) call(ctx context.Context, channel string, idempotent bool, mk func() *internode.Frame) (*internode.Frame, error) {
	f, err := r.Call(ctx, ring.RoleChannel, channel, idempotent, mk)
	if err != nil {
		if errors.Is(err, route.ErrUnavailable) {
			return nil, ErrUnavailable
		}
		return nil, err
	}
	return f, errorOf(f.Extra)
}

// Publish sends p to the channel's owner and returns the committed
// message.
func (r *Router) Publish(ctx context.Context, p Post) (chat.Message, error) {
	// A local Owner validates p itself; for the network, validate here so
	// that a bad post costs no round trip.
	if o := r.owner(p.Channel); o != nil {
		type result struct {
			m   chat.Message
			err error
		}
		done := make(chan result, 1)
		o.Publish(p, func(m chat.Message, err error) { done <- result{m, err} })
		select {
		case res := <-done:
			if !route.Retryable(string(errCode(res.err))) {
				return res.m, res.err
			}
		case <-ctx.Done():
			return chat.Message{}, ErrUnavailable
		}
		// Retryable (the ring moved, a fence): take the general path.
	} else if err := p.Check(); err != nil {
		return chat.Message{}, err
	}
	f, err := r.call(ctx, p.Channel, p.ClientMsgID != "", func() *internode.Frame {
		return &internode.Frame{Kind: internode.KindPublish, Channel: p.Channel, User: p.User,
			Text: p.Text, TS: int64(p.ThreadTS), Extra: p.ClientMsgID}
	})
	if err != nil {
		return chat.Message{}, err
	}
	return chat.Message{Channel: p.Channel, Seq: f.Seq, TS: chat.TS(f.TS), User: p.User,
		Text: p.Text, ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID}, nil
}

// Member applies a membership operation at the channel's owner and
// returns the channel's last committed seq at the time of the change.
// The error may be ErrAlreadyMember or ErrNotInChannel with a valid seq.
func (r *Router) Member(ctx context.Context, op byte, channel, actor string, users []string) (uint64, error) {
	// Membership changes are idempotent, so a request whose link failed
	// is sent again.
	f, err := r.call(ctx, channel, true, func() *internode.Frame {
		return &internode.Frame{Kind: internode.KindMember, Op: op, Channel: channel, User: actor, Users: users}
	})
	if f != nil {
		return f.Seq, err
	}
	return 0, err
}

// PublishTimeout bounds an asynchronous publish, retries included.
const PublishTimeout = 10 * time.Second

// Go publishes p without blocking and calls cb with the result. When a
// link to the owner is up the request is written at once, so the posts
// one caller makes in a row reach the owner in that order; otherwise (and
// for retries) a goroutine does the blocking work. cb may run on a link's
// reader goroutine and must not block.
func (r *Router) Go(p Post, cb func(chat.Message, error)) {
	if o := r.owner(p.Channel); o != nil { // it validates p itself
		o.Publish(p, func(m chat.Message, err error) {
			if route.Retryable(string(errCode(err))) {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), PublishTimeout)
					defer cancel()
					cb(r.Publish(ctx, p))
				}()
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
	slow := func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), PublishTimeout)
			defer cancel()
			cb(r.Publish(ctx, p))
		}()
	}
	c := r.Live(ring.RoleChannel, p.Channel)
	if c == nil {
		slow()
		return
	}
	c.Go(&internode.Frame{Kind: internode.KindPublish, Channel: p.Channel, User: p.User,
		Text: p.Text, TS: int64(p.ThreadTS), Extra: p.ClientMsgID},
		func(f *internode.Frame, err error) {
			switch {
			case err != nil && p.ClientMsgID != "":
				slow() // the owner deduplicates the retry
			case err != nil:
				cb(chat.Message{}, ErrUnavailable) // may have been written: not retried
			case route.Retryable(f.Extra):
				slow()
			case f.Extra != "":
				cb(chat.Message{}, errorOf(f.Extra))
			default:
				cb(chat.Message{Channel: p.Channel, Seq: f.Seq, TS: chat.TS(f.TS), User: p.User,
					Text: p.Text, ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID}, nil)
			}
		})
}

// Typing passes a user's typing on to the channel's owner without
// waiting (typing is ephemeral: it is dropped if the owner cannot be
// reached).
func (r *Router) Typing(channel, user string) {
	if o := r.owner(channel); o != nil {
		o.Typing(channel, user)
		return
	}
	r.Send(ring.RoleChannel, channel, &internode.Frame{Kind: internode.KindTyping, Channel: channel, User: user}, 3*time.Second)
}

// errCode is err's Slack string, or "" for nil and for errors that are
// not channel errors.
func errCode(err error) Error {
	if err == nil {
		return "" // without the allocation errors.As's target costs
	}
	var e Error
	if errors.As(err, &e) {
		return e
	}
	return ""
}
