package bench

import (
	"context"
	"errors"
	"slices"
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
// not hold; the answer is the last that did. The runs are scripted (a
// real run's outcome depends on how much CPU it got: on a loaded box a
// publisher falls behind the offered rate).
func TestSweepStopsAtTheFirstRateThatFails(t *testing.T) {
	cfg := Config{URL: "http://127.0.0.1:1", AdminKey: "k", Scenario: Fanout}
	result := func(rate, p99Ms float64) *Result {
		return &Result{OK: true, Publish: &PublishResult{KeptUp: true, OfferedPerSec: rate, SentPerSec: rate},
			Delivery: &DeliveryResult{PerSec: 3 * rate, Latency: Latency{P99Ms: p99Ms}}}
	}
	p99 := map[float64]float64{100: 10, 200: 20, 300: 60, 400: 5} // 400 would hold, but is not run
	var ran []float64
	run := func(c Config) (*Result, error) {
		ran = append(ran, c.Rate)
		return result(c.Rate, p99[c.Rate]), nil
	}
	sr, err := sweep(cfg, []float64{100, 200, 300, 400}, 50*time.Millisecond, run)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []float64{100, 200, 300}) {
		t.Fatalf("ran the rates %v, want 100, 200, 300 (none after the first that failed)", ran)
	}
	if len(sr.Steps) != 3 || !sr.Steps[0].Held || !sr.Steps[1].Held || sr.Steps[2].Held ||
		sr.Steps[2].Why != "delivery p99 60.00ms over 50ms" || sr.BestRate != 200 || sr.BestDeliveriesPerSec != 600 {
		t.Fatalf("sweep = %+v, want 100 and 200 held, 300 failed on p99, best 200/s at 600 deliveries/s", sr)
	}
	var out strings.Builder
	sr.WriteText(&out)
	if !strings.Contains(out.String(), "highest rate held (zero loss, p99 <= 50.00ms): 200 publishes/s, 600 deliveries/s") {
		t.Errorf("summary missing the answer:\n%s", out.String())
	}
	out.Reset()
	sr.WriteJSON(&out)
	for _, key := range []string{`"best_rate": 200`, `"max_p99_ms": 50`, `"held": true`, `"held": false`, `"steps": [`} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	// The first rate fails: no other runs, no best rate.
	ran = nil
	p99[100] = 51
	sr, err = sweep(cfg, []float64{100, 200}, 50*time.Millisecond, run)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []float64{100}) || len(sr.Steps) != 1 || sr.Steps[0].Held || sr.BestRate != 0 {
		t.Fatalf("ran %v, sweep = %+v; want one step that failed and no best rate", ran, sr)
	}
	out.Reset()
	sr.WriteText(&out)
	if !strings.Contains(out.String(), "no rate held") {
		t.Errorf("summary = %q, want it to say no rate held", out.String())
	}

	// A run that ends in an error ends the sweep with the steps so far.
	ran = nil
	p99[100] = 10
	boom := errors.New("server gone")
	sr, err = sweep(cfg, []float64{100, 200}, 50*time.Millisecond, func(c Config) (*Result, error) {
		if c.Rate == 200 {
			return nil, boom
		}
		return run(c)
	})
	if !errors.Is(err, boom) || len(sr.Steps) != 1 || sr.BestRate != 100 {
		t.Fatalf("sweep = %+v, %v; want the error and the step of 100/s", sr, err)
	}
}

// TestSweepRuns: Sweep runs the real scenario at each rate (against the
// fake server); whether a rate holds there depends on the machine's load,
// so only what does not is checked.
func TestSweepRuns(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, fakeOpts{})
	cfg := f.config(Fanout)
	cfg.Subs, cfg.Users, cfg.Duration, cfg.Warmup = 3, 3, 500*time.Millisecond, 0
	sr, err := Sweep(t.Context(), cfg, []float64{100}, time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Steps) != 1 || sr.Steps[0].Rate != 100 || sr.Steps[0].Result.Publish == nil || sr.Steps[0].Result.Publish.OfferedPerSec != 100 ||
		sr.Steps[0].Held != (holds(sr.Steps[0].Result, time.Hour) == "") {
		t.Fatalf("sweep = %+v, want one step run at 100/s, held as holds says", sr)
	}
}
