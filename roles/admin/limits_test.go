package admin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/node/nodetest"
)

// limited starts a node whose limits are l (the rest default) and the
// env of setup on it.
func limited(t *testing.T, tune func(l *limit.Config)) *env {
	return setupOn(t, nodetest.Spec{Name: "solo", Tune: func(cfg *config.Config) { tune(&cfg.Limits) }})
}

// rateLimited calls method and checks Slack's rate-limit answer: HTTP
// 429, a whole number of seconds in Retry-After, error ratelimited.
func (e *env) rateLimited(api *client.API, method string, args url.Values) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", api.Base+"/api/"+method, strings.NewReader(args.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+api.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 || !strings.Contains(string(b), `"error":"ratelimited"`) {
		e.t.Fatalf("%s over its limit: HTTP %d, Retry-After %q, %s", method, resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
}

func TestRateLimits(t *testing.T) {
	e := limited(t, func(l *limit.Config) {
		l.Tier4 = limit.Rate{N: 5, Per: time.Minute}
		l.Messages = limit.Rate{N: 3, Per: time.Minute}
		l.ChannelsCreated = limit.Rate{N: 2, Per: time.Hour} // bob made one in setup
		l.RTMConnect = limit.Rate{N: 2, Per: time.Minute}
		l.AppsConnect = limit.Rate{N: 2, Per: time.Minute}
	})
	channels := func() int {
		var l struct{ Channels []any }
		e.ok(e.bob, "conversations.list", nil, &l) // tier 3: not limited here
		return len(l.Channels)
	}

	t.Run("tier", func(t *testing.T) {
		for range 5 {
			e.ok(e.alice, "auth.test", nil, nil)
		}
		e.rateLimited(e.alice, "auth.test", nil)
		e.rateLimited(e.alice, "users.info", url.Values{"user": {e.aliceID}}) // the same tier's bucket
		e.ok(e.bob, "auth.test", nil, nil)                                    // per user
	})
	t.Run("messages", func(t *testing.T) {
		for i := range 3 {
			e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {fmt.Sprint(i)}}, nil)
		}
		e.rateLimited(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"one too many"}})
		if n := e.historyLen(e.ch); n != 3 {
			t.Fatalf("history has %d messages, want 3", n)
		}
	})
	t.Run("channels created", func(t *testing.T) {
		before := channels()
		e.ok(e.bob, "conversations.create", url.Values{"name": {"second"}}, nil)
		e.rateLimited(e.bob, "conversations.create", url.Values{"name": {"third"}})
		if n := channels(); n != before+1 {
			t.Fatalf("%d channels, want %d", n, before+1)
		}
		e.ok(e.alice, "conversations.create", url.Values{"name": {"alices"}}, nil)
	})
	t.Run("rtm.connect", func(t *testing.T) {
		for range 2 {
			e.ok(e.alice, "rtm.connect", nil, nil)
		}
		e.rateLimited(e.alice, "rtm.connect", nil)
	})
	t.Run("apps.connections.open", func(t *testing.T) {
		// Per app, and no bot's ×10: the app-level token is the app's.
		admin := e.c.API(e.c.First().AdminKey())
		var one, two struct {
			AppToken string `json:"app_token"`
		}
		e.ok(admin, "admin.apps.create", url.Values{"name": {"limited-one"}}, &one)
		e.ok(admin, "admin.apps.create", url.Values{"name": {"limited-two"}}, &two)
		app := &client.API{Base: e.alice.Base, Token: one.AppToken}
		for range 2 {
			e.ok(app, "apps.connections.open", nil, nil)
		}
		e.rateLimited(app, "apps.connections.open", nil)
		e.ok(&client.API{Base: e.alice.Base, Token: two.AppToken}, "apps.connections.open", nil, nil)
		e.ok(e.bob, "rtm.connect", nil, nil) // rtm.connect has a bucket of its own
	})
	t.Run("bots get more", func(t *testing.T) {
		bot, _ := e.c.UserWith(url.Values{"name": {"ci"}, "is_bot": {"true"}})
		e.ok(e.bob, "conversations.invite", url.Values{"channel": {e.ch}, "users": {userID(t, e, bot)}}, nil)
		for i := range 3 * limit.BotFactor {
			e.ok(bot, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {fmt.Sprint("bot ", i)}}, nil)
		}
		e.rateLimited(bot, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"one too many"}})
	})
	t.Run("unlimited class", func(t *testing.T) {
		admin := e.c.API(e.c.First().AdminKey())
		e.fails(admin, "admin.users.setLimitClass", url.Values{"user": {e.aliceID}, "class": {"vip"}}, "invalid_limit_class")
		e.fails(admin, "admin.users.setLimitClass", url.Values{"user": {"UNOSUCH"}, "class": {"bot"}}, "user_not_found")
		e.fails(admin, "admin.users.create", url.Values{"name": {"x"}, "limit_class": {"vip"}}, "invalid_limit_class")
		e.ok(admin, "admin.users.setLimitClass", url.Values{"user": {e.aliceID}, "class": {"unlimited"}}, nil)
		// A fresh token reads the user again (a cached one would within tokenTTL).
		alice := &client.API{Base: e.alice.Base, Token: e.c.Token(t, "alice")}
		for range 20 {
			e.ok(alice, "auth.test", nil, nil)
			e.ok(alice, "rtm.connect", nil, nil)
		}
	})
}

