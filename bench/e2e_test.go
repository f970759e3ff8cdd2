package bench_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/bench"
	"github.com/ringcast/ringcast/node/nodetest"
)

// TestRunAgainstNode runs a tiny fanout and a tiny publish scenario
// against an in-process node, through the public interfaces only, and
// checks the account is exact.
func TestRunAgainstNode(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	n := c.First()
	base := bench.Config{
		URL:      "http://" + n.HTTPAddr(),
		AdminKey: n.AdminKey(),
		LocalIPs: "127.0.0.2-127.0.0.9",
		Drain:    time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("fanout", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Subs, cfg.Users, cfg.Rate, cfg.Duration = bench.Fanout, 20, 5, 100, 500*time.Millisecond
		res := run(ctx, t, cfg)
		sessions := 20 + 1 // the publisher's own websocket receives the channel too
		p, d := res.Publish, res.Delivery
		if p.Sent != 50 || p.Acked != 50 || p.Failed != 0 {
			t.Errorf("publish: sent %d acked %d failed %d, want 50 50 0", p.Sent, p.Acked, p.Failed)
		}
		if d.Expected != 50*uint64(sessions) || d.Received != d.Expected || d.Extra != 0 {
			t.Errorf("delivery: expected %d received %d extra %d, want %d each and no extra",
				d.Expected, d.Received, d.Extra, 50*sessions)
		}
		if d.Latency.Count != d.Received || d.Latency.P50Ms <= 0 || d.Latency.MaxMs < d.Latency.P99Ms {
			t.Errorf("latency: %+v", d.Latency)
		}
	})
	t.Run("publish", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Channels, cfg.Publishers, cfg.Inflight, cfg.Duration = bench.Publish, 6, 3, 16, 300*time.Millisecond
		cfg.Size = 200
		res := run(ctx, t, cfg)
		p, d := res.Publish, res.Delivery
		if p.Acked == 0 || p.Acked != p.Sent || p.AckedPerSec <= 0 {
			t.Errorf("publish: sent %d acked %d (%.0f/s)", p.Sent, p.Acked, p.AckedPerSec)
		}
		// Each publisher is the only session in its two channels.
		if d.Expected != p.Acked || d.Received != d.Expected {
			t.Errorf("delivery: expected %d received %d, want %d", d.Expected, d.Received, p.Acked)
		}
	})
}

// checkNoGoroutines fails if a goroutine of package bench outlived Run.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	var leaked []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = leaked[:0]
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "ringcast/ringcast/bench.") && !strings.Contains(g, "bench_test.") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
	}
	t.Errorf("%d goroutines outlived Run, the first:\n%s", len(leaked), leaked[0])
}

func run(ctx context.Context, t *testing.T, cfg bench.Config) *bench.Result {
	t.Helper()
	res, err := bench.Run(ctx, cfg, nodetest.Logger(t), nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkNoGoroutines(t)
	var out strings.Builder
	res.WriteText(&out)
	t.Logf("\n%s", out.String())
	if !res.OK || !res.Delivery.Clean() || res.Sessions.Disconnects != 0 || res.Sessions.Connected != res.Sessions.Target {
		t.Errorf("run not clean: ok=%v account %+v sessions %+v errors %v notes %v",
			res.OK, res.Delivery.Account, res.Sessions, res.Errors, res.Notes)
	}
	return res
}
