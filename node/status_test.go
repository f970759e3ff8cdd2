package node_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// TestRemoteStatus: /status asked of one node reports every member with
// what the member says of itself (sessions, channels loaded, ready), its
// ring share rounded and its gossip state, draining included;
// /status/channel says who owns a channel and which gateways subscribe,
// asked of a node that does not own it.
func TestRemoteStatus(t *testing.T) {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}, Host: "127.0.50.71"},
		nodetest.Spec{Name: "gw", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.50.72",
			Tune: func(cfg *config.Config) { cfg.DrainWindow = 4 * time.Second }},
	)
	core, gw := c.Node("core"), c.Node("gw")
	api, _ := c.User("stat")
	id := createChannel(t, api, "watched")
	nodetest.Call(t, api, "chat.postMessage", url.Values{"channel": {id}, "text": {"one"}}, nil)
	nodetest.Connect(t, api, gw.HTTPAddr(), nil)
	nodetest.Connect(t, api, gw.HTTPAddr(), nil)

	op := func(n *node.Node) *client.API {
		return &client.API{Base: "http://" + n.HTTPAddr(), Token: n.AdminKey()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st node.Status
	if err := op(core).Call(ctx, "/status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 2 || !st.Ready {
		t.Fatalf("status %+v", st)
	}
	byName := map[string]node.MemberStatus{}
	for _, m := range st.Members {
		byName[m.Name] = m
	}
	g, k := byName["gw"], byName["core"]
	if g.Sessions != 2 || !g.Ready || g.State != "alive" || g.Error != "" || g.Version != "test" || g.ChannelShare != 0 {
		t.Fatalf("gw as core reports it: %+v", g)
	}
	if k.LoadedChannels < 1 || !k.Ready || k.ChannelShare != 1 || k.Sessions != 0 {
		t.Fatalf("core as it reports itself: %+v", k)
	}

	var cs node.ChannelStatus
	if err := op(gw).Call(ctx, "/status/channel?id="+id, nil, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.Owner != "core" || !cs.Loaded || cs.Committed != 1 || len(cs.Subscribers) != 1 || cs.Subscribers[0] != "gw" {
		t.Fatalf("channel status %+v: want owner core, loaded, seq 1, subscribed by gw", cs)
	}
	if err := op(gw).Call(ctx, "/status/channel", nil, &cs); err == nil {
		t.Fatal("/status/channel without an id succeeded")
	}

	drain(t, gw)
	nodetest.WaitFor(t, 3*time.Second, "core to see gw draining", func() bool {
		var st node.Status
		if err := op(core).Call(ctx, "/status", nil, &st); err != nil {
			return false
		}
		for _, m := range st.Members {
			if m.Name == "gw" {
				return m.State == "draining" && !m.Ready
			}
		}
		return false
	})
}
