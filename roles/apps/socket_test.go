package apps

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/sqlite"
	"github.com/ringcast/ringcast/transport/rtm"
)

// socketHost is one node's apps role over a store with one app, A1
// (with requestURL, if any), whose bot is in channel C1 and not in C2,
// served on a test server.
type socketHost struct {
	st  store.Store
	srv *httptest.Server
	key []byte
	seq map[string]uint64
}

func newSocketHost(t *testing.T, cfg Config, requestURL string) *socketHost {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	for _, err := range []error{
		st.CreateUser(ctx, chat.User{ID: "UBOT", Name: "bot", IsBot: true}),
		st.CreateChannel(ctx, chat.Channel{ID: "C1", Name: "with-bot", Creator: "UALICE"}),
		st.CreateChannel(ctx, chat.Channel{ID: "C2", Name: "without-bot", Creator: "UALICE"}),
		st.CreateApp(ctx, chat.App{ID: "A1", Name: "bot", BotUser: "UBOT", BotID: "B1", Events: []string{"message.channels"},
			RequestURL: requestURL, SigningSecret: "s", Created: time.Now().Add(-time.Second).Unix()}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The bot joined C1 long ago: its join entry is past the retention,
	// so no event comes of it.
	if _, err := st.Append(ctx, []chat.Message{joinEntry("C1", 1, chat.TSOf(time.Now().Add(-48*time.Hour)), "UBOT")}); err != nil {
		t.Fatal(err)
	}
	h := &socketHost{st: st, key: []byte("0123456789abcdef0123456789abcdef"), seq: map[string]uint64{"C1": 1}}
	view := ring.NewView("n1", []ring.Member{{Name: "n1", Meta: ring.Meta{Roles: []ring.Role{ring.RoleAdmin}, Epoch: 7}}})
	cfg.Self, cfg.Epoch, cfg.Key, cfg.Team, cfg.Store = "n1", 7, h.key, "T1", st
	cfg.View, cfg.Poll = func() *ring.View { return view }, 5*time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); a.Run(runCtx) }()
	h.srv = httptest.NewServer(a)
	t.Cleanup(func() {
		h.srv.CloseClientConnections()
		cancel()
		<-ran
		h.srv.Close()
	})
	return h
}

// post appends a person's message to channel.
func (h *socketHost) post(t *testing.T, channel, text string) {
	t.Helper()
	h.seq[channel]++
	m := chat.Message{Channel: channel, Seq: h.seq[channel], TS: chat.TSOf(time.Now()), User: "UALICE", Text: text}
	if _, err := h.st.Append(t.Context(), []chat.Message{m}); err != nil {
		t.Fatal(err)
	}
}

