package presence

import (
	"context"
	"errors"
	"time"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/route"
	"github.com/ringcast/ringcast/transport/internode"
)

// Client asks users' presence nodes (for the admin and channel roles).
// Safe for concurrent use.
type Client struct {
	route.Caller
}

// NewClient routes with the given membership and link pool.
func NewClient(view func() *ring.View, pool *internode.Pool) *Client {
	return &Client{route.Caller{View: view, Pool: pool}}
}

// Info is what a presence node knows of one user.
type Info struct {
	Active      bool
	Connections int
	LastActive  int64 // unix seconds
	ManualAway  bool
}

// ErrInvalidPresence: a presence other than "away" or "auto".
var ErrInvalidPresence = errors.New("invalid_presence")

// Query returns user's presence.
func (c *Client) Query(ctx context.Context, user string) (Info, error) {
	f, err := c.Call(ctx, ring.RolePresence, user, true, func() *internode.Frame {
		return &internode.Frame{Kind: internode.KindPresence, Op: OpQuery, Users: []string{user}}
	})
	if err != nil {
		return Info{}, err
	}
	if f.Extra != "" && f.Extra != "away" {
		return Info{}, errors.New(f.Extra)
	}
	return Info{Active: len(f.Payload) == 1 && f.Payload[0] == Active, Connections: int(f.Seq),
		LastActive: f.TS, ManualAway: f.Extra == "away"}, nil
}

// SetAway tells user's presence node that the user set presence to
// "away" or "auto".
func (c *Client) SetAway(ctx context.Context, user, presence string) error {
	if presence != "away" && presence != "auto" {
		return ErrInvalidPresence
	}
	f, err := c.Call(ctx, ring.RolePresence, user, true, func() *internode.Frame {
		return &internode.Frame{Kind: internode.KindPresence, Op: OpSetAway, User: user, Extra: presence}
	})
	if err == nil && f.Extra != "" {
		err = errors.New(f.Extra)
	}
	return err
}

// UserEvent delivers a client frame to every session of user, through
// the user's presence node, in the background. name says what it is
// ("channel_joined" makes gateways also attach the sessions to channel
// from after seq).
func (c *Client) UserEvent(user, channel string, seq uint64, name string, payload []byte) {
	c.Send(ring.RolePresence, user, &internode.Frame{Kind: internode.KindPresence, Op: OpUserEvent, User: user,
		Channel: channel, Seq: seq, Text: name, Payload: payload}, 10*time.Second)
}
