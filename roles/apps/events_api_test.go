package apps

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store/sqlite"
)

// logLines keeps the messages logged through it.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }
func (l *logLines) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		if m == msg {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFailingApp: a request URL that fails failingAfter requests in a
// row marks the app failing: the next request waits FailingPause; when
// the URL answers again, every event arrives, once (none was given up
// while it failed).
func TestFailingApp(t *testing.T) {
	type req struct {
		at   time.Time
		text string
	}
	var mu sync.Mutex
	var reqs []req
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct{ Event struct{ Text string } }
		json.Unmarshal(body, &p)
		mu.Lock()
		reqs = append(reqs, req{time.Now(), p.Event.Text})
		n := len(reqs)
		mu.Unlock()
		if n <= failingAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateUser(ctx, chat.User{ID: "UBOT", Name: "hook", IsBot: true}))
	must(st.CreateChannel(ctx, chat.Channel{ID: "C1", Name: "room", Creator: "UALICE"}))
	must(st.CreateApp(ctx, chat.App{ID: "A1", Name: "hook", BotUser: "UBOT", BotID: "B1", Events: []string{"message.channels"},
		SigningSecret: "s", RequestURL: srv.URL, Created: now.Add(-time.Second).Unix()}))
	msgs := []chat.Message{joinEntry("C1", 1, chat.TSOf(now)-1, "UBOT")} // the bot's first event: its channel_join message
	texts := []string{"j", "m0", "m1", "m2", "m3", "m4"}
	for i, text := range texts[1:] {
		msgs = append(msgs, chat.Message{Channel: "C1", Seq: uint64(i + 2), TS: chat.TSOf(now) + chat.TS(i), User: "UALICE", Text: text})
	}
	if _, err := st.Append(ctx, msgs); err != nil {
		t.Fatal(err)
	}

	logs := &logLines{}
	view := ring.NewView("n1", []ring.Member{{Name: "n1", Meta: ring.Meta{Roles: []ring.Role{ring.RoleAdmin}}}})
	const pause = 300 * time.Millisecond
	a, err := New(Config{Self: "n1", Key: []byte("0123456789abcdef0123456789abcdef"), Team: "T1", Store: st,
		View: func() *ring.View { return view }, Logger: slog.New(logs), Poll: 5 * time.Millisecond,
		HTTPRetryDelays: []time.Duration{0}, FailingPause: pause, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); a.Run(runCtx) }()
	defer func() { cancel(); <-ran }()

	waitFor(t, "every event delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reqs) >= failingAfter+len(texts)
	})
	mu.Lock()
	defer mu.Unlock()
	if !logs.has("app failing: Events API deliveries paused") || !logs.has("app delivering again") || logs.has("app event given up") {
		t.Fatalf("logs %q", logs.lines)
	}
	if gap := reqs[failingAfter].at.Sub(reqs[failingAfter-1].at); gap < pause {
		t.Fatalf("request %d came %v after the %dth failure, want at least %v", failingAfter+1, gap, failingAfter, pause)
	}
	// Every event once (a retried one may come after later ones, as on
	// Slack).
	var delivered []string
	for _, r := range reqs[failingAfter:] {
		delivered = append(delivered, r.text)
	}
	slices.Sort(delivered)
	if strings.Join(delivered, ",") != strings.Join(texts, ",") {
		t.Fatalf("delivered after the failures: %v (all: %v)", delivered, reqs)
	}
}

// TestRetention: an app that comes back after a while gets what it
// missed from its stored position, in order, but nothing older than the
// retention.
func TestRetention(t *testing.T) {
	var mu sync.Mutex
	var texts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct{ Event struct{ Text string } }
		json.Unmarshal(body, &p)
		mu.Lock()
		texts = append(texts, p.Event.Text)
		mu.Unlock()
	}))
	defer srv.Close()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for _, err := range []error{
		st.CreateUser(ctx, chat.User{ID: "UBOT", Name: "hook", IsBot: true}),
		st.CreateChannel(ctx, chat.Channel{ID: "C1", Name: "room", Creator: "UALICE"}),
		st.CreateApp(ctx, chat.App{ID: "A1", Name: "hook", BotUser: "UBOT", BotID: "B1", Events: []string{"message.channels"},
			SigningSecret: "s", RequestURL: srv.URL, Created: now.Add(-3 * time.Hour).Unix()}),
		st.SetPositions(ctx, "A1", map[string]uint64{"C1": 2}), // it had its join and the first message
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs := []chat.Message{joinEntry("C1", 1, chat.TSOf(now.Add(-4*time.Hour)), "UBOT")}
	for i, m := range []struct {
		text string
		age  time.Duration
	}{{"seen", 3 * time.Hour}, {"too old", 2 * time.Hour}, {"kept 1", 30 * time.Minute}, {"kept 2", time.Second}} {
		msgs = append(msgs, chat.Message{Channel: "C1", Seq: uint64(i + 2), TS: chat.TSOf(now.Add(-m.age)), User: "UALICE", Text: m.text})
	}
	if _, err := st.Append(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	view := ring.NewView("n1", []ring.Member{{Name: "n1", Meta: ring.Meta{Roles: []ring.Role{ring.RoleAdmin}}}})
	a, err := New(Config{Self: "n1", Key: []byte("0123456789abcdef0123456789abcdef"), Team: "T1", Store: st,
		View: func() *ring.View { return view }, Poll: 5 * time.Millisecond, Retention: time.Hour, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); a.Run(runCtx) }()
	defer func() { cancel(); <-ran }()
	waitFor(t, "the kept messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(texts) >= 2
	})
	waitFor(t, "the position stored past them", func() bool {
		pos, err := st.Positions(ctx, "A1")
		return err == nil && pos["C1"] == 5
	})
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(texts, ",") != "kept 1,kept 2" {
		t.Fatalf("delivered %q", texts)
	}
}

// joinEntry is user's join entry of channel, as its owner writes it (its
// Append makes user a member), with the text "j".
func joinEntry(channel string, seq uint64, ts chat.TS, user string) chat.Message {
	return chat.Message{Channel: channel, Seq: seq, TS: ts, User: user, Text: "j",
		More: &chat.More{Kind: chat.KindJoin, Subtype: "channel_join", Name: "C"}}
}
