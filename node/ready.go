package node

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/ringcast/ringcast/ring"
)

// Readiness is what /readyz reports: whether this node should be sent
// traffic, and each check that decided it ("ok" or why not).
type Readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// readyStoreTimeout bounds /readyz's store read.
const readyStoreTimeout = time.Second

// Readiness checks that the node runs, has joined, and that every role
// it runs has what it needs: the store answers a read, the channel and
// presence rings have owners (this node among the channel owners when it
// has the role), and a gateway is not draining. /healthz, by contrast,
// only says the process answers.
func (n *Node) Readiness() Readiness {
	r := Readiness{Ready: true, Checks: map[string]string{}}
	check := func(name string, ok bool, why string) {
		if ok {
			r.Checks[name] = "ok"
			return
		}
		r.Ready, r.Checks[name] = false, why
	}
	check("running", n.running.Load(), "starting or stopping")
	v := n.members.View()
	check("joined", len(n.cfg.Join) == 0 || len(v.Members) > 1, "no other member in view yet (--join)")
	ctx, cancel := context.WithTimeout(context.Background(), readyStoreTimeout)
	_, err := n.Store.Revocations(ctx, math.MaxInt64, 1)
	cancel()
	why := ""
	if err != nil {
		why = "store: " + err.Error()
	}
	check("store", err == nil, why)
	check("channel_ring", v.Ring(ring.RoleChannel).Len() > 0, "no member has the channel role")
	check("presence_ring", v.Ring(ring.RolePresence).Len() > 0, "no member has the presence role")
	if n.owner != nil {
		_, in := v.Members[n.cfg.Name]
		check("channel_owner", in && v.Members[n.cfg.Name].Has(ring.RoleChannel), "not in the channel ring")
	}
	if n.gateway != nil {
		check("gateway", !n.gateway.Draining(), "draining")
	}
	return r
}

// serveReady answers /readyz: 200 when ready, 503 when not, with the
// checks as JSON. It needs no key: it says no more than a load balancer
// must know.
func (n *Node) serveReady(w http.ResponseWriter, r *http.Request) {
	rd := n.Readiness()
	w.Header().Set("Content-Type", "application/json")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rd)
}
