package node

import (
	"slices"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/channel"
	"github.com/ringcast/ringcast/transport/internode"
)

func sortedNames(v *ring.View) []string {
	var out []string
	for name := range v.Members {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// dispatch is the internode server's handler: the channel role when the
// node runs it, else a refuser.
type dispatch struct{ internode.Handler }

// refuser answers requests on a node that owns nothing: the caller's
// ring is stale and it should retry at the owner it will soon see.
type refuser struct{}

func (refuser) HandleFrame(l *internode.Link, f *internode.Frame) {
	if f.ReqID != 0 {
		l.Send(&internode.Frame{Kind: internode.KindReply, ReqID: f.ReqID, Extra: string(channel.ErrWrongOwner)})
	}
}

func (refuser) LinkClosed(*internode.Link) {}
