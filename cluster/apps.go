package cluster

import "github.com/ringcast/ringcast/ring"

// AppHosts places apps on nodes: an app's host serves its Socket Mode
// connections and delivers its events. It is the owner of the app's id
// in a ring of the members with the admin role, built from one view:
// every node computes the same from the same view, so all of an app's
// connections meet on one node, which hands each event to one of them.
type AppHosts struct {
	v *ring.View
	r *ring.Ring
}

// NewAppHosts builds the placement of view v (a ring: build it once per
// view, not per app).
func NewAppHosts(v *ring.View) AppHosts {
	var names []string
	for _, m := range v.WithRole(ring.RoleAdmin) {
		names = append(names, m.Name)
	}
	return AppHosts{v: v, r: ring.New(names, ring.DefaultVNodes)}
}

// View is the view the placement was built from.
func (h AppHosts) View() *ring.View { return h.v }

// Host returns the node that hosts app; false when no node has the
// admin role.
func (h AppHosts) Host(app string) (ring.Member, bool) {
	m, ok := h.v.Members[h.r.Owner(app)]
	return m, ok
}
