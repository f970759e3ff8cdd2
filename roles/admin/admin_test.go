package admin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/store/sqlite"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

type env struct {
	t          *testing.T
	c          *nodetest.Cluster
	alice, bob *client.API
	aliceID    string
	ch         string // bob's channel; alice is not a member
}

func setup(t *testing.T) *env { return setupOn(t, nodetest.Spec{Name: "solo"}) }

// setupOn is setup on a node of spec s.
func setupOn(t *testing.T, s nodetest.Spec) *env {
	c := nodetest.Start(t, s)
	e := &env{t: t, c: c}
	e.alice, e.aliceID = c.User("alice")
	e.bob, _ = c.User("bob")
	var res struct {
		Channel struct{ ID string } `json:"channel"`
	}
	e.ok(e.bob, "conversations.create", url.Values{"name": {"general"}}, &res)
	e.ch = res.Channel.ID
	return e
}

func (e *env) ok(api *client.API, method string, args url.Values, out any) {
	e.t.Helper()
	nodetest.Call(e.t, api, method, args, out)
}

// fails calls method and checks the Slack error string.
func (e *env) fails(api *client.API, method string, args url.Values, code string) {
	e.t.Helper()
	err := api.Call(context.Background(), method, args, nil)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != code {
		e.t.Fatalf("%s %v: err = %v, want %s", method, args, err, code)
	}
}

// historyLen is how many messages bob sees in ch's history, besides
// members' joins and leaves.
func (e *env) historyLen(ch string) int { return len(e.history(ch)) }

func raw(t *testing.T, method, u, ctype, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %q", method, u, b)
	}
	return resp.StatusCode, out
}

func TestAuth(t *testing.T) {
	e := setup(t)
	e.fails(&client.API{Base: e.alice.Base}, "auth.test", nil, "not_authed")
	e.fails(&client.API{Base: e.alice.Base, Token: "xoxp-wrong"}, "auth.test", nil, "invalid_auth")
	e.fails(e.alice, "admin.users.create", url.Values{"name": {"mallory"}}, "invalid_auth")
	var res struct {
		UserID string `json:"user_id"`
		User   string `json:"user"`
		TeamID string `json:"team_id"`
	}
	e.ok(e.alice, "auth.test", nil, &res)
	if res.UserID != e.aliceID || res.User != "alice" || !strings.HasPrefix(res.TeamID, "T") {
		t.Fatalf("auth.test = %+v", res)
	}
	// The token may also come as a form field.
	code, body := raw(t, "POST", e.alice.Base+"/api/auth.test", "application/x-www-form-urlencoded",
		"token="+e.alice.Token, nil)
	if code != 200 || body["ok"] != true {
		t.Fatalf("token in form: %d %v", code, body)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := setup(t)
	bearer := map[string]string{"Authorization": "Bearer " + e.bob.Token}
	tests := []struct {
		name, method, path, ctype, body, code string
	}{
		{"invalid json", "POST", "chat.postMessage", "application/json", `{"channel":`, "invalid_json"},
		{"json not object", "POST", "chat.postMessage", "application/json", `[1]`, "json_not_object"},
		{"bad charset", "POST", "chat.postMessage", "application/json; charset=latin1", `{}`, "invalid_charset"},
		{"bad post type", "POST", "chat.postMessage", "text/plain", `x`, "invalid_post_type"},
		{"bad form", "POST", "chat.postMessage", "application/x-www-form-urlencoded", `a=%zz`, "invalid_form_data"},
		{"unknown method", "POST", "chat.launchRockets", "", ``, "unknown_method"},
		{"wrong verb", "PUT", "auth.test", "", ``, "invalid_post_type"},
		{"body over 1 MiB", "POST", "chat.postMessage", "application/x-www-form-urlencoded",
			"channel=" + e.ch + "&text=x&pad=" + strings.Repeat("p", 1<<20), "request_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := raw(t, tt.method, e.bob.Base+"/api/"+tt.path, tt.ctype, tt.body, bearer)
			if status != 200 || body["ok"] != false || body["error"] != tt.code {
				t.Fatalf("got %d %v, want 200 %s", status, body, tt.code)
			}
		})
	}
	if n := e.historyLen(e.ch); n != 0 {
		t.Fatalf("malformed requests wrote %d messages", n)
	}
	// A JSON body with a bearer token works.
	status, body := raw(t, "POST", e.bob.Base+"/api/chat.postMessage", "application/json; charset=utf-8",
		fmt.Sprintf(`{"channel":%q,"text":"via json"}`, e.ch), bearer)
	if status != 200 || body["ok"] != true {
		t.Fatalf("JSON post: %d %v", status, body)
	}
}

