package admin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/node/nodetest"
)

// TestRefusedPerLimit trips each of the Web API's limits once, each
// with a user of its own, and checks that ringcast_api_refused_total
// moved by one for that limit and no other, beside the Slack answer.
func TestRefusedPerLimit(t *testing.T) {
	e := limited(t, func(l *limit.Config) {
		l.Tier2 = limit.Rate{N: 3, Per: time.Hour}
		l.Tier3 = limit.Rate{N: 1, Per: time.Hour}
		l.Tier4 = limit.Rate{N: 1, Per: time.Hour}
		l.RTMConnect = limit.Rate{N: 1, Per: time.Hour}
		l.Messages = limit.Rate{N: 1, Per: time.Hour}
		l.ChannelsCreated = limit.Rate{N: 1, Per: time.Hour}
		l.AppsConnect = limit.Rate{N: 1, Per: time.Hour}
		l.MaxResponse = 64 << 10
	})
	n := e.c.First()
	limits := []string{"tier2", "tier3", "tier4", "rtm_connect", "messages", "channels_created", "apps_connect",
		"request_body", "response_size"}
	// Users with long names for a users.list over the response cap (100
	// of them are ~80 KB), made before the counting starts.
	long := strings.Repeat("r", 256)
	for i := range 100 {
		e.c.UserWith(url.Values{"name": {fmt.Sprint("big", i)}, "real_name": {long}})
	}
	for _, tt := range []struct {
		limit string
		trip  func(u *client.API)
	}{
		{"tier2", func(u *client.API) {
			for range 3 {
				e.ok(u, "users.setPresence", url.Values{"presence": {"auto"}}, nil)
			}
			e.rateLimited(u, "users.setPresence", url.Values{"presence": {"away"}})
		}},
		{"tier3", func(u *client.API) {
			e.ok(u, "conversations.list", nil, nil)
			e.rateLimited(u, "conversations.list", nil)
		}},
		{"tier4", func(u *client.API) {
			e.ok(u, "auth.test", nil, nil)
			e.rateLimited(u, "auth.test", nil)
		}},
		{"rtm_connect", func(u *client.API) {
			e.ok(u, "rtm.connect", nil, nil)
			e.rateLimited(u, "rtm.connect", nil)
		}},
		{"messages", func(u *client.API) {
			ch := url.Values{"channel": {e.ch}}
			e.ok(u, "conversations.join", ch, nil)
			e.ok(u, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"one"}}, nil)
			e.rateLimited(u, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"two"}})
		}},
		{"channels_created", func(u *client.API) {
			e.ok(u, "conversations.create", url.Values{"name": {"first-of-" + fmt.Sprint(time.Now().UnixNano())}}, nil)
			e.rateLimited(u, "conversations.create", url.Values{"name": {"second"}})
		}},
		{"apps_connect", func(u *client.API) {
			var app struct {
				AppToken string `json:"app_token"`
			}
			e.ok(e.c.API(n.AdminKey()), "admin.apps.create", url.Values{"name": {"refused"}}, &app)
			a := &client.API{Base: u.Base, Token: app.AppToken}
			e.ok(a, "apps.connections.open", nil, nil)
			e.rateLimited(a, "apps.connections.open", nil)
		}},
		{"request_body", func(u *client.API) {
			status, body := raw(t, "POST", u.Base+"/api/chat.postMessage", "application/x-www-form-urlencoded",
				"channel="+e.ch+"&text=x&pad="+strings.Repeat("p", 1<<20), map[string]string{"Authorization": "Bearer " + u.Token})
			if status != http.StatusOK || body["error"] != "request_too_large" {
				t.Fatalf("a body over 1 MiB: HTTP %d %v, want request_too_large", status, body)
			}
		}},
		{"response_size", func(u *client.API) {
			status, body := raw(t, "POST", u.Base+"/api/users.list", "application/x-www-form-urlencoded", "limit=200",
				map[string]string{"Authorization": "Bearer " + u.Token})
			if status != http.StatusOK || body["error"] != "response_too_large" {
				t.Fatalf("users.list over the cap: HTTP %d %v, want response_too_large", status, body)
			}
		}},
	} {
		u, _ := e.c.User("u-" + tt.limit)
		before := nodetest.Scrape(t, n)
		tt.trip(u)
		after := nodetest.Scrape(t, n)
		for _, l := range limits {
			key := `ringcast_api_refused_total{limit="` + l + `"}`
			want := 0.0
			if l == tt.limit {
				want = 1
			}
			if _, ok := after[key]; !ok {
				t.Fatalf("/metrics has no %s", key)
			}
			if d := after[key] - before[key]; d != want {
				t.Errorf("tripping %s moved %s by %v, want %v", tt.limit, key, d, want)
			}
		}
	}
}