// TestRateTiers: the methods of a tier share one bucket per user, as
// docs/SECURITY.md lists them; a call over it changes nothing (the
// join is not made, the token not revoked), and other tiers go on.
func TestRateTiers(t *testing.T) {
	e := limited(t, func(l *limit.Config) {
		l.Tier2 = limit.Rate{N: 2, Per: time.Hour}
		l.Tier3 = limit.Rate{N: 2, Per: time.Hour}
	})
	ch := url.Values{"channel": {e.ch}}
	e.ok(e.alice, "conversations.join", ch, nil)
	e.ok(e.alice, "conversations.leave", ch, nil)
	e.rateLimited(e.alice, "conversations.join", ch)
	for _, m := range []struct {
		method string
		args   url.Values
	}{
		{"conversations.create", url.Values{"name": {"more"}}},
		{"conversations.invite", url.Values{"channel": {e.ch}, "users": {e.aliceID}}},
		{"users.setPresence", url.Values{"presence": {"away"}}},
		{"auth.revoke", nil},
	} {
		e.rateLimited(e.alice, m.method, m.args)
	}
	e.ok(e.alice, "conversations.list", nil, nil)
	e.ok(e.alice, "users.list", nil, nil)
	for _, method := range []string{"conversations.history", "conversations.members", "conversations.list", "users.list"} {
		e.rateLimited(e.alice, method, ch)
	}
	// Nothing changed, and tier 4 is its own.
	var members struct{ Members []string }
	e.ok(e.bob, "conversations.members", ch, &members)
	if len(members.Members) != 1 {
		t.Fatalf("members %v, want bob alone", members.Members)
	}
	var presence struct {
		ManualAway bool `json:"manual_away"`
	}
	e.ok(e.alice, "users.getPresence", nil, &presence)
	if presence.ManualAway {
		t.Fatal("users.setPresence over the limit set away")
	}
	e.ok(e.alice, "auth.test", nil, nil) // the token was not revoked
	e.ok(e.bob, "conversations.join", ch, nil)
}

func userID(t *testing.T, e *env, api *client.API) string {
	var me struct {
		UserID string `json:"user_id"`
	}
	e.ok(api, "auth.test", nil, &me)
	return me.UserID
}

