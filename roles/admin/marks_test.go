package admin_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
)

func (e *dmEnv) info(api *client.API, ch string) conv {
	e.t.Helper()
	var res struct{ Channel conv }
	e.ok(api, "conversations.info", url.Values{"channel": {ch}}, &res)
	return res.Channel
}

func (e *dmEnv) post(api *client.API, ch, text string) string {
	e.t.Helper()
	var res struct{ TS string }
	e.ok(api, "chat.postMessage", url.Values{"channel": {ch}, "text": {text}}, &res)
	return res.TS
}

func unread(c conv) (int, int) {
	if c.UnreadCount == nil || c.UnreadCountDisplay == nil {
		return -1, -1
	}
	return *c.UnreadCount, *c.UnreadCountDisplay
}

// TestMarkAndUnread: conversations.info tells a member how far they
// read and how much is unread; conversations.mark moves the mark (back
// too), tells the user's sessions, and survives a restart of the node.
func TestMarkAndUnread(t *testing.T) {
	e := setupDM(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	// Bob is the creator: his own message counts as unread but is not
	// shown on his badge.
	ts1 := e.post(e.bob, e.ch, "one")
	e.post(e.alice, e.ch, "two")
	ts3 := e.post(e.alice, e.ch, "three")

	c := e.info(e.bob, e.ch)
	if c.LastRead != "0000000000.000000" {
		t.Fatalf("last_read before any mark = %q", c.LastRead)
	}
	if u, d := unread(c); u != 3 || d != 2 {
		t.Fatalf("bob before marking: unread %d, display %d; want 3, 2", u, d)
	}
	r1 := nodetest.Connect(t, e.bob, "", nil)
	r2 := nodetest.Connect(t, e.bob, "", nil)
	e.ok(e.bob, "conversations.mark", url.Values{"channel": {e.ch}, "ts": {ts1}}, nil)
	for _, r := range []*client.RTM{r1, r2} {
		ev := nodetest.Next(t, r)
		var got map[string]any
		json.Unmarshal(ev.Raw, &got)
		for k, want := range map[string]any{"type": "channel_marked", "channel": e.ch, "ts": ts1,
			"unread_count": float64(2), "unread_count_display": float64(2), "num_mentions": float64(0)} {
			if got[k] != want {
				t.Fatalf("event %s: %s = %v, want %v", ev.Raw, k, got[k], want)
			}
		}
		if _, ok := got["event_ts"].(string); !ok {
			t.Fatalf("event %s has no event_ts", ev.Raw)
		}
	}
	c = e.info(e.bob, e.ch)
	if u, d := unread(c); c.LastRead != ts1 || u != 2 || d != 2 {
		t.Fatalf("after mark: last_read %s, unread %d/%d; want %s, 2/2", c.LastRead, u, d, ts1)
	}
	// Alice's mark is her own.
	if u, d := unread(e.info(e.alice, e.ch)); u != 3 || d != 1 {
		t.Fatalf("alice: unread %d/%d, want 3/1", u, d)
	}
	e.ok(e.bob, "conversations.mark", url.Values{"channel": {e.ch}, "ts": {ts3}}, nil)
	if c = e.info(e.bob, e.ch); c.LastRead != ts3 {
		t.Fatalf("last_read = %s, want %s", c.LastRead, ts3)
	} else if u, d := unread(c); u != 0 || d != 0 {
		t.Fatalf("all read: unread %d/%d", u, d)
	}
	// A thread reply is not in the channel's unread count; one also sent
	// to the channel is.
	e.ok(e.alice, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"aside"}, "thread_ts": {ts1}}, nil)
	if u, d := unread(e.info(e.bob, e.ch)); u != 0 || d != 0 {
		t.Fatalf("after a thread reply: unread %d/%d, want 0/0", u, d)
	}
	var bc struct{ TS string }
	e.ok(e.alice, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"to all"}, "thread_ts": {ts1}, "reply_broadcast": {"true"}}, &bc)
	if u, d := unread(e.info(e.bob, e.ch)); u != 1 || d != 1 {
		t.Fatalf("after a broadcast reply: unread %d/%d, want 1/1", u, d)
	}
	e.ok(e.bob, "conversations.mark", url.Values{"channel": {e.ch}, "ts": {bc.TS}}, nil)
	ts3 = bc.TS
	// Refused marks change nothing.
	for _, tt := range []struct {
		api  *client.API
		args url.Values
		code string
	}{
		{e.bob, url.Values{"channel": {e.ch}}, "invalid_timestamp"},
		{e.bob, url.Values{"channel": {e.ch}, "ts": {"yesterday"}}, "invalid_timestamp"},
		{e.bob, url.Values{"ts": {ts1}}, "channel_not_found"},
		{e.bob, url.Values{"channel": {"CNOSUCH"}, "ts": {ts1}}, "channel_not_found"},
		{e.carol, url.Values{"channel": {e.ch}, "ts": {ts1}}, "not_in_channel"},
	} {
		e.fails(tt.api, "conversations.mark", tt.args, tt.code)
	}
	if c = e.info(e.bob, e.ch); c.LastRead != ts3 {
		t.Fatalf("a refused mark moved last_read to %s", c.LastRead)
	}
	// A non-member's info has no read state.
	if c := e.info(e.carol, e.ch); c.UnreadCount != nil || c.LastRead != "" {
		t.Fatalf("non-member's info = %+v", c)
	}
	// Marking back makes messages unread again (two, three, the broadcast).
	e.ok(e.bob, "conversations.mark", url.Values{"channel": {e.ch}, "ts": {ts1}}, nil)
	if u, _ := unread(e.info(e.bob, e.ch)); u != 3 {
		t.Fatalf("after marking back: unread %d, want 3", u)
	}

	// A DM's mark is im_marked; its info carries the counts too.
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	dts := e.post(e.alice, dm.Channel.ID, "hi bob")
	e.post(e.alice, dm.Channel.ID, "are you there")
	skipTo(t, r1, "im_created")
	skipTo(t, r1, "message")
	skipTo(t, r1, "message")
	if u, d := unread(e.info(e.bob, dm.Channel.ID)); u != 2 || d != 2 {
		t.Fatalf("DM unread %d/%d, want 2/2", u, d)
	}
	e.ok(e.bob, "conversations.mark", url.Values{"channel": {dm.Channel.ID}, "ts": {dts}}, nil)
	if ev := skipTo(t, r1, "im_marked"); !strings.Contains(string(ev.Raw), `"unread_count":1`) {
		t.Fatalf("im_marked = %s", ev.Raw)
	}
	// Durable: another node on the same store (a restart) reads it.
	e.c.Stop("solo")
	e.c.Add(nodetest.Spec{Name: "again"})
	bob := e.c.APIAt("again", e.bob.Token)
	var res struct{ Channel conv }
	e.ok(bob, "conversations.info", url.Values{"channel": {dm.Channel.ID}}, &res)
	if u, _ := unread(res.Channel); res.Channel.LastRead != dts || u != 1 {
		t.Fatalf("after a restart: %+v", res.Channel)
	}
}

