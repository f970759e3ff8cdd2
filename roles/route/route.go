package route

import (
	"context"
	"errors"
	"time"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

// Reply codes (in a reply's Extra) after which a request may be sent
// again: it had no effect.
const (
	WrongOwner  = "wrong_owner"
	Conflict    = "conflict"
	Unavailable = "service_unavailable"
)

// ErrUnavailable: no owner answered before the context ended, or a
// request that is not idempotent lost its link after it was sent.
var ErrUnavailable = errors.New(Unavailable)

// Retryable reports whether a reply code means "send it again".
func Retryable(code string) bool {
	return code == WrongOwner || code == Conflict || code == Unavailable
}

// Caller routes requests by a ring. Safe for concurrent use.
type Caller struct {
	View func() *ring.View
	Pool *internode.Pool
}

// Owner returns the member owning key in role's ring.
func (c *Caller) Owner(role ring.Role, key string) (ring.Member, bool) {
	return c.View().Owner(role, key)
}

// Live returns an established link to key's owner, or nil (no dialing).
func (c *Caller) Live(role ring.Role, key string) *internode.Client {
	if m, ok := c.Owner(role, key); ok {
		return c.Pool.Live(m.Name, m.Internode)
	}
	return nil
}

// Call sends a fresh request from mk to key's owner until the reply is
// not retryable, and returns that reply (whose Extra may carry an error
// code for the caller to interpret). A request whose link fails after it
// was sent may have taken effect: it is sent again only when idempotent.
func (c *Caller) Call(ctx context.Context, role ring.Role, key string, idempotent bool, mk func() *internode.Frame) (*internode.Frame, error) {
	backoff := 10 * time.Millisecond
	for {
		v := c.View()
		if owner, ok := v.Owner(role, key); ok {
			if l, err := c.Pool.Get(ctx, owner.Name, owner.Internode); err == nil {
				f, err := l.Call(ctx, mk())
				switch {
				case err == nil && !Retryable(f.Extra):
					return f, nil
				case err == nil:
				case ctx.Err() != nil:
					return nil, ctx.Err()
				case !idempotent:
					return nil, ErrUnavailable
				}
			}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ErrUnavailable
		case <-v.Changed():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// Send sends a one-way frame to key's owner without waiting: at once on
// an established link, else from a goroutine that dials first (for up
// to timeout). It is dropped when no owner is known or reachable.
func (c *Caller) Send(role ring.Role, key string, f *internode.Frame, timeout time.Duration) {
	if l := c.Live(role, key); l != nil {
		l.Send(f)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if m, ok := c.Owner(role, key); ok {
			if l, err := c.Pool.Get(ctx, m.Name, m.Internode); err == nil {
				l.Send(f)
			}
		}
	}()
}
