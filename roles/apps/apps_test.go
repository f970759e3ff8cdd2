package apps

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store/sqlite"
	"github.com/ringcast/ringcast/transport/rtm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTickets: a Socket Mode URL is refused before the upgrade unless
// its ticket is for this node and process, of an existing app hosted
// here, and used once.
func TestTickets(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateApp(t.Context(), chat.App{ID: "A1", Name: "a", BotUser: "U1", BotID: "B1"}); err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	view := ring.NewView("n1", []ring.Member{{Name: "n1", Meta: ring.Meta{Roles: []ring.Role{ring.RoleAdmin}, Epoch: 7}}})
	a, err := New(Config{Self: "n1", Epoch: 7, Key: key, Team: "T1", Store: st, View: func() *ring.View { return view }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	good := rtm.NewTicket("A1", 0, "n1", 7, now).Sign(key)
	for _, tt := range []struct {
		name, ticket string
		status       int
	}{
		{"another node", rtm.NewTicket("A1", 0, "n2", 7, now).Sign(key), http.StatusUnauthorized},
		{"another process", rtm.NewTicket("A1", 0, "n1", 8, now).Sign(key), http.StatusUnauthorized},
		{"another key", rtm.NewTicket("A1", 0, "n1", 7, now).Sign([]byte("another key of thirty-two bytes!")), http.StatusUnauthorized},
		{"no such app", rtm.NewTicket("A2", 0, "n1", 7, now).Sign(key), http.StatusUnauthorized},
		{"expired", rtm.NewTicket("A1", 0, "n1", 7, now.Add(-time.Hour)).Sign(key), http.StatusUnauthorized},
		{"garbage", "garbage", http.StatusUnauthorized},
		// Not a websocket request: the ticket passes, the upgrade fails.
		{"good", good, http.StatusUpgradeRequired},
		{"reused", good, http.StatusUnauthorized},
	} {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/apps/socket/"+tt.ticket, nil))
		if w.Code != tt.status {
			t.Errorf("%s: status %d %s, want %d", tt.name, w.Code, w.Body, tt.status)
		}
	}
}

// TestChangeEvents: a change entry of the log reaches an app as the
// event RTM sends for it, under the subscription Slack files it under,
// and nothing when the app did not subscribe.
func TestChangeEvents(t *testing.T) {
	d := &dispatcher{a: &Apps{cfg: Config{Team: "T1"}}, app: chat.App{Events: []string{"message.channels", "reaction_added"}}}
	entry := func(k chat.Kind) *chat.Message {
		return &chat.Message{Channel: "C1", Seq: 9, TS: 1_700_000_000_000_200, User: "U1", Text: "new",
			More: &chat.More{Kind: k, Target: 1_700_000_000_000_100, Name: "eyes", Author: "U2", PrevText: "old"}}
	}
	for _, tt := range []struct {
		kind chat.Kind
		want string // the event's type/subtype; "" for none
	}{
		{chat.KindEdit, "message/message_changed"},
		{chat.KindDelete, "message/message_deleted"},
		{chat.KindReactionAdd, "reaction_added/"},
		{chat.KindReactionRemove, ""},
		{chat.KindArchive, ""},
	} {
		evs := d.changeEvents(entry(tt.kind), "message.channels")
		got := ""
		if len(evs) == 1 {
			var ev struct{ Type, Subtype string }
			if err := json.Unmarshal(evs[0].Body, &ev); err != nil {
				t.Fatal(err)
			}
			got = ev.Type + "/" + ev.Subtype
			if evs[0].ID != "Ev19C" {
				t.Errorf("event id %q", evs[0].ID)
			}
		}
		if got != tt.want || len(evs) > 1 {
			t.Errorf("kind %d: events %d, %q; want %q", tt.kind, len(evs), got, tt.want)
		}
	}
}