// skipTo reads r's events up to the next of type typ.
func skipTo(t *testing.T, r *client.RTM, typ string) *client.Event {
	t.Helper()
	for {
		if ev := nodetest.Next(t, r); ev.Type == typ {
			return ev
		}
	}
}

func TestGetPermalink(t *testing.T) {
	e := setupDM(t)
	ts := e.post(e.bob, e.ch, "look here")
	var res struct{ Channel, Permalink string }
	// A public channel's message: anyone, member or not.
	e.ok(e.alice, "chat.getPermalink", url.Values{"channel": {e.ch}, "message_ts": {ts}}, &res)
	want := e.alice.Base + "/archives/" + e.ch + "/p" + strings.Replace(ts, ".", "", 1)
	if res.Channel != e.ch || res.Permalink != want {
		t.Fatalf("permalink = %+v, want %s", res, want)
	}
	// A thread reply's link names its thread; a deleted message has none.
	var reply struct{ TS string }
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"in the thread"}, "thread_ts": {ts}}, &reply)
	e.ok(e.alice, "chat.getPermalink", url.Values{"channel": {e.ch}, "message_ts": {reply.TS}}, &res)
	if want := e.alice.Base + "/archives/" + e.ch + "/p" + strings.Replace(reply.TS, ".", "", 1) +
		"?cid=" + e.ch + "&thread_ts=" + url.QueryEscape(ts); res.Permalink != want {
		t.Fatalf("reply's permalink = %s, want %s", res.Permalink, want)
	}
	gone := e.post(e.bob, e.ch, "soon gone")
	e.ok(e.bob, "chat.delete", url.Values{"channel": {e.ch}, "ts": {gone}}, nil)
	e.fails(e.alice, "chat.getPermalink", url.Values{"channel": {e.ch}, "message_ts": {gone}}, "message_not_found")

	var priv struct{ Channel struct{ ID string } }
	e.ok(e.bob, "conversations.create", url.Values{"name": {"inner"}, "is_private": {"true"}}, &priv)
	pts := e.post(e.bob, priv.Channel.ID, "secret")
	e.ok(e.bob, "chat.getPermalink", url.Values{"channel": {priv.Channel.ID}, "message_ts": {pts}}, &res)
	for _, tt := range []struct {
		api  *client.API
		args url.Values
		code string
	}{
		{e.alice, url.Values{"channel": {priv.Channel.ID}, "message_ts": {pts}}, "channel_not_found"},
		{e.alice, url.Values{"channel": {"inner"}, "message_ts": {pts}}, "channel_not_found"},
		{e.alice, url.Values{"message_ts": {ts}}, "channel_not_found"},
		{e.alice, url.Values{"channel": {e.ch}, "message_ts": {"1600000000.000100"}}, "message_not_found"},
		{e.alice, url.Values{"channel": {e.ch}}, "message_not_found"},
		{e.alice, url.Values{"channel": {e.ch}, "message_ts": {"soon"}}, "message_not_found"},
	} {
		e.fails(tt.api, "chat.getPermalink", tt.args, tt.code)
	}
}

