package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

// Retryable reports whether a reply's error string means "send it
// again": the request had no effect.
func Retryable(code string) bool {
	switch chat.Error(code) {
	case chat.ErrWrongOwner, chat.ErrConflict, chat.ErrUnavailable:
		return true
	}
	return false
}

// retryable is Retryable for an error.
func retryable(err error) bool {
	var e chat.Error
	return err != nil && errors.As(err, &e) && Retryable(string(e))
}

// Caller sends requests to the owner of a key in a role's ring over a
// pool of links. Safe for concurrent use.
type Caller struct {
	view func() *ring.View
	pool *internode.Pool
	life *lifecycle.Group // background sends and retries
}

// NewCaller routes with the given membership and link pool.
func NewCaller(view func() *ring.View, pool *internode.Pool) *Caller {
	return &Caller{view: view, pool: pool, life: lifecycle.NewGroup()}
}

// Close stops the background sends and retries (their callers are told
// chat.ErrUnavailable) and waits for them. Safe to call twice.
func (c *Caller) Close() { c.life.Close() }

// owner returns the member owning key in role's ring.
func (c *Caller) owner(role ring.Role, key string) (ring.Member, bool) {
	return c.view().Owner(role, key)
}

// live returns an established link to key's owner, or nil (no dialing).
func (c *Caller) live(role ring.Role, key string) *internode.Client {
	if m, ok := c.owner(role, key); ok {
		return c.pool.Live(m.Name, m.Internode)
	}
	return nil
}

// call sends request m to key's owner until the reply is not retryable,
// and returns that reply (whose error string the caller interprets). A
// request whose link fails after it was sent may have taken effect: it
// is sent again only when idempotent. It gives up with
// chat.ErrUnavailable when ctx ends.
func call[M internode.Message](ctx context.Context, c *Caller, role ring.Role, key string, idempotent bool, m M) (internode.Frame, error) {
	backoff := 10 * time.Millisecond
	for {
		v := c.view()
		if owner, ok := v.Owner(role, key); ok {
			if l, err := c.pool.Get(ctx, owner.Name, owner.Internode); err == nil {
				f, err := internode.Call(ctx, l, m)
				switch {
				case err == nil && !Retryable(internode.ReplyError(f.Body)):
					return f, nil
				case err == nil:
				case ctx.Err() != nil:
					return internode.Frame{}, chat.ErrUnavailable
				case !idempotent:
					return internode.Frame{}, chat.ErrUnavailable
				}
			}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return internode.Frame{}, chat.ErrUnavailable
		case <-v.Changed():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// send sends a one-way message to key's owner without waiting: at once
// on an established link, else from a goroutine of the Caller that dials
// first (for up to timeout). It is dropped when no owner is known or
// reachable, or the Caller is closing.
func send[M internode.Message](c *Caller, role ring.Role, key string, m M, timeout time.Duration) {
	if l := c.live(role, key); l != nil {
		internode.Send(l.Link, m)
		return
	}
	c.life.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if o, ok := c.owner(role, key); ok {
			if l, err := c.pool.Get(ctx, o.Name, o.Internode); err == nil {
				internode.Send(l.Link, m)
			}
		}
	})
}
