package node_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// TestMetricsMove: /metrics needs the admin key, and its counters move
// by what a scripted exchange did: a session connects, five messages are
// posted through the Web API and delivered over RTM, one post fails, the
// session closes.
func TestMetricsMove(t *testing.T) {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}, Host: "127.0.50.1"},
		nodetest.Spec{Name: "gw", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.50.2"},
	)
	core, gw := c.Node("core"), c.Node("gw")

	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", "http://"+gw.HTTPAddr()+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/metrics with %q: %s, want 401", auth, res.Status)
		}
	}

	bob, _ := c.UserWith(url.Values{"name": {"bob"}, "limit_class": {"unlimited"}})
	alice, _ := c.User("alice")
	id := createChannel(t, bob, "metered")
	nodetest.Call(t, alice, "conversations.join", url.Values{"channel": {id}}, nil)

	g0, c0 := nodetest.Scrape(t, gw), nodetest.Scrape(t, core)
	r := nodetest.Connect(t, alice, gw.HTTPAddr(), nil)
	const posts = 5
	for i := range posts {
		nodetest.Call(t, bob, "chat.postMessage", url.Values{"channel": {id}, "text": {fmt.Sprint("m", i)}}, nil)
	}
	collect(t, r, posts)
	// While the session is open: one session, one subscription (its
	// channel), its user's presence tracked.
	gm, cm := nodetest.Scrape(t, gw), nodetest.Scrape(t, core)
	if gm["ringcast_gateway_sessions"] != 1 || gm["ringcast_gateway_subscriptions"] != 1 || cm["ringcast_presence_users"] < 1 {
		t.Errorf("with one session open: gw sessions %v, subscriptions %v; core presence users %v; want 1, 1, at least 1",
			gm["ringcast_gateway_sessions"], gm["ringcast_gateway_subscriptions"], cm["ringcast_presence_users"])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := bob.Call(ctx, "chat.postMessage", url.Values{"channel": {"CNOSUCH"}, "text": {"x"}}, nil); err == nil {
		t.Fatal("a post to no channel succeeded")
	}
	r.Close()
	// A close code of the client's own making is counted as "other"; the
	// session resumes the channel, a reconnect.
	r2 := nodetest.Connect(t, alice, gw.HTTPAddr(), map[string]uint64{id: posts})
	r2.Conn.Close(websocket.StatusCode(4321), "mine")

	delta := func(before, after map[string]float64, key string) float64 { return after[key] - before[key] }
	var g1, c1 map[string]float64
	nodetest.WaitFor(t, 10*time.Second, "the gateway to count the session's end", func() bool {
		g1 = nodetest.Scrape(t, gw)
		return delta(g0, g1, `ringcast_gateway_disconnects_total{code="1000"}`) == 1 &&
			delta(g0, g1, `ringcast_gateway_disconnects_total{code="other"}`) == 1
	})
	if _, ok := g1[`ringcast_gateway_disconnects_total{code="4321"}`]; ok {
		t.Error("a client's own close code became a label value")
	}
	c1 = nodetest.Scrape(t, core)
	want := []struct {
		node          string
		before, after map[string]float64
		key           string
		delta         float64
	}{
		{"gw", g0, g1, "ringcast_gateway_connects_total", 2},
		{"gw", g0, g1, "ringcast_gateway_reconnects_total", 1},
		{"gw", g0, g1, "ringcast_gateway_messages_fanned_out_total", posts},
		{"gw", g0, g1, "ringcast_gateway_delivery_latency_seconds_count", posts},
		{"gw", g0, g1, `ringcast_gateway_delivery_latency_seconds_bucket{le="+Inf"}`, posts},
		{"gw", g0, g1, "ringcast_gateway_sessions", 0},
		{"core", c0, c1, "ringcast_channel_messages_published_total", posts},
		{"core", c0, c1, "ringcast_channel_messages_committed_total", posts},
		{"core", c0, c1, "ringcast_store_commit_batch_messages_sum", posts},
		{"core", c0, c1, `ringcast_api_calls_total{error="",method="chat.postMessage"}`, posts},
		{"core", c0, c1, `ringcast_api_calls_total{error="channel_not_found",method="chat.postMessage"}`, 1},
	}
	for _, w := range want {
		if got := delta(w.before, w.after, w.key); got != w.delta {
			t.Errorf("%s: %s moved by %v, want %v", w.node, w.key, got, w.delta)
		}
	}
	if d := delta(c0, c1, "ringcast_store_commit_duration_seconds_count"); d < 1 || d > posts {
		t.Errorf("core: %v commits for %d posts", d, posts)
	}
	if d := delta(g0, g1, `ringcast_internode_bytes_total{direction="received"}`); d <= 0 {
		t.Errorf("gw: internode bytes received moved by %v", d)
	}
	for _, key := range []string{
		`ringcast_ring_members{role="channel"}`, `ringcast_ring_members{role="gateway"}`,
		`ringcast_ring_owners_missing{role="channel"}`, `ringcast_gossip_members{state="alive"}`, "ringcast_node_ready",
		"ringcast_channel_loaded", "go_goroutines", "process_resident_memory_bytes",
	} {
		if _, ok := c1[key]; !ok {
			t.Errorf("core: no %s", key)
		}
	}
	// Live gossip members: alive, or suspect for a probe that timed out
	// while the nodes started on a busy machine.
	live := c1[`ringcast_gossip_members{state="alive"}`] + c1[`ringcast_gossip_members{state="suspect"}`]
	if c1[`ringcast_ring_members{role="gateway"}`] != 1 || live != 2 || c1["ringcast_node_ready"] != 1 {
		t.Errorf("core: gateways %v, live gossip members %v, ready %v; want 1, 2, 1",
			c1[`ringcast_ring_members{role="gateway"}`], live, c1["ringcast_node_ready"])
	}
	if c1["ringcast_channel_loaded"] < 1 {
		t.Errorf("core: %v channels loaded", c1["ringcast_channel_loaded"])
	}
}
