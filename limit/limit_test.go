package limit

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBucket(t *testing.T) {
	l := New(Rate{N: 3, Per: time.Minute}) // 3 at once, then one every 20 s
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		if ok, _ := l.Allow("u", Person, t0); !ok {
			t.Fatalf("call %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("u", Person, t0)
	if ok || retry != 20*time.Second {
		t.Fatalf("over the burst: ok %v, retry %v; want refused, 20s", ok, retry)
	}
	if ok, retry := l.Allow("u", Person, t0.Add(15*time.Second)); ok || retry != 5*time.Second {
		t.Fatalf("15 s later: ok %v, retry %v; want refused, 5s", ok, retry)
	}
	if ok, _ := l.Allow("u", Person, t0.Add(20*time.Second)); !ok {
		t.Fatal("20 s later: refused")
	}
	if ok, _ := l.Allow("v", Person, t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	for i := range 3 * BotFactor {
		if ok, _ := l.Allow("bot", Bot, t0); !ok {
			t.Fatalf("bot call %d refused", i+1)
		}
	}
	if ok, _ := l.Allow("bot", Bot, t0); ok {
		t.Fatal("a bot past ten times the burst")
	}
	for range 1000 {
		if ok, _ := l.Allow("load", Unlimited, t0); !ok {
			t.Fatal("class unlimited refused")
		}
	}
	var none *Limiter
	if ok, _ := New(Rate{}).Allow("u", Person, t0); !ok {
		t.Fatal("a zero rate refused")
	}
	if ok, _ := none.Allow("u", Person, t0); !ok {
		t.Fatal("a nil limiter refused")
	}
}

// TestForgetsFullBuckets: the limiter's memory is the keys active within
// a period, not every key ever seen.
func TestForgetsFullBuckets(t *testing.T) {
	l := New(Rate{N: 1, Per: time.Second})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 100_000 {
		now := t0.Add(time.Duration(i) * time.Millisecond) // 1000 keys a second
		l.Allow(fmt.Sprint(i), Person, now)
	}
	if n := len(l.buckets); n > 5000 {
		t.Fatalf("%d buckets kept for 100k keys of which ~1000 are active", n)
	}
}

func TestRateFlag(t *testing.T) {
	for in, want := range map[string]Rate{"60/m": {60, time.Minute}, "1/s": {1, time.Second}, "20/h": {20, time.Hour},
		"10/90s": {10, 90 * time.Second}, "0": {}} {
		var r Rate
		if err := r.Set(in); err != nil || r != want {
			t.Errorf("Set(%q) = %+v, %v; want %+v", in, r, err, want)
		}
		var back Rate
		if err := back.Set(r.String()); err != nil || back != r {
			t.Errorf("%q -> %q -> %+v, %v", in, r.String(), back, err)
		}
	}
	for _, bad := range []string{"", "x", "5", "5/", "-1/s", "5/fortnight", "5/-1s", "1.5/s"} {
		var r Rate
		if err := r.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted: %+v", bad, r)
		}
	}
}

func TestClass(t *testing.T) {
	for u, want := range map[chat.User]Class{
		{}:                                   Person,
		{IsBot: true}:                        Bot,
		{LimitClass: "unlimited"}:            Unlimited,
		{IsBot: true, LimitClass: "person"}:  Bot, // a bot is never limited as a person
		{IsBot: true, LimitClass: "unknown"}: Bot,
	} {
		if got := ClassOf(u); got != want {
			t.Errorf("ClassOf(%+v) = %q, want %q", u, got, want)
		}
	}
	if _, err := ParseClass("vip"); err == nil {
		t.Fatal("ParseClass accepted vip")
	}
	if RetryAfter(0) != 1 || RetryAfter(1500*time.Millisecond) != 2 {
		t.Fatal("RetryAfter rounds wrong")
	}
}

// TestThrottle: records about one remote host pass at the log rate, the
// rest are counted onto the next that passes; other hosts and records
// without a remote are not held back.
func TestThrottle(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Throttle(slog.NewTextHandler(&buf, nil), Rate{N: 2, Per: time.Hour})).With("node", "n1")
	for i := range 10 {
		log.Warn("bad packet", RemoteKey, "10.0.0.9:4000", "i", i)
	}
	log.Warn("bad packet", RemoteKey, "10.0.0.8:4000")
	log.Warn("no remote")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "10.0.0.8") || !strings.Contains(lines[3], "no remote") {
		t.Fatalf("throttled log:\n%s", buf.String())
	}
	h := Throttle(slog.NewTextHandler(&buf, nil), Rate{N: 1, Per: time.Millisecond}).(*throttle)
	h.s.held["10.0.0.9"] = 8
	buf.Reset()
	slog.New(h).Warn("again", RemoteKey, "10.0.0.9:1")
	if !strings.Contains(buf.String(), "suppressed=8") || !strings.Contains(buf.String(), "again") {
		t.Fatalf("the next line after suppressed ones: %q", buf.String())
	}
}