func TestPostMessageErrors(t *testing.T) {
	e := setup(t)
	e.fails(e.alice, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"x"}}, "not_in_channel")
	e.fails(e.bob, "chat.postMessage", url.Values{"channel": {"CNOSUCH"}, "text": {"x"}}, "channel_not_found")
	e.fails(e.bob, "chat.postMessage", url.Values{"text": {"x"}}, "channel_not_found")
	e.fails(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}}, "no_text")
	e.fails(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {strings.Repeat("y", 4001)}}, "msg_too_long")
	e.fails(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"x"}, "thread_ts": {"soon"}}, "invalid_thread_ts")
	if n := e.historyLen(e.ch); n != 0 {
		t.Fatalf("rejected posts wrote %d messages", n)
	}
	var res struct {
		Channel string
		TS      string
		Message struct{ Text, User, TS string }
	}
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {"#general"}, "text": {"by name"}}, &res)
	if res.Channel != e.ch || res.Message.Text != "by name" || res.TS != res.Message.TS || len(res.TS) != 17 {
		t.Fatalf("postMessage = %+v", res)
	}
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {"general"}, "text": {"by bare name"}}, &res)
	if res.Channel != e.ch {
		t.Fatalf("postMessage by bare name went to %q", res.Channel)
	}
}

// TestPostMessageArchived: an archived channel refuses posts, whether the
// channel's owner answers (by id) or the API resolves it (by name, or
// with a bad text, where the channel's error comes first).
func TestPostMessageArchived(t *testing.T) {
	e := setup(t)
	var me struct {
		UserID string `json:"user_id"`
	}
	e.ok(e.bob, "auth.test", nil, &me)
	// Nothing in the API archives yet: write the channel as another
	// process sharing the store would.
	st, err := sqlite.Open(e.c.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateChannel(t.Context(), chat.Channel{ID: "CARCHIVED", Name: "old-news", Creator: me.UserID, IsArchived: true}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []url.Values{
		{"channel": {"CARCHIVED"}, "text": {"x"}},
		{"channel": {"old-news"}, "text": {"x"}},
		{"channel": {"CARCHIVED"}},
	} {
		e.fails(e.bob, "chat.postMessage", v, "is_archived")
	}
	if n := e.historyLen("CARCHIVED"); n != 0 {
		t.Fatalf("posts to an archived channel wrote %d messages", n)
	}
}

func TestCreateNames(t *testing.T) {
	e := setup(t)
	for name, code := range map[string]string{
		"":                      "invalid_name_required",
		strings.Repeat("a", 81): "invalid_name_maxlength",
		"Hello":                 "invalid_name_specials",
		"a b":                   "invalid_name_specials",
		"---":                   "invalid_name_punctuation",
		"general":               "name_taken",
	} {
		e.fails(e.alice, "conversations.create", url.Values{"name": {name}}, code)
	}
	var list struct{ Channels []any }
	e.ok(e.alice, "conversations.list", nil, &list)
	if len(list.Channels) != 1 {
		t.Fatalf("bad creates left %d channels", len(list.Channels))
	}
}

func TestJoinLeaveInvite(t *testing.T) {
	e := setup(t)
	var join struct {
		Channel struct {
			IsMember bool `json:"is_member"`
		}
		Warning          string
		ResponseMetadata struct{ Warnings []string } `json:"response_metadata"`
	}
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, &join)
	if !join.Channel.IsMember || join.Warning != "" {
		t.Fatalf("join = %+v", join)
	}
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, &join)
	if join.Warning != "already_in_channel" || len(join.ResponseMetadata.Warnings) != 1 {
		t.Fatalf("second join = %+v", join)
	}
	e.ok(e.alice, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"in"}}, nil)
	var leave map[string]any
	e.ok(e.alice, "conversations.leave", url.Values{"channel": {e.ch}}, &leave)
	e.ok(e.alice, "conversations.leave", url.Values{"channel": {e.ch}}, &leave)
	if leave["not_in_channel"] != true {
		t.Fatalf("second leave = %v", leave)
	}
	e.fails(e.alice, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"out"}}, "not_in_channel")
	// A person reads a public channel they are not in, as in Slack.
	e.ok(e.alice, "conversations.history", url.Values{"channel": {e.ch}}, nil)
	e.fails(e.alice, "conversations.join", url.Values{"channel": {"CNOSUCH"}}, "channel_not_found")

	e.fails(e.bob, "conversations.invite", url.Values{"channel": {e.ch}}, "no_user")
	e.fails(e.bob, "conversations.invite", url.Values{"channel": {e.ch}, "users": {"UNOSUCH"}}, "user_not_found")
	_, bobID := "", ""
	var me struct {
		UserID string `json:"user_id"`
	}
	e.ok(e.bob, "auth.test", nil, &me)
	bobID = me.UserID
	e.fails(e.bob, "conversations.invite", url.Values{"channel": {e.ch}, "users": {bobID}}, "cant_invite_self")
	e.fails(e.alice, "conversations.invite", url.Values{"channel": {e.ch}, "users": {bobID}}, "not_in_channel")
	e.ok(e.bob, "conversations.invite", url.Values{"channel": {e.ch}, "users": {`["` + e.aliceID + `"]`}}, nil)
	e.fails(e.bob, "conversations.invite", url.Values{"channel": {e.ch}, "users": {e.aliceID}}, "already_in_channel")
	var members struct{ Members []string }
	e.ok(e.bob, "conversations.members", url.Values{"channel": {e.ch}}, &members)
	if len(members.Members) != 2 {
		t.Fatalf("members = %v", members.Members)
	}
}

