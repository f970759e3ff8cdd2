package bench

import (
	"bytes"
	"flag"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/result.golden.json")

// TestResultJSON pins the JSON field names scripts read: a change to
// them must be deliberate (go test -run TestResultJSON -update).
func TestResultJSON(t *testing.T) {
	r := newResult(Config{Scenario: Fanout, URL: "http://127.0.0.1:8080", Subs: 10, Channels: 1, Users: 10,
		Publishers: 1, Rate: 50, Size: 128, Via: ViaRTM, Inflight: 128, Pids: []int{42}}.Defaults())
	r.RunID, r.Bench.Pid = "test", 4242
	r.Publish = &PublishResult{OfferedPerSec: 50}
	r.Delivery = &DeliveryResult{Account: Account{Expected: 1, Received: 1}}
	r.Errors = map[string]uint64{"disconnected: 1008 (slow consumer)": 1}
	r.Notes = []string{"a note"}
	r.finish()
	var got bytes.Buffer
	if err := r.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/result.golden.json"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("JSON changed; got\n%s", got.String())
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "account") {
		t.Fatalf("text report: %v\n%s", err, text.String())
	}
}

// TestFinish: what makes a run OK, whatever its notes say.
func TestFinish(t *testing.T) {
	good := func() *Result {
		return &Result{Sessions: SessionResult{Target: 3, Connected: 3}, Publish: &PublishResult{Sent: 5, Acked: 5},
			Delivery: &DeliveryResult{Account: Account{Expected: 15, Received: 15}}}
	}
	tests := []struct {
		name string
		mod  func(*Result)
		want bool
	}{
		{"clean", func(r *Result) {}, true},
		{"a note that reads like an interrupt", func(r *Result) { r.Notes = []string{"interrupted by nothing"} }, true},
		{"interrupted", func(r *Result) { r.interrupted = true }, false},
		{"a session missing", func(r *Result) { r.Sessions.Connected = 2 }, false},
		{"a disconnect", func(r *Result) { r.Sessions.Disconnects = 1 }, false},
		{"a loss", func(r *Result) { r.Delivery.Lost = 1 }, false},
		{"a refused publish", func(r *Result) { r.Publish.Failed = 1 }, false},
		{"an unanswered publish", func(r *Result) { r.Publish.Unacked = 1 }, false},
		{"idle", func(r *Result) { r.Publish, r.Delivery = nil, nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.mod(r)
			r.finish()
			if r.OK != tt.want {
				t.Errorf("OK = %v, want %v", r.OK, tt.want)
			}
		})
	}
}

// TestAPIIdleConns: over HTTP every publisher's worker keeps a Web API
// connection busy, and the pool keeps them all.
func TestAPIIdleConns(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{"rtm", Config{Scenario: Publish, Via: ViaRTM, Publishers: 16, Inflight: 128}, 256},
		{"http, few", Config{Scenario: Publish, Via: ViaHTTP, Publishers: 2, Inflight: 8}, 256},
		{"http, many", Config{Scenario: Publish, Via: ViaHTTP, Publishers: 16, Inflight: 128}, 2048},
		{"idle", Config{Scenario: Idle, Via: ViaHTTP, Publishers: 16, Inflight: 128}, 256},
	}
	for _, tt := range tests {
		if got := apiIdleConns(tt.cfg); got != tt.want {
			t.Errorf("%s: apiIdleConns = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestSaturationNote: a window in which server and bench together used
// nearly every core they may run on says its figures are bounded by the
// shared CPU; one with room to spare does not. The cores are those the
// two processes may use, not the machine's: both pinned to one core
// share one.
func TestSaturationNote(t *testing.T) {
	cores := float64(runtime.NumCPU())
	for _, c := range []struct {
		server, bench float64 // cores used over the window
		sCPUs, bCPUs  []int   // where each may run (nil: unknown)
		want          bool
	}{
		{0.7 * cores, 0.25 * cores, nil, nil, true},
		{0.5 * cores, 0.3 * cores, nil, nil, false},
		{0.6, 0.35, []int{0}, []int{0}, true},           // both on core 0
		{0.6, 0.35, []int{0}, []int{1}, false},          // one core each
		{0.95, 0.9, []int{0}, []int{1}, true},           // one core each, both busy
		{0.6, 0.35, []int{0, 1, 2, 3}, []int{0}, false}, // 0.95 of 4
	} {
		r, err := newRunner(Config{URL: "http://127.0.0.1:1", AdminKey: "k", Scenario: Fanout, Pids: []int{1}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		res := newResult(r.cfg)
		at := time.Now()
		used := func(c float64) time.Duration { return time.Duration(c * float64(time.Second)) }
		a := windowSample{at: at, serverOK: true, selfOK: true}
		b := windowSample{at: at.Add(time.Second), serverOK: true, selfOK: true,
			server: ProcSample{CPU: used(c.server), CPUs: c.sCPUs}, self: ProcSample{CPU: used(c.bench), CPUs: c.bCPUs}}
		r.procWindow(res, a, b)
		noted := slices.ContainsFunc(r.notes, func(n string) bool { return strings.Contains(n, "bounded by the shared CPU") })
		if noted != c.want {
			t.Errorf("server %.2f (on %v) + bench %.2f (on %v) of %v cores: noted %v (notes %q)", c.server, c.sCPUs, c.bench, c.bCPUs, cores, noted, r.notes)
		}
	}
}