// dial opens a Socket Mode connection of A1 and reads its hello.
func (h *socketHost) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	u := strings.Replace(h.srv.URL, "http://", "ws://", 1) + "/apps/socket/" + rtm.NewTicket("A1", 0, "n1", 7, time.Now()).Sign(h.key)
	ws, _, err := websocket.Dial(t.Context(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if f := readJSON(t, ws); f.Type != "hello" {
		t.Fatalf("first frame %+v", f)
	}
	return ws
}

type frame struct {
	Type         string `json:"type"`
	EnvelopeID   string `json:"envelope_id"`
	RetryAttempt int    `json:"retry_attempt"`
	RetryReason  string `json:"retry_reason"`
	Payload      struct {
		Event struct{ Channel, Text string }
	} `json:"payload"`
}

func readJSON(t *testing.T, ws *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// TestUnackedGivenUpAfterRetries: an envelope never acked is sent
// 1 + Retries times (retry_attempt 0..3, reason timeout, one envelope id)
// and then given up: the next event follows, and nothing more of it. A
// channel the bot is not in produces nothing.
func TestUnackedGivenUpAfterRetries(t *testing.T) {
	h := newSocketHost(t, Config{AckTimeout: 100 * time.Millisecond}, "")
	ws := h.dial(t)
	h.post(t, "C2", "not for the bot")
	h.post(t, "C1", "never acked")
	first := readJSON(t, ws)
	for attempt := range 4 {
		f := first
		if attempt > 0 {
			f = readJSON(t, ws)
		}
		want := map[bool]string{true: "", false: "timeout"}[attempt == 0]
		if f.Type != "events_api" || f.EnvelopeID != first.EnvelopeID || f.RetryAttempt != attempt || f.RetryReason != want ||
			f.Payload.Event.Text != "never acked" {
			t.Fatalf("attempt %d: %+v", attempt, f)
		}
	}
	h.post(t, "C1", "next")
	if f := readJSON(t, ws); f.Payload.Event.Text != "next" || f.RetryAttempt != 0 {
		t.Fatalf("after the retries: %+v, want the next message", f)
	}
}

// TestSocketPings: the server pings each connection every PingEvery; a
// client that answers (its reader does) stays, and the server answers
// its pings; one that reads nothing answers no ping and is closed.
func TestSocketPings(t *testing.T) {
	const every = 300 * time.Millisecond // a ping waits as long for its pong: room for a loaded machine
	h := newSocketHost(t, Config{PingEvery: every}, "")
	live := h.dial(t)
	read := make(chan error, 1)
	go func() {
		for {
			if _, _, err := live.Read(context.Background()); err != nil {
				read <- err
				return
			}
		}
	}()
	deaf := h.dial(t)
	time.Sleep(4 * every) // the scenario: it reads nothing, so it answers none of the server's pings
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for { // what was sent before the close, then the end
		if _, _, err := deaf.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("a client that answers no ping is still connected")
			}
			break
		}
	}
	for range 3 { // past several of the server's pings, the live one answers ours
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := live.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
		time.Sleep(2 * every)
	}
	select {
	case err := <-read:
		t.Fatalf("the live client was closed: %v", err)
	default:
	}
}

// TestEventsAPIRetriesBackOff: a request URL that keeps failing one
// event gets it 1 + Retries times, with X-Slack-Retry-Num 1..3 and
// X-Slack-Retry-Reason, each retry after its delay; then the event is
// given up (logged) and the next one delivered once (fewer failures
// than mark the app failing).
func TestEventsAPIRetriesBackOff(t *testing.T) {
	type req struct {
		at          time.Time
		text        string
		num, reason string
	}
	var mu sync.Mutex
	var reqs []req
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Event struct{ Text string } }
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		reqs = append(reqs, req{time.Now(), p.Event.Text, r.Header.Get("X-Slack-Retry-Num"), r.Header.Get("X-Slack-Retry-Reason")})
		mu.Unlock()
		if p.Event.Text == "refused" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	delays := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond}
	logs := &logLines{}
	h := newSocketHost(t, Config{HTTPRetryDelays: delays, HTTP: srv.Client(), Logger: slog.New(logs)}, srv.URL)
	h.post(t, "C1", "refused")
	h.post(t, "C1", "next")
	waitFor(t, "the event given up", func() bool { return logs.has("app event given up") })
	waitFor(t, "the next event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(reqs, func(r req) bool { return r.text == "next" })
	})
	mu.Lock()
	defer mu.Unlock()
	reqs = slices.DeleteFunc(reqs, func(r req) bool { return r.text == "next" && r.num == "" }) // it may come between retries
	if len(reqs) != 4 {
		t.Fatalf("requests %+v, want the refused event 4 times and the next one once", reqs)
	}
	for i, r := range reqs[:4] {
		wantNum, wantReason := "", ""
		if i > 0 {
			wantNum, wantReason = strconv.Itoa(i), "http_error"
			if gap := r.at.Sub(reqs[i-1].at); gap < delays[i-1] {
				t.Errorf("retry %d came %v after the last attempt, want at least %v", i, gap, delays[i-1])
			}
		}
		if r.text != "refused" || r.num != wantNum || r.reason != wantReason {
			t.Errorf("request %d: %+v, want retry num %q reason %q", i, r, wantNum, wantReason)
		}
	}
}
