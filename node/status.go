package node

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/channel"
)

// memberAsk bounds how long /status waits for a member's own report.
const memberAsk = 2 * time.Second

// askMembers fills in what each member reports of itself (its /status
// with local=1, the admin key they share): sessions, channels loaded,
// ready; a member that does not answer in time gets Error.
func (n *Node) askMembers(ctx context.Context, ms []MemberStatus) {
	ctx, cancel := context.WithTimeout(ctx, memberAsk)
	defer cancel()
	var wg sync.WaitGroup
	for i := range ms {
		wg.Go(func() {
			m := &ms[i]
			var st Status
			if err := n.peer(m.HTTP).Call(ctx, "/status?local=1", nil, &st); err != nil {
				m.Error = err.Error()
				return
			}
			m.Sessions, m.LoadedChannels, m.Ready = st.Sessions, st.Channels, st.Ready
		})
	}
	wg.Wait()
}

// peer is an operator client of the node serving HTTP at addr.
func (n *Node) peer(addr string) *client.API {
	return &client.API{Base: "http://" + addr, Token: n.adminKey, HTTP: &http.Client{Timeout: memberAsk}}
}

// ChannelStatus is what /status/channel reports: which node owns a
// channel, and what the owner knows of it (loaded, last seq, the
// gateways subscribed).
type ChannelStatus struct {
	OK      bool   `json:"ok"`
	Channel string `json:"channel"`
	Owner   string `json:"owner"`
	channel.ChannelStatus
}

// serveChannelStatus answers /status/channel?id=C123: the owner in this
// node's view, and the owner's own account of the channel (asked over
// HTTP when it is another node).
func (n *Node) serveChannelStatus(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, code string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
	}
	if id == "" {
		fail(http.StatusBadRequest, "invalid_arguments")
		return
	}
	owner, ok := n.members.View().Owner(ring.RoleChannel, id)
	if !ok {
		fail(http.StatusServiceUnavailable, "service_unavailable")
		return
	}
	st := ChannelStatus{OK: true, Channel: id, Owner: owner.Name}
	switch {
	case owner.Name == n.cfg.Name && n.owner != nil:
		st.ChannelStatus = n.owner.Status(id)
	case r.URL.Query().Get("local") != "":
		fail(http.StatusConflict, "wrong_owner") // the views disagree for a moment
		return
	default:
		var theirs ChannelStatus
		err := n.peer(owner.HTTP).Call(r.Context(), "/status/channel?local=1&id="+url.QueryEscape(id), nil, &theirs)
		if err != nil {
			n.log.Warn("status: ask a channel's owner", "owner", owner.Name, "channel", id, "err", err)
			fail(http.StatusBadGateway, "owner_unreachable")
			return
		}
		st.ChannelStatus = theirs.ChannelStatus
	}
	json.NewEncoder(w).Encode(st)
}
