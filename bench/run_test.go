package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// runFake runs cfg (against a fake server), after tune (when not nil)
// has adjusted the runner, and fails the test if the run does not end
// within limit.
func runFake(t *testing.T, ctx context.Context, cfg Config, tune func(*runner), limit time.Duration) (*Result, time.Duration) {
	t.Helper()
	type outcome struct {
		res *Result
		err error
	}
	r, err := newRunner(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(r)
	}
	t0 := time.Now()
	done := make(chan outcome, 1)
	go func() {
		res, err := r.run(ctx)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatalf("run: %v", o.err)
		}
		var out strings.Builder
		o.res.WriteText(&out)
		t.Logf("\n%s", out.String())
		return o.res, time.Since(t0)
	case <-time.After(limit):
		t.Fatalf("Run did not return within %v", limit)
	}
	return nil, 0
}

// TestRunWithoutAcks: a server that never acknowledges cannot hold a
// publisher, and so the run, past the end of publishing.
func TestRunWithoutAcks(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{noAck: true})
	cfg := f.config(Fanout)
	cfg.Subs, cfg.Users, cfg.Rate, cfg.Inflight, cfg.Duration = 2, 2, 50, 2, 200*time.Millisecond
	res, took := runFake(t, context.Background(), cfg, func(r *runner) { r.sendGrace = 200 * time.Millisecond }, 8*time.Second)
	if took > 2*time.Second {
		t.Errorf("run took %v, want about 0.6s (publishing 0.25s, drain 0.1s, grace 0.2s)", took)
	}
	if p := res.Publish; p.Sent != 2 || p.Unacked != 2 || res.OK {
		t.Errorf("sent %d, unanswered %d, ok %v; want the 2 in flight sent and unanswered, not ok", p.Sent, p.Unacked, res.OK)
	}
}

// TestTeardownBounded: against a server that never answers the close
// handshake, the teardown drops the connections after closeTimeout
// instead of waiting for each handshake to time out.
func TestTeardownBounded(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{silent: true})
	cfg := f.config(Idle)
	cfg.Subs, cfg.Channels, cfg.Duration = 3, 1, 50*time.Millisecond
	const closeTimeout = 300 * time.Millisecond
	res, took := runFake(t, context.Background(), cfg, func(r *runner) { r.closeTimeout = closeTimeout }, 15*time.Second)
	if res.Sessions.Connected != 3 {
		t.Errorf("connected %d, want 3", res.Sessions.Connected)
	}
	if took > closeTimeout+1500*time.Millisecond { // a handshake's own timeout is 5 s
		t.Errorf("run took %v, want about closeTimeout (%v)", took, closeTimeout)
	}
}

// TestProvisionLostCreate: a channel whose create succeeded but whose
// answer was lost is found again, not reported as a name clash.
func TestProvisionLostCreate(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{loseCreate: 1})
	cfg := f.config(Connect)
	cfg.Subs = 2
	res, _ := runFake(t, context.Background(), cfg, nil, 10*time.Second)
	if res.Provision.Channels != 1 || res.Sessions.Connected != 2 || !res.OK {
		t.Errorf("provision %+v, sessions %+v, ok %v", res.Provision, res.Sessions, res.OK)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.creates != 1 {
		t.Errorf("%d channels created, want 1", f.creates)
	}
}

// TestHTTPInterrupt: an interrupt ends a run whose chat.postMessage calls
// hang, without waiting for their timeouts.
func TestHTTPInterrupt(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{postHang: true})
	cfg := f.config(Fanout)
	cfg.Via, cfg.Subs, cfg.Users, cfg.Rate, cfg.Inflight, cfg.Duration = ViaHTTP, 1, 1, 100, 4, 5*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(500*time.Millisecond, cancel)
	res, took := runFake(t, ctx, cfg, nil, 6*time.Second)
	if took > 2500*time.Millisecond {
		t.Errorf("run took %v after an interrupt at 500ms", took)
	}
	if p := res.Publish; res.OK || p.Sent != 4 || p.Failed != 0 || p.Unacked != 4 {
		t.Errorf("ok %v, sent %d failed %d unanswered %d; want not ok, the 4 calls going on unanswered", res.OK, p.Sent, p.Failed, p.Unacked)
	}
}

// TestClosedLoopLatency: in closed loop, the wait for a free slot or
// worker is not latency: a publish's time starts when it can be sent.
func TestClosedLoopLatency(t *testing.T) {
	t.Parallel()
	for _, via := range []string{ViaRTM, ViaHTTP} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			// The message is delivered at once and answered 60 ms later,
			// so with one in flight each send waits 60 ms for the answer
			// to the one before.
			f := newFakeServer(t, fakeOpts{ackDelay: 60 * time.Millisecond})
			cfg := f.config(Publish)
			cfg.Via, cfg.Subs, cfg.Channels, cfg.Publishers, cfg.Inflight, cfg.Duration = via, 1, 1, 1, 1, 400*time.Millisecond
			res, _ := runFake(t, context.Background(), cfg, nil, 10*time.Second)
			d := res.Delivery
			if d.Received < 5 || !d.Clean() {
				t.Fatalf("account %+v", d.Account)
			}
			if d.Latency.P50Ms > 30 {
				t.Errorf("delivery latency p50 %.1fms, want a few ms (the 60 ms wait for a slot is not latency)", d.Latency.P50Ms)
			}
			if a := res.Publish.AckLatency; a.P50Ms < 55 {
				t.Errorf("ack latency p50 %.1fms, want at least the server's 60 ms", a.P50Ms)
			}
		})
	}
}

// TestRunProgress: the progress line reads the sessions and publishers,
// which must be complete before it starts (the race detector checks).
func TestRunProgress(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{noDeliver: true})
	cfg := f.config(Publish)
	cfg.Channels, cfg.Publishers, cfg.Inflight, cfg.Duration = 1, 1, 4, 300*time.Millisecond
	var progress strings.Builder
	r, err := newRunner(cfg, nil, &progress)
	if err != nil {
		t.Fatal(err)
	}
	r.progressEvery = 50 * time.Millisecond
	res, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Publish.Acked == 0 || !strings.Contains(progress.String(), "sessions 1/1") {
		t.Errorf("acked %d; progress %q", res.Publish.Acked, progress.String())
	}
}

// TestDrainSkipsDeadSessions: the drain does not wait for deliveries to a
// session that is gone for good.
func TestDrainSkipsDeadSessions(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{dropUser: "bench-u-0"})
	cfg := f.config(Fanout)
	cfg.Subs, cfg.Users, cfg.Rate, cfg.Duration, cfg.Drain = 2, 2, 50, 200*time.Millisecond, 3*time.Second
	res, took := runFake(t, context.Background(), cfg, nil, 10*time.Second)
	if res.Sessions.Disconnects != 1 || res.Delivery.Lost == 0 || res.Publish.Unacked != 0 {
		t.Errorf("sessions %+v, account %+v, unanswered %d", res.Sessions, res.Delivery.Account, res.Publish.Unacked)
	}
	if took > 2*time.Second {
		t.Errorf("run took %v: the drain waited for the dead session (Drain %v)", took, cfg.Drain)
	}
}