func TestHistoryPaging(t *testing.T) {
	e := setup(t)
	for i := 1; i <= 7; i++ {
		e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {fmt.Sprint(i)}}, nil)
	}
	var texts []string
	cursor := ""
	for pages := 0; ; pages++ {
		var h struct {
			Messages []struct{ Text string }
			HasMore  bool `json:"has_more"`
			Meta     struct {
				Next string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		e.ok(e.bob, "conversations.history", url.Values{"channel": {e.ch}, "limit": {"3"}, "cursor": {cursor}}, &h)
		for _, m := range h.Messages {
			texts = append(texts, m.Text)
		}
		if !h.HasMore {
			if h.Meta.Next != "" {
				t.Fatalf("last page has a cursor %q", h.Meta.Next)
			}
			break
		}
		cursor = h.Meta.Next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(texts, ",") != "7,6,5,4,3,2,1" {
		t.Fatalf("paged history = %v", texts)
	}
	e.fails(e.bob, "conversations.history", url.Values{"channel": {e.ch}, "cursor": {"garbage!"}}, "invalid_cursor")
	e.fails(e.bob, "conversations.history", url.Values{"channel": {e.ch}, "cursor": {base64.StdEncoding.EncodeToString([]byte("user:U1"))}}, "invalid_cursor")
	e.fails(e.bob, "conversations.history", url.Values{"channel": {e.ch}, "latest": {"noon"}}, "invalid_ts_latest")
	e.fails(e.bob, "conversations.history", url.Values{"channel": {e.ch}, "oldest": {"-1"}}, "invalid_ts_oldest")
	e.fails(e.bob, "conversations.history", url.Values{"channel": {e.ch}, "limit": {"many"}}, "invalid_limit")
}

func TestListPaging(t *testing.T) {
	e := setup(t)
	for i := range 5 {
		e.ok(e.alice, "conversations.create", url.Values{"name": {fmt.Sprint("room-", i)}}, nil)
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		var l struct {
			Channels []struct {
				ID       string
				IsMember bool `json:"is_member"`
				Name     string
			}
			Meta struct {
				Next string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		e.ok(e.alice, "conversations.list", url.Values{"limit": {"2"}, "cursor": {cursor}}, &l)
		for _, c := range l.Channels {
			if seen[c.ID] {
				t.Fatalf("channel %s listed twice", c.ID)
			}
			seen[c.ID] = true
			if c.IsMember != strings.HasPrefix(c.Name, "room-") {
				t.Fatalf("is_member wrong for %+v", c)
			}
		}
		if l.Meta.Next == "" {
			break
		}
		cursor = l.Meta.Next
	}
	if len(seen) != 6 {
		t.Fatalf("listed %d channels, want 6", len(seen))
	}
	e.fails(e.alice, "conversations.list", url.Values{"types": {"galaxy"}}, "invalid_types")
	e.fails(e.alice, "conversations.list", url.Values{"cursor": {"%%%"}}, "invalid_cursor")
}

func TestUsers(t *testing.T) {
	e := setup(t)
	var info struct {
		User struct {
			ID, Name string
			Profile  struct {
				DisplayName string `json:"display_name"`
			}
		}
	}
	e.ok(e.bob, "users.info", url.Values{"user": {e.aliceID}}, &info)
	if info.User.ID != e.aliceID || info.User.Name != "alice" {
		t.Fatalf("users.info = %+v", info)
	}
	e.fails(e.bob, "users.info", url.Values{"user": {"UNOSUCH"}}, "user_not_found")
	var list struct{ Members []struct{ ID string } }
	e.ok(e.bob, "users.list", nil, &list)
	if len(list.Members) != 2 {
		t.Fatalf("users.list = %+v", list)
	}
	admin := e.c.API(e.c.First().AdminKey())
	admin.Call(context.Background(), "admin.users.create", url.Values{"name": {"Bad Name!"}}, nil)
	e.fails(admin, "admin.users.create", url.Values{"name": {"Bad Name!"}}, "invalid_name")
	e.fails(admin, "admin.users.create", url.Values{"name": {"alice"}}, "name_taken")
}