// TestAPITest: api.test needs no token and echoes its arguments; with
// error=X it fails with X (Slack's behaviour).
func TestAPITest(t *testing.T) {
	e := setup(t)
	base := e.alice.Base + "/api/api.test"
	code, body := raw(t, "POST", base, "application/x-www-form-urlencoded", "foo=bar&n=1", nil)
	args, _ := body["args"].(map[string]any)
	if code != 200 || body["ok"] != true || len(args) != 2 || args["foo"] != "bar" || args["n"] != "1" {
		t.Fatalf("api.test = %d %v", code, body)
	}
	code, body = raw(t, "GET", base+"?foo=baz", "", "", nil)
	if args, _ := body["args"].(map[string]any); code != 200 || body["ok"] != true || args["foo"] != "baz" {
		t.Fatalf("GET api.test = %d %v", code, body)
	}
	// A token is not echoed (and a bad one does not matter).
	_, body = raw(t, "POST", base, "application/x-www-form-urlencoded", "token=xoxp-nope&x=1", nil)
	if args, _ := body["args"].(map[string]any); body["ok"] != true || len(args) != 1 || args["x"] != "1" {
		t.Fatalf("api.test with a token = %v", body)
	}
	_, body = raw(t, "POST", base, "application/json", `{"error":"my_error","a":"b"}`, nil)
	if args, _ := body["args"].(map[string]any); body["ok"] != false || body["error"] != "my_error" || args["a"] != "b" {
		t.Fatalf("api.test error=my_error = %v", body)
	}
	e.fails(e.alice, "api.test", url.Values{"error": {"boom"}}, "boom")
}

// TestUnreadInLists: conversations.list and users.conversations give the
// caller's last_read and unread counts for each conversation they are
// in, as conversations.info does (read up to the newest: 0, from the
// marks alone), and none for a channel they are not in.
func TestUnreadInLists(t *testing.T) {
	e := setupDM(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	var other struct{ Channel struct{ ID string } }
	e.ok(e.carol, "conversations.create", url.Values{"name": {"carols"}}, &other)
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	e.post(e.bob, e.ch, "one")
	e.post(e.alice, e.ch, "two")
	e.post(e.bob, dm.Channel.ID, "hi")
	last := e.post(e.bob, dm.Channel.ID, "there")
	e.post(e.carol, other.Channel.ID, "not alice's")
	check := func(what string) {
		t.Helper()
		for _, method := range []string{"conversations.list", "users.conversations"} {
			var res struct{ Channels []conv }
			e.ok(e.alice, method, url.Values{"types": {"public_channel,im"}}, &res)
			seen := 0
			for _, c := range res.Channels {
				want := e.info(e.alice, c.ID)
				switch {
				case c.ID == other.Channel.ID:
					if c.UnreadCount != nil || c.LastRead != "" {
						t.Fatalf("%s %s: unread fields of a channel alice is not in: %+v", what, method, c)
					}
					continue
				case c.LastRead != want.LastRead || c.UnreadCount == nil || *c.UnreadCount != *want.UnreadCount ||
					*c.UnreadCountDisplay != *want.UnreadCountDisplay:
					t.Fatalf("%s %s: %s has last_read %q unread %v/%v; conversations.info says %q %d/%d", what, method, c.ID,
						c.LastRead, c.UnreadCount, c.UnreadCountDisplay, want.LastRead, *want.UnreadCount, *want.UnreadCountDisplay)
				}
				seen++
			}
			if seen != 2 {
				t.Fatalf("%s %s: %d conversations of alice's listed", what, method, seen)
			}
		}
	}
	check("before any mark")
	if u, d := unread(e.info(e.alice, dm.Channel.ID)); u != 2 || d != 2 {
		t.Fatalf("the DM's unread %d/%d, want 2/2", u, d)
	}
	e.ok(e.alice, "conversations.mark", url.Values{"channel": {dm.Channel.ID}, "ts": {last}}, nil)
	check("after marking the DM")
	if u, d := unread(e.info(e.alice, dm.Channel.ID)); u != 0 || d != 0 {
		t.Fatalf("the DM's unread after the mark %d/%d, want 0/0", u, d)
	}
}
