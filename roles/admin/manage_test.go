package admin_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/node/nodetest"
)

// TestChannelManagement: setTopic, setPurpose, rename, archive,
// unarchive and kick, their responses, their history messages and
// events, every error, and that a refused call changes nothing.
func TestChannelManagement(t *testing.T) {
	e := setup(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	r := nodetest.Connect(t, e.alice, "", nil)
	args := func(kv ...string) url.Values {
		v := url.Values{"channel": {e.ch}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// next returns the next event of the channel's log.
	next := func() map[string]any {
		t.Helper()
		for {
			ev := nodetest.Next(t, r)
			if ev.Seq != 0 {
				var m map[string]any
				if err := json.Unmarshal(ev.Raw, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
	}
	info := func() obj {
		t.Helper()
		var res struct{ Channel obj }
		e.ok(e.bob, "conversations.info", url.Values{"channel": {e.ch}}, &res)
		return res.Channel
	}

	var res struct{ Channel obj }
	e.ok(e.alice, "conversations.setTopic", args("topic", "the topic"), &res)
	if res.Channel["id"] != e.ch || res.Channel["topic"].(obj)["value"] != "the topic" || res.Channel["is_member"] != true {
		t.Fatalf("setTopic = %v", res.Channel)
	}
	if ev := next(); ev["type"] != "message" || ev["subtype"] != "channel_topic" || ev["topic"] != "the topic" || ev["user"] != e.aliceID ||
		ev["text"] != "<@"+e.aliceID+"> set the channel topic: the topic" {
		t.Fatalf("channel_topic event = %v", ev)
	}
	e.ok(e.alice, "conversations.setPurpose", args("purpose", "the purpose"), &res)
	if res.Channel["purpose"].(obj)["value"] != "the purpose" {
		t.Fatalf("setPurpose = %v", res.Channel)
	}
	if ev := next(); ev["subtype"] != "channel_purpose" || ev["purpose"] != "the purpose" {
		t.Fatalf("channel_purpose event = %v", ev)
	}
	e.ok(e.alice, "conversations.rename", args("name", "renamed"), &res)
	if res.Channel["name"] != "renamed" || info()["name"] != "renamed" {
		t.Fatalf("rename = %v", res.Channel)
	}
	if ev := next(); ev["type"] != "channel_rename" || ev["channel"].(obj)["name"] != "renamed" || ev["channel"].(obj)["id"] != e.ch {
		t.Fatalf("channel_rename event = %v", ev)
	}
	hist := e.history(e.ch)
	if len(hist) != 3 || hist[0]["subtype"] != "channel_name" || hist[1]["subtype"] != "channel_purpose" || hist[2]["subtype"] != "channel_topic" {
		t.Fatalf("history = %v", hist)
	}

	var other struct{ Channel struct{ ID string } }
	e.ok(e.bob, "conversations.create", url.Values{"name": {"taken"}}, &other)
	for _, tt := range []struct {
		method string
		args   url.Values
		code   string
	}{
		{"conversations.setTopic", args("topic", strings.Repeat("é", 251)), "too_long"},
		{"conversations.setPurpose", args("purpose", strings.Repeat("x", 251)), "too_long"},
		{"conversations.rename", args("name", "taken"), "name_taken"},
		{"conversations.rename", args("name", "Bad Name"), "invalid_name_specials"},
		{"conversations.rename", args(), "invalid_name_required"},
		{"conversations.unarchive", args(), "not_archived"},
		{"conversations.kick", args("user", e.aliceID), "cant_kick_self"},
		{"conversations.kick", args("user", "UNOSUCH"), "user_not_found"},
		{"conversations.kick", args(), "invalid_arguments"},
		{"conversations.setTopic", url.Values{"channel": {other.Channel.ID}, "topic": {"x"}}, "not_in_channel"},
		{"conversations.archive", url.Values{"channel": {other.Channel.ID}}, "not_in_channel"},
		{"conversations.setTopic", url.Values{"channel": {"CNOSUCH"}, "topic": {"x"}}, "channel_not_found"},
	} {
		e.fails(e.alice, tt.method, tt.args, tt.code)
		e.unchanged(tt.method+" "+tt.code, hist, "", nil)
	}
	if ch := info(); ch["name"] != "renamed" || ch["topic"].(obj)["value"] != "the topic" || ch["is_archived"] != false {
		t.Fatalf("channel after refusals = %v", ch)
	}

	// Archive: posts and changes refused, until unarchived.
	var ok obj
	e.ok(e.alice, "conversations.archive", args(), &ok)
	if len(ok) != 1 || ok["ok"] != true {
		t.Fatalf("archive = %v", ok)
	}
	if ev := next(); ev["type"] != "channel_archive" || ev["channel"] != e.ch || ev["user"] != e.aliceID {
		t.Fatalf("channel_archive event = %v", ev)
	}
	if info()["is_archived"] != true {
		t.Fatal("not archived")
	}
	hist = e.history(e.ch)
	for _, tt := range []struct {
		method string
		args   url.Values
		code   string
	}{
		{"chat.postMessage", args("text", "x"), "is_archived"},
		{"conversations.setTopic", args("topic", "x"), "is_archived"},
		{"conversations.archive", args(), "already_archived"},
		{"conversations.kick", args("user", e.aliceID), "is_archived"},
	} {
		e.fails(e.bob, tt.method, tt.args, tt.code)
		e.unchanged(tt.method+" "+tt.code, hist, "", nil)
	}
	e.ok(e.bob, "conversations.unarchive", args(), nil)
	if ev := next(); ev["type"] != "channel_unarchive" || ev["user"] == e.aliceID {
		t.Fatalf("channel_unarchive event = %v", ev)
	}
	e.post(e.bob, args("text", "back"))
	if ev := next(); ev["text"] != "back" {
		t.Fatalf("post after unarchive = %v", ev)
	}

	// Kick: alice is removed; her sessions are told.
	e.ok(e.bob, "conversations.kick", args("user", e.aliceID), nil)
	for {
		ev := nodetest.Next(t, r)
		if ev.Type == "channel_left" && ev.ChannelID() == e.ch {
			break
		}
	}
	e.fails(e.bob, "conversations.kick", args("user", e.aliceID), "not_in_channel")
	e.fails(e.alice, "chat.postMessage", args("text", "x"), "not_in_channel")
	e.fails(e.alice, "conversations.kick", args("user", e.aliceID), "not_in_channel")
}
