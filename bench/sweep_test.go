package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHolds(t *testing.T) {
	good := func() *Result {
		return &Result{OK: true, Publish: &PublishResult{KeptUp: true, SentPerSec: 100, OfferedPerSec: 100},
			Delivery: &DeliveryResult{Latency: Latency{P99Ms: 49.9}}}
	}
	if why := holds(good(), 50*time.Millisecond); why != "" {
		t.Fatalf("a clean run within the bound does not hold: %s", why)
	}
	for name, c := range map[string]struct {
		mod  func(*Result)
		want string
	}{
		"not clean":    {func(r *Result) { r.OK = false }, "not clean"},
		"fell behind":  {func(r *Result) { r.Publish.KeptUp, r.Publish.SentPerSec = false, 80 }, "sent 80/s of 100/s"},
		"slow":         {func(r *Result) { r.Delivery.Latency.P99Ms = 50.1 }, "p99 50.10ms over 50ms"},
		"no publishes": {func(r *Result) { r.Publish = nil }, "nothing published"},
	} {
		r := good()
		c.mod(r)
		if why := holds(r, 50*time.Millisecond); !strings.Contains(why, c.want) {
			t.Errorf("%s: holds = %q, want %q", name, why, c.want)
		}
	}
}

func TestSweepRefusesBadArguments(t *testing.T) {
	cfg := Config{URL: "http://127.0.0.1:1", AdminKey: "k", Scenario: Fanout}
	for name, c := range map[string]struct {
		cfg    Config
		rates  []float64
		maxP99 time.Duration
		want   string
	}{
		"no rates":     {cfg, nil, time.Second, "--rates"},
		"descending":   {cfg, []float64{20, 10}, time.Second, "ascending"},
		"twice":        {cfg, []float64{10, 10}, time.Second, "ascending"},
		"zero":         {cfg, []float64{0, 10}, time.Second, "positive"},
		"with --rate":  {Config{URL: cfg.URL, AdminKey: "k", Rate: 5}, []float64{10}, time.Second, "--rate and --rates"},
		"no bound":     {cfg, []float64{10}, 0, "--max-p99"},
		"idle":         {Config{URL: cfg.URL, AdminKey: "k", Scenario: Idle}, []float64{10}, time.Second, "does not publish"},
		"bad config":   {Config{URL: "nope", AdminKey: "k"}, []float64{10}, time.Second, "--url"},
		"no admin key": {Config{URL: cfg.URL}, []float64{10}, time.Second, "--admin-key"},
	} {
		res, err := Sweep(context.Background(), c.cfg, c.rates, c.maxP99, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || res != nil {
			t.Errorf("%s: Sweep = %v, %v; want an error naming %q and no result", name, res, err, c.want)
		}
	}
}

// TestSweepStopsAtTheFirstRateThatFails: every rate runs until one does
// not hold; the answer is the last that did.
func TestSweepStopsAtTheFirstRateThatFails(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{})
	cfg := f.config(Fanout)
	// Rates and a window with enough sends that one more or less does not
	// decide whether the publisher kept up.
	cfg.Subs, cfg.Users, cfg.Duration, cfg.Warmup = 3, 3, time.Second, 0
	sr, err := Sweep(t.Context(), cfg, []float64{100, 200}, time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sr.WriteText(&out)
	t.Logf("\n%s", out.String())
	if len(sr.Steps) != 2 || !sr.Steps[0].Held || !sr.Steps[1].Held || sr.BestRate != 200 || sr.BestDeliveriesPerSec <= 0 {
		t.Fatalf("sweep = %+v, want both rates held, best 200/s", sr)
	}
	if !strings.Contains(out.String(), "highest rate held (zero loss, p99 <= 3600000ms): 200 publishes/s") {
		t.Errorf("summary missing the answer")
	}
	out.Reset()
	sr.WriteJSON(&out)
	for _, key := range []string{`"best_rate": 200`, `"max_p99_ms": 3600000`, `"held": true`, `"steps": [`} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	// A bound no run can keep: the first rate fails and no other runs.
	sr, err = Sweep(t.Context(), cfg, []float64{100, 200}, time.Nanosecond, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Steps) != 1 || sr.Steps[0].Held || !strings.Contains(sr.Steps[0].Why, "p99") || sr.BestRate != 0 {
		t.Fatalf("sweep = %+v, want one step that failed on p99 and no best rate", sr)
	}
	out.Reset()
	sr.WriteText(&out)
	if !strings.Contains(out.String(), "no rate held") {
		t.Errorf("summary = %q, want it to say no rate held", out.String())
	}
}
