package node

import (
	"github.com/ringcast/ringcast/roles/channel"
	"github.com/ringcast/ringcast/transport/internode"
)

// dispatch is the internode server's handler: presence frames to the
// presence role, the rest to the channel role; a refuser stands in for a
// role the node does not run.
type dispatch struct {
	channel, presence internode.Handler
}

func (d *dispatch) HandleFrame(l *internode.Link, f *internode.Frame) {
	if f.Kind == internode.KindPresence {
		d.presence.HandleFrame(l, f)
		return
	}
	d.channel.HandleFrame(l, f)
}

func (d *dispatch) LinkClosed(l *internode.Link) {
	d.channel.LinkClosed(l)
	d.presence.LinkClosed(l)
}

// refuser answers requests on a node that owns nothing: the caller's
// ring is stale and it should retry at the owner it will soon see.
type refuser struct{}

func (refuser) HandleFrame(l *internode.Link, f *internode.Frame) {
	if f.ReqID != 0 {
		l.Send(&internode.Frame{Kind: internode.KindReply, ReqID: f.ReqID, Extra: string(channel.ErrWrongOwner)})
	}
}

func (refuser) LinkClosed(*internode.Link) {}