// TestResponseCap: no response is larger than --max-response; a history
// page stops short of it and says has_more, and paging gets everything.
func TestResponseCap(t *testing.T) {
	const capBytes = 64 << 10
	e := limited(t, func(l *limit.Config) { l.MaxResponse = capBytes })
	admin := e.c.API(e.c.First().AdminKey())
	e.ok(admin, "admin.users.setLimitClass", url.Values{"user": {userID(t, e, e.bob)}, "class": {"unlimited"}}, nil)
	bob := &client.API{Base: e.bob.Base, Token: e.c.Token(t, "bob")}
	const n = 12
	worst := strings.Repeat("<", 4000) // \u003c each: 24 000 bytes of JSON
	for i := range n {
		e.ok(bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {worst}, "client_msg_id": {fmt.Sprint("m", i)}}, nil)
	}
	// Blocks count too: 8 000 '<' in a block are 48 000 bytes of JSON.
	const rich = 3
	for i := range rich {
		blocks := `[{"type":"section","text":{"type":"plain_text","text":"` + strings.Repeat("<", 8000) + `"}}]`
		e.ok(bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"t"}, "blocks": {blocks}, "client_msg_id": {fmt.Sprint("b", i)}}, nil)
	}
	seen, pages, cursor := 0, 0, ""
	for {
		req, _ := http.NewRequest("POST", bob.Base+"/api/conversations.history",
			strings.NewReader(url.Values{"channel": {e.ch}, "limit": {"999"}, "cursor": {cursor}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+bob.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) > capBytes {
			t.Fatalf("a history page of %d bytes, over the cap of %d", len(b), capBytes)
		}
		var h struct {
			Messages []any
			HasMore  bool `json:"has_more"`
			Meta     struct {
				Next string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		nodetest.Call(t, bob, "conversations.history", url.Values{"channel": {e.ch}, "limit": {"999"}, "cursor": {cursor}}, &h)
		seen += len(h.Messages)
		pages++
		if !h.HasMore {
			break
		}
		cursor = h.Meta.Next
	}
	if seen != n+rich || pages < 2+rich {
		t.Fatalf("paged %d messages in %d pages, want %d in several", seen, pages, n+rich)
	}

	// Anything else over the cap is refused whole: 100 users with long
	// names are ~80 KB of users.list; 20 of them fit.
	long := strings.Repeat("r", 256)
	for i := range 100 {
		e.c.UserWith(url.Values{"name": {fmt.Sprint("big", i)}, "real_name": {long}, "email": {long[:240] + "@example.org"}})
	}
	status, body := raw(t, "POST", bob.Base+"/api/users.list", "application/x-www-form-urlencoded", "limit=200",
		map[string]string{"Authorization": "Bearer " + bob.Token})
	if status != http.StatusOK || body["ok"] != false || body["error"] != "response_too_large" || len(body) != 2 {
		t.Fatalf("users.list over the cap: HTTP %d, ok %v, error %v, %d fields", status, body["ok"], body["error"], len(body))
	}
	var few struct{ Members []any }
	e.ok(bob, "users.list", url.Values{"limit": {"20"}}, &few)
	if len(few.Members) != 20 {
		t.Fatalf("users.list limit 20: %d members", len(few.Members))
	}
}

// TestPostChecks: client_msg_id is at most 64 bytes; thread_ts must name
// an existing top-level message of the channel. Nothing is stored for a
// refused post.
func TestPostChecks(t *testing.T) {
	e := setup(t)
	e.fails(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"x"}, "client_msg_id": {strings.Repeat("i", 65)}}, "invalid_arguments")
	var parent struct{ TS string }
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"parent"}, "client_msg_id": {strings.Repeat("i", 64)}}, &parent)
	var reply struct{ TS string }
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"reply"}, "thread_ts": {parent.TS}}, &reply)
	for _, ts := range []string{"1700000000.000001", reply.TS, "9999999999.999999"} {
		e.fails(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"orphan"}, "thread_ts": {ts}}, "thread_not_found")
	}
	// A non-member learns nothing of the thread: not_in_channel first.
	e.fails(e.alice, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"x"}, "thread_ts": {"1700000000.000001"}}, "not_in_channel")
	if n := e.historyLen(e.ch); n != 1 {
		t.Fatalf("history has %d messages, want the parent (its reply is in the thread only)", n)
	}
}
