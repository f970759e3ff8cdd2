package cluster

import "github.com/ringcast/ringcast/ring"

// AppHost is the node that serves an app's Socket Mode connections and
// delivers its events: the owner of the app's id in a ring of the
// members with the admin role. Every node computes the same from the
// same view, so all of an app's connections meet on one node, which
// hands each event to one of them.
func AppHost(v *ring.View, app string) (ring.Member, bool) {
	var names []string
	for _, m := range v.WithRole(ring.RoleAdmin) {
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		return ring.Member{}, false
	}
	m, ok := v.Members[ring.New(names, ring.DefaultVNodes).Owner(app)]
	return m, ok
}
