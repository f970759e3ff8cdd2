package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// readyz reads a node's /readyz (no key needed): its status and checks.
func readyz(t *testing.T, n *node.Node) (int, node.Readiness) {
	t.Helper()
	res, err := http.Get("http://" + n.HTTPAddr() + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer res.Body.Close()
	var r node.Readiness
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return res.StatusCode, r
}

// TestReadiness: a gateway alone is alive (/healthz) but not ready: no
// member owns channels or presence; once a node with those roles joins
// it is ready, and /healthz never changed.
func TestReadiness(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "gw", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.50.21"})
	gw := c.Node("gw")
	nodetest.WaitFor(t, 5*time.Second, "the gateway to run", func() bool {
		_, r := readyz(t, gw)
		return r.Checks["running"] == "ok"
	})
	code, r := readyz(t, gw)
	if code != http.StatusServiceUnavailable || r.Ready || r.Checks["channel_ring"] == "ok" || r.Checks["presence_ring"] == "ok" ||
		r.Checks["store"] != "ok" || r.Checks["gateway"] != "ok" {
		t.Fatalf("a gateway alone: %d %+v, want 503 for the empty channel and presence rings only", code, r)
	}
	health, err := http.Get("http://" + gw.HTTPAddr() + "/healthz")
	if err != nil || health.StatusCode != 200 {
		t.Fatalf("/healthz of a live gateway that is not ready: %v %v", health, err)
	}
	health.Body.Close()

	c.Add(nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleChannel, ring.RolePresence, ring.RoleAdmin}, Host: "127.0.50.22"})
	nodetest.WaitFor(t, 10*time.Second, "the gateway to be ready once core joined", func() bool {
		code, r = readyz(t, gw)
		return code == http.StatusOK && r.Ready
	})
	for name, v := range r.Checks {
		if v != "ok" {
			t.Fatalf("ready with check %s = %q", name, v)
		}
	}
}

// TestReadinessFlipsWithRun: a node is not ready between New and Run
// (its roles are not running), ready while Run serves, and not ready
// once Run has begun to stop.
func TestReadinessFlipsWithRun(t *testing.T) {
	cfg := config.Default()
	cfg.Name, cfg.DataDir, cfg.Gossip = "flip", t.TempDir(), nodetest.FastGossip()
	cfg.HTTPAddr, cfg.GossipAddr = "127.0.50.81:0", "127.0.50.81:0"
	cfg.DrainWindow = 0
	n, err := node.New(cfg, "test", nodetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if r := n.Readiness(); r.Ready || r.Checks["running"] == "ok" {
		t.Fatalf("before Run: %+v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	nodetest.WaitFor(t, 10*time.Second, "ready once Run serves", func() bool { return n.Readiness().Ready })
	if code, _ := readyz(t, n); code != http.StatusOK {
		t.Fatalf("/readyz %d while ready", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := n.Readiness(); r.Ready || r.Checks["running"] == "ok" {
		t.Fatalf("after Run: %+v", r)
	}
}
