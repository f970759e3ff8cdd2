package cluster

import (
	"context"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

// PresenceName is Slack's name of a presence: "active" or "away".
func PresenceName(active bool) string {
	if active {
		return "active"
	}
	return "away"
}

// Presence asks users' presence nodes (for the admin, gateway and
// channel roles). Safe for concurrent use.
type Presence struct {
	caller *Caller
}

// NewPresence routes through caller.
func NewPresence(caller *Caller) *Presence { return &Presence{caller: caller} }

// Info is what a presence node knows of one user.
type Info struct {
	Active      bool
	Connections int
	LastActive  int64 // unix seconds
	ManualAway  bool
}

// Query returns user's presence.
func (p *Presence) Query(ctx context.Context, user string) (Info, error) {
	f, err := call(ctx, p.caller, ring.RolePresence, user, true, internode.Query{Users: []string{user}})
	if err != nil {
		return Info{}, err
	}
	var r internode.QueryReply
	if err := r.Decode(f.Body); err != nil {
		return Info{}, chat.ErrInternal
	}
	if err := chat.ErrorOf(r.Err); err != nil {
		return Info{}, err
	}
	return Info{Active: len(r.Active) == 1 && r.Active[0], Connections: int(r.Connections),
		LastActive: r.LastActive, ManualAway: r.ManualAway}, nil
}

// SetAway tells user's presence node that the user set presence to away
// (or back to auto).
func (p *Presence) SetAway(ctx context.Context, user string, away bool) error {
	f, err := call(ctx, p.caller, ring.RolePresence, user, true, internode.SetAway{User: user, Away: away})
	if err != nil {
		return err
	}
	return chat.ErrorOf(internode.ReplyError(f.Body))
}

// UserEvent delivers an RTM event to every session of user, through the
// user's presence node, in the background. name is the event's type;
// for internode.ChannelJoined the gateways also attach the sessions to
// channel from after seq.
func (p *Presence) UserEvent(user, channel string, seq uint64, name string, payload []byte) {
	send(p.caller, ring.RolePresence, user, internode.UserEvent{User: user, Channel: channel, Seq: seq,
		Name: name, Payload: payload}, 10*time.Second)
}
