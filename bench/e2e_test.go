package bench_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/bench"
	"github.com/ringcast/ringcast/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRunAgainstNode runs tiny scenarios against an in-process node,
// through the public interfaces only, and checks the account is exact.
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
		requireClean(t, res)
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
	t.Run("fanout via http", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Via, cfg.Subs, cfg.Users, cfg.Rate, cfg.Inflight = bench.Fanout, bench.ViaHTTP, 10, 5, 100, 4
		cfg.Duration = 300 * time.Millisecond
		res := run(ctx, t, cfg)
		requireClean(t, res)
		p, d := res.Publish, res.Delivery
		if p.Sent != 30 || p.Acked != 30 {
			t.Errorf("publish: sent %d acked %d, want 30 30", p.Sent, p.Acked)
		}
		// Over HTTP the publisher has no websocket: only the subscribers receive.
		if d.Expected != 30*10 || d.Received != d.Expected {
			t.Errorf("delivery: expected %d received %d; want 300 300", d.Expected, d.Received)
		}
		// Ack latency counts the publishes actually sent inside the window;
		// on a loaded machine the publisher lags its schedule and the last
		// send may fall after it.
		if p.AckLatency.Count == 0 || p.AckLatency.Count > p.Acked {
			t.Errorf("ack latencies %d for %d acks", p.AckLatency.Count, p.Acked)
		}
	})
	t.Run("publish", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Channels, cfg.Publishers, cfg.Inflight, cfg.Duration = bench.Publish, 6, 3, 16, 300*time.Millisecond
		cfg.Size = 200
		res := run(ctx, t, cfg)
		requireClean(t, res)
		p, d := res.Publish, res.Delivery
		if p.Acked == 0 || p.Acked != p.Sent || p.AckedPerSec <= 0 {
			t.Errorf("publish: sent %d acked %d (%.0f/s)", p.Sent, p.Acked, p.AckedPerSec)
		}
		// Each publisher is the only session in its two channels.
		if d.Expected != p.Acked || d.Received != d.Expected {
			t.Errorf("delivery: expected %d received %d, want %d", d.Expected, d.Received, p.Acked)
		}
	})
	// Every websocket, the publisher's too, loses its connection while
	// publishing: each reconnects and resumes from the last seq it got,
	// and the publisher goes on. Nothing acknowledged may be lost.
	t.Run("reconnect and resume", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Subs, cfg.Users, cfg.Rate, cfg.Duration = bench.Fanout, 10, 5, 100, 600*time.Millisecond
		cfg.Reconnect = true
		cfg.Drain = 300 * time.Millisecond // a publish lost with its connection is never answered: the drain runs out
		const sessions = 10 + 1
		res, lossRuns, err := bench.RunCutting(ctx, cfg, nodetest.Logger(t), 10*sessions)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		checkNoGoroutines(t)
		logResult(t, res)
		s, p, d := res.Sessions, res.Publish, res.Delivery
		if s.Disconnects != sessions || s.Reconnects != sessions || s.ReconnectFailures != 0 {
			t.Errorf("sessions: %d disconnects, %d reconnects, %d gave up; want %d, %d, 0",
				s.Disconnects, s.Reconnects, s.ReconnectFailures, sessions, sessions)
		}
		if d.Lost != 0 || d.Duplicated != 0 || d.SeqRegressions != 0 || d.SeqMismatch != 0 || d.Malformed != 0 {
			t.Errorf("account not clean: %+v", d.Account)
		}
		// The publishes in flight at the cut go down with the connection
		// (how many depends on the machine's load: 2 to 10 seen); every
		// one sent before or after them must be answered, so the
		// unanswered ones are one run in the order of sending.
		if p.Sent < 60 || p.Failed != 0 || lossRuns > 1 || p.Acked == 0 {
			t.Errorf("publish: sent %d acked %d failed %d, %d runs of unanswered publishes; want 60 sent, one run lost with the cut",
				p.Sent, p.Acked, p.Failed, lossRuns)
		}
		if d.Expected != p.Acked*sessions || d.Received < d.Expected {
			t.Errorf("delivery: expected %d received %d; want %d, all received", d.Expected, d.Received, p.Acked*sessions)
		}
		if res.OK {
			t.Error("OK despite the disconnects")
		}
	})
	t.Run("app", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Subs, cfg.Rate, cfg.Inflight, cfg.Duration = bench.App, 2, 100, 8, 300*time.Millisecond
		res := run(ctx, t, cfg)
		requireClean(t, res)
		p, d := res.Publish, res.Delivery
		if p.Sent != 30 || p.Acked != 30 || p.Failed != 0 {
			t.Errorf("publish: sent %d acked %d failed %d, want 30 30 0", p.Sent, p.Acked, p.Failed)
		}
		// One app: each post is one event, on one of its two connections.
		if d.Expected != 30 || d.Received != 30 || d.Duplicated != 0 || d.Latency.Count == 0 || d.Latency.Count > 30 {
			t.Errorf("delivery: %+v", d)
		}
		if res.Connect.Count != 2 {
			t.Errorf("connect: %+v", res.Connect)
		}
		for _, n := range res.Notes { // the run deletes its app
			if strings.Contains(n, "stays registered") {
				t.Errorf("note: %s", n)
			}
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
			if strings.Contains(g, "ringcast/ringcast/bench.") && !strings.Contains(g, "bench_test.") &&
				!strings.Contains(g, "_test.go") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
	}
	t.Errorf("%d goroutines outlived Run, the first:\n%s", len(leaked), leaked[0])
}

// run runs cfg and checks that it left no goroutine behind.
func run(ctx context.Context, t *testing.T, cfg bench.Config) *bench.Result {
	t.Helper()
	res, err := bench.Run(ctx, cfg, nodetest.Logger(t), nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkNoGoroutines(t)
	logResult(t, res)
	return res
}

func logResult(t *testing.T, res *bench.Result) {
	t.Helper()
	var out strings.Builder
	res.WriteText(&out)
	t.Logf("\n%s", out.String())
}

// requireClean fails unless the run was OK in every respect.
func requireClean(t *testing.T, res *bench.Result) {
	t.Helper()
	if !res.OK || !res.Delivery.Clean() || res.Sessions.Disconnects != 0 || res.Sessions.Connected != res.Sessions.Target {
		t.Errorf("run not clean: ok=%v account %+v sessions %+v errors %v notes %v",
			res.OK, res.Delivery.Account, res.Sessions, res.Errors, res.Notes)
	}
}
