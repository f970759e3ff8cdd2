package bench

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/result.golden.json")

// TestResultJSON pins the JSON field names scripts read: a change to
// them must be deliberate (go test -run TestResultJSON -update).
func TestResultJSON(t *testing.T) {
	r := newResult(Config{Scenario: Fanout, URL: "http://127.0.0.1:8080", Subs: 10, Channels: 1, Users: 10,
		Publishers: 1, Rate: 50, Size: 128, Via: ViaRTM, Inflight: 128, Pid: 42}.Defaults())
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
