package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// TestGossipMembersByState: /metrics counts the gossip members by state.
// In a 3-node cluster all are alive; a node whose gossip stops without a
// leave (a crash, as the others see it) is suspect on a node whose probe
// of it failed, then dead; a node that stops gracefully is left.
func TestGossipMembersByState(t *testing.T) {
	// A longer suspicion than the tests' usual (600 ms to 3.6 s), so
	// that a scrape sees it on a busy machine.
	g := nodetest.FastGossip()
	g.SuspicionMult = 6
	tune := func(cfg *config.Config) { cfg.Gossip = g }
	c := nodetest.Start(t,
		nodetest.Spec{Name: "g1", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}, Host: "127.0.51.1", Tune: tune},
		nodetest.Spec{Name: "g2", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.51.2", Tune: tune},
		nodetest.Spec{Name: "g3", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.51.3", Tune: tune},
	)
	g1, g2, g3 := c.Node("g1"), c.Node("g2"), c.Node("g3")
	state := func(m map[string]float64, s string) float64 { return m[`ringcast_gossip_members{state="`+s+`"}`] }
	// All alive (a probe that timed out while the nodes started, on a
	// busy machine, leaves a member suspect until it answers the next).
	nodetest.WaitFor(t, 10*time.Second, "g1 and g2 see 3 alive, none suspect, dead or left", func() bool {
		for _, n := range []*node.Node{g1, g2} {
			m := nodetest.Scrape(t, n)
			if state(m, "alive") != 3 || state(m, "suspect") != 0 || state(m, "dead") != 0 || state(m, "left") != 0 {
				return false
			}
		}
		return true
	})
	before := nodetest.Scrape(t, g1)

	// g3's gossip stops: no leave, no more acks.
	g3.Members().Close()
	t0 := time.Now()
	var suspectAt, deadAt time.Duration
	statusSuspect := false // ringcast status said so
	nodetest.WaitFor(t, 20*time.Second, "g3 suspect, then dead, on g1 and g2", func() bool {
		dead := 0
		for _, n := range []*node.Node{g1, g2} {
			m := nodetest.Scrape(t, n)
			if state(m, "suspect") == 1 && suspectAt == 0 {
				suspectAt = time.Since(t0)
			}
			if state(m, "suspect") == 1 && !statusSuspect {
				statusSuspect = memberState(t, n, "g3") == "suspect"
			}
			if state(m, "dead") == 1 && state(m, "alive") == 2 && state(m, "suspect") == 0 {
				dead++
			}
		}
		if dead == 2 && deadAt == 0 {
			deadAt = time.Since(t0)
		}
		return dead == 2
	})
	if suspectAt == 0 {
		t.Fatalf("g3 declared dead after %v without a scrape showing it suspect", deadAt)
	}
	if !statusSuspect {
		t.Errorf("/status never said g3 is suspect while /metrics did")
	}
	t.Logf("g3 suspect after %v, dead on both after %v", suspectAt.Round(time.Millisecond), deadAt.Round(time.Millisecond))
	after := nodetest.Scrape(t, g1)
	if d := after[`ringcast_gossip_departures_total{state="dead"}`] - before[`ringcast_gossip_departures_total{state="dead"}`]; d != 1 {
		t.Errorf("g1's departures_total{state=dead} moved by %v, want 1", d)
	}
	if after["ringcast_gossip_suspicions_total"]+nodetest.Scrape(t, g2)["ringcast_gossip_suspicions_total"] < 1 {
		t.Errorf("no suspicion counted on g1 or g2")
	}

	// g2 stops gracefully: left, not dead.
	c.Stop("g2")
	nodetest.WaitFor(t, 10*time.Second, "g2 left on g1", func() bool {
		m := nodetest.Scrape(t, g1)
		return state(m, "left") == 1 && state(m, "alive") == 1 && state(m, "dead") == 1
	})
	m := nodetest.Scrape(t, g1)
	if d := m[`ringcast_gossip_departures_total{state="left"}`] - before[`ringcast_gossip_departures_total{state="left"}`]; d != 1 {
		t.Errorf("g1's departures_total{state=left} moved by %v, want 1", d)
	}
	if d := m[`ringcast_gossip_departures_total{state="dead"}`] - after[`ringcast_gossip_departures_total{state="dead"}`]; d != 0 {
		t.Errorf("g2's graceful stop counted as dead (%v)", d)
	}
}

// memberState is member's state in n's /status ("" when absent).
func memberState(t *testing.T, n *node.Node, member string) string {
	t.Helper()
	api := &client.API{Base: "http://" + n.HTTPAddr(), Token: n.AdminKey()}
	var st node.Status
	if err := api.Call(context.Background(), "/status", nil, &st); err != nil {
		t.Fatalf("/status: %v", err)
	}
	for _, m := range st.Members {
		if m.Name == member {
			return m.State
		}
	}
	return ""
}
