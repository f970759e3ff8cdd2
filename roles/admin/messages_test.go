package admin_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
)

// obj is a decoded JSON object.
type obj = map[string]any

// history returns the channel's history as bob sees it.
func (e *env) history(ch string) []obj {
	e.t.Helper()
	var h struct{ Messages []obj }
	e.ok(e.bob, "conversations.history", url.Values{"channel": {ch}}, &h)
	return slices.DeleteFunc(h.Messages, isMemberEntry)
}

// isMemberEntry reports whether a history message is a member's
// channel_join or channel_leave (left out where a test counts the rest).
func isMemberEntry(m obj) bool {
	return m["subtype"] == "channel_join" || m["subtype"] == "channel_leave"
}

// thread returns a thread's messages as bob sees them.
func (e *env) thread(ch, ts string) []obj {
	e.t.Helper()
	var h struct{ Messages []obj }
	e.ok(e.bob, "conversations.replies", url.Values{"channel": {ch}, "ts": {ts}}, &h)
	return h.Messages
}

// post posts text as api and returns its ts.
func (e *env) post(api *client.API, args url.Values) string {
	e.t.Helper()
	var res struct{ TS string }
	e.ok(api, "chat.postMessage", args, &res)
	return res.TS
}

// unchanged fails unless the channel's history and the thread are what
// they were: a refused call changed nothing.
func (e *env) unchanged(what string, hist []obj, thread string, replies []obj) {
	e.t.Helper()
	if got := e.history(e.ch); !reflect.DeepEqual(got, hist) {
		e.t.Fatalf("%s changed history:\n%v\nwas\n%v", what, got, hist)
	}
	if thread != "" {
		if got := e.thread(e.ch, thread); !reflect.DeepEqual(got, replies) {
			e.t.Fatalf("%s changed the thread:\n%v\nwas\n%v", what, got, replies)
		}
	}
}

// TestThreads: replies stay out of history unless broadcast; the parent
// carries reply_count, reply_users, latest_reply; conversations.replies
// pages with a cursor; a reply must name a top-level message.
func TestThreads(t *testing.T) {
	e := setup(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	rtmConn := nodetest.Connect(t, e.alice, "", nil)
	parent := e.post(e.bob, url.Values{"channel": {e.ch}, "text": {"parent"}})
	r1 := e.post(e.alice, url.Values{"channel": {e.ch}, "text": {"r1"}, "thread_ts": {parent}})
	for { // the reply's RTM event names its parent's author, as Slack's does
		ev := nodetest.Next(t, rtmConn)
		if ev.Type != "message" || ev.TS != r1 {
			continue
		}
		var m struct {
			Parent string `json:"parent_user_id"`
		}
		json.Unmarshal(ev.Raw, &m)
		var bob struct {
			ID string `json:"user_id"`
		}
		e.ok(e.bob, "auth.test", nil, &bob)
		if m.Parent != bob.ID || bob.ID == "" {
			t.Fatalf("reply event without parent_user_id: %s", ev.Raw)
		}
		break
	}
	var bc struct {
		TS      string
		Message obj
	}
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"r2"}, "thread_ts": {parent}, "reply_broadcast": {"true"}}, &bc)
	if bc.Message["subtype"] != "thread_broadcast" || bc.Message["thread_ts"] != parent || bc.Message["parent_user_id"] != bc.Message["user"] {
		t.Fatalf("broadcast reply = %v", bc.Message)
	}
	r3 := e.post(e.alice, url.Values{"channel": {e.ch}, "text": {"r3"}, "thread_ts": {parent}})

	hist := e.history(e.ch)
	if len(hist) != 2 || hist[0]["ts"] != bc.TS || hist[1]["ts"] != parent {
		t.Fatalf("history = %v, want the broadcast reply and the parent", hist)
	}
	p := hist[1]
	want := obj{"type": "message", "user": p["user"], "text": "parent", "ts": parent, "thread_ts": parent, "team": p["team"],
		"seq": p["seq"], "reply_count": 3.0, "reply_users_count": 2.0,
		"reply_users": []any{p["reply_users"].([]any)[0], p["user"]}, "latest_reply": r3}
	if !reflect.DeepEqual(p, want) || p["reply_users"].([]any)[0] == p["user"] {
		t.Fatalf("parent = %v\nwant %v", p, want)
	}
	if hist[0]["parent_user_id"] != p["user"] {
		t.Fatalf("the broadcast reply in history = %v, want parent_user_id %v", hist[0], p["user"])
	}
	msgs := e.thread(e.ch, parent)
	var tss []string
	for i, m := range msgs {
		tss = append(tss, m["ts"].(string))
		if m["thread_ts"] != parent {
			t.Fatalf("thread message without thread_ts: %v", m)
		}
		if (i > 0) != (m["parent_user_id"] == p["user"]) { // the parent has none
			t.Fatalf("thread message %d's parent_user_id: %v", i, m)
		}
	}
	if !slices.Equal(tss, []string{parent, r1, bc.TS, r3}) {
		t.Fatalf("replies = %v", tss)
	}
	// Pages of two, by cursor.
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		var page struct {
			Messages []obj
			HasMore  bool `json:"has_more"`
			Meta     struct {
				Next string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		e.ok(e.bob, "conversations.replies", url.Values{"channel": {e.ch}, "ts": {parent}, "limit": {"2"}, "cursor": {cursor}}, &page)
		for _, m := range page.Messages {
			all = append(all, m["ts"].(string))
		}
		if page.HasMore != (page.Meta.Next != "") || pages > 5 {
			t.Fatalf("page %d: has_more %v, next %q", pages, page.HasMore, page.Meta.Next)
		}
		if page.Meta.Next == "" {
			break
		}
		cursor = page.Meta.Next
	}
	if !slices.Equal(all, tss) {
		t.Fatalf("paged replies = %v, want %v", all, tss)
	}

	for _, bad := range []string{r1, "1700000000.000001", "x"} {
		e.fails(e.bob, "conversations.replies", url.Values{"channel": {e.ch}, "ts": {bad}}, "thread_not_found")
		e.fails(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"x"}, "thread_ts": {bad}}, map[bool]string{true: "invalid_thread_ts", false: "thread_not_found"}[bad == "x"])
	}
	e.fails(e.bob, "conversations.replies", url.Values{"channel": {e.ch}, "ts": {parent}, "cursor": {"garbage"}}, "invalid_cursor")
	e.fails(e.bob, "conversations.replies", url.Values{"channel": {"CNOSUCH"}, "ts": {parent}}, "channel_not_found")
	e.unchanged("refused replies", hist, parent, msgs)
}

// TestEditAndDelete: chat.update by the author only, with edited;
// chat.delete by the author or the channel's creator; a parent with
// replies leaves a tombstone. Every refusal changes nothing.
func TestEditAndDelete(t *testing.T) {
	e := setup(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	mine := e.post(e.alice, url.Values{"channel": {e.ch}, "text": {"typo"}})
	bobs := e.post(e.bob, url.Values{"channel": {e.ch}, "text": {"bob's"}})

	var up obj
	e.ok(e.alice, "chat.update", url.Values{"channel": {e.ch}, "ts": {mine}, "text": {"fixed"}}, &up)
	m := up["message"].(obj)
	edited, _ := m["edited"].(obj)
	if up["channel"] != e.ch || up["ts"] != mine || up["text"] != "fixed" || m["text"] != "fixed" || m["ts"] != mine ||
		m["user"] != e.aliceID || edited["user"] != e.aliceID || edited["ts"] == nil || edited["ts"] == mine {
		t.Fatalf("chat.update = %v", up)
	}
	hist := e.history(e.ch)
	if hist[1]["text"] != "fixed" || !reflect.DeepEqual(hist[1]["edited"], m["edited"]) {
		t.Fatalf("history after the edit = %v", hist[1])
	}

	for _, tt := range []struct {
		name string
		api  *client.API
		args url.Values
		code string
	}{
		{"not the author", e.bob, url.Values{"ts": {mine}, "text": {"x"}}, "cant_update_message"},
		{"no such message", e.alice, url.Values{"ts": {"1700000000.000001"}, "text": {"x"}}, "message_not_found"},
		{"bad ts", e.alice, url.Values{"ts": {"x"}, "text": {"x"}}, "message_not_found"},
		{"no text", e.alice, url.Values{"ts": {mine}}, "no_text"},
		{"too long", e.alice, url.Values{"ts": {mine}, "text": {strings.Repeat("x", 4001)}}, "msg_too_long"},
		{"bad blocks", e.alice, url.Values{"ts": {mine}, "text": {"x"}, "blocks": {`{"type":"divider"}`}}, "invalid_blocks"},
		{"no channel", e.alice, url.Values{"channel": {"CNOSUCH"}, "ts": {mine}, "text": {"x"}}, "channel_not_found"},
	} {
		args := url.Values{"channel": {e.ch}}
		for k, v := range tt.args {
			args[k] = v
		}
		e.fails(tt.api, "chat.update", args, tt.code)
		e.unchanged("chat.update "+tt.name, hist, "", nil)
	}

	e.fails(e.alice, "chat.delete", url.Values{"channel": {e.ch}, "ts": {bobs}}, "cant_delete_message")
	e.fails(e.alice, "chat.delete", url.Values{"channel": {e.ch}, "ts": {"1700000000.000001"}}, "message_not_found")
	e.unchanged("refused chat.delete", hist, "", nil)
	// bob created the channel: he may delete alice's message.
	var del obj
	e.ok(e.bob, "chat.delete", url.Values{"channel": {e.ch}, "ts": {mine}}, &del)
	if del["seq"] == nil || !reflect.DeepEqual(del, obj{"ok": true, "channel": e.ch, "ts": mine, "seq": del["seq"]}) {
		t.Fatalf("chat.delete = %v", del)
	}
	if hist := e.history(e.ch); len(hist) != 1 || hist[0]["ts"] != bobs {
		t.Fatalf("history after delete = %v", hist)
	}
	e.fails(e.bob, "chat.delete", url.Values{"channel": {e.ch}, "ts": {mine}}, "message_not_found")
	e.fails(e.alice, "chat.update", url.Values{"channel": {e.ch}, "ts": {mine}, "text": {"back"}}, "message_not_found")

	// A parent with replies leaves a tombstone; its thread stays.
	reply := e.post(e.alice, url.Values{"channel": {e.ch}, "text": {"reply"}, "thread_ts": {bobs}})
	e.ok(e.bob, "chat.delete", url.Values{"channel": {e.ch}, "ts": {bobs}}, nil)
	hist = e.history(e.ch)
	if len(hist) != 1 || hist[0]["subtype"] != "tombstone" || hist[0]["text"] != "This message was deleted." || hist[0]["reply_count"] != 1.0 {
		t.Fatalf("history after deleting a parent = %v", hist)
	}
	if th := e.thread(e.ch, bobs); len(th) != 2 || th[1]["ts"] != reply {
		t.Fatalf("thread under a tombstone = %v", th)
	}
	// ... and goes with its last reply.
	e.ok(e.alice, "chat.delete", url.Values{"channel": {e.ch}, "ts": {reply}}, nil)
	if hist := e.history(e.ch); len(hist) != 0 {
		t.Fatalf("history after deleting the last reply = %v", hist)
	}
}

// TestReactions: add, remove and get, with counts and users in history;
// Slack's errors, each changing nothing.
func TestReactions(t *testing.T) {
	e := setup(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	ts := e.post(e.bob, url.Values{"channel": {e.ch}, "text": {"react to me"}})
	at := func(name string) url.Values {
		return url.Values{"channel": {e.ch}, "timestamp": {ts}, "name": {name}}
	}
	var res obj
	e.ok(e.alice, "reactions.add", at("thumbsup"), &res)
	if len(res) != 2 || res["ok"] != true || res["seq"] == nil {
		t.Fatalf("reactions.add = %v", res)
	}
	e.ok(e.bob, "reactions.add", at("thumbsup"), nil)
	e.ok(e.bob, "reactions.add", at("+1::skin-tone-3"), nil)
	hist := e.history(e.ch)
	want := []any{
		obj{"name": "thumbsup", "count": 2.0, "users": []any{e.aliceID, hist[0]["user"]}},
		obj{"name": "+1::skin-tone-3", "count": 1.0, "users": []any{hist[0]["user"]}},
	}
	if !reflect.DeepEqual(hist[0]["reactions"], want) {
		t.Fatalf("reactions in history = %v\nwant %v", hist[0]["reactions"], want)
	}
	var get obj
	e.ok(e.alice, "reactions.get", url.Values{"channel": {e.ch}, "timestamp": {ts}}, &get)
	if get["type"] != "message" || get["channel"] != e.ch || !reflect.DeepEqual(get["message"], hist[0]) {
		t.Fatalf("reactions.get = %v", get)
	}

	for _, tt := range []struct {
		method string
		api    *client.API
		args   url.Values
		code   string
	}{
		{"reactions.add", e.alice, at("thumbsup"), "already_reacted"},
		{"reactions.add", e.alice, at(":thumbsup:"), "invalid_name"},
		{"reactions.add", e.alice, at("Thumbsup"), "invalid_name"},
		{"reactions.add", e.alice, at("x::skin-tone-7"), "invalid_name"},
		{"reactions.add", e.alice, url.Values{"channel": {e.ch}, "timestamp": {ts}}, "invalid_arguments"},
		{"reactions.add", e.alice, url.Values{"channel": {e.ch}, "timestamp": {"1700000000.000001"}, "name": {"eyes"}}, "message_not_found"},
		{"reactions.remove", e.alice, at("eyes"), "no_reaction"},
		{"reactions.remove", e.alice, at("+1::skin-tone-3"), "no_reaction"},
		{"reactions.get", e.alice, url.Values{"channel": {e.ch}, "timestamp": {"1700000000.000001"}}, "message_not_found"},
	} {
		e.fails(tt.api, tt.method, tt.args, tt.code)
		e.unchanged(fmt.Sprintf("%s %v", tt.method, tt.args), hist, "", nil)
	}
	e.ok(e.alice, "conversations.leave", url.Values{"channel": {e.ch}}, nil)
	e.fails(e.alice, "reactions.add", at("eyes"), "not_in_channel")
	e.ok(e.alice, "reactions.remove", at("thumbsup"), nil) // taking one's own back needs no membership
	e.ok(e.bob, "reactions.remove", at("+1::skin-tone-3"), nil)
	hist = e.history(e.ch)
	want = []any{obj{"name": "thumbsup", "count": 1.0, "users": []any{hist[0]["user"]}}}
	if !reflect.DeepEqual(hist[0]["reactions"], want) {
		t.Fatalf("reactions after removes = %v", hist[0]["reactions"])
	}
}

// TestRichMessages: blocks and attachments are stored as given and
// returned by the post, history, replies and the edit; bad ones are
// refused and store nothing.
func TestRichMessages(t *testing.T) {
	e := setup(t)
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]`
	attachments := `[{"fallback":"f","color":"#36a64f"}]`
	var post struct {
		TS      string
		Message obj
	}
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"fallback"}, "blocks": {blocks}, "attachments": {attachments}}, &post)
	var wantBlocks, wantAttachments any
	json.Unmarshal([]byte(blocks), &wantBlocks)
	json.Unmarshal([]byte(attachments), &wantAttachments)
	if !reflect.DeepEqual(post.Message["blocks"], wantBlocks) || !reflect.DeepEqual(post.Message["attachments"], wantAttachments) {
		t.Fatalf("post response = %v", post.Message)
	}
	// Blocks alone need no text.
	reply := e.post(e.bob, url.Values{"channel": {e.ch}, "blocks": {blocks}, "thread_ts": {post.TS}})
	hist := e.history(e.ch)
	if !reflect.DeepEqual(hist[0]["blocks"], wantBlocks) || !reflect.DeepEqual(hist[0]["attachments"], wantAttachments) {
		t.Fatalf("history = %v", hist[0])
	}
	if th := e.thread(e.ch, post.TS); len(th) != 2 || th[1]["ts"] != reply || !reflect.DeepEqual(th[1]["blocks"], wantBlocks) {
		t.Fatalf("thread = %v", th)
	}
	for _, bad := range []url.Values{
		{"blocks": {`{"type":"divider"}`}},
		{"blocks": {`[1]`}},
		{"blocks": {`[{"type":"divider"}`}},
		{"blocks": {`[{"text":"` + strings.Repeat("x", 17<<10) + `"}]`}},
		{"attachments": {`["x"]`}},
		{"attachments": {`nope`}},
	} {
		args := url.Values{"channel": {e.ch}, "text": {"t"}}
		for k, v := range bad {
			args[k] = v
		}
		code := "invalid_blocks"
		if bad["attachments"] != nil {
			code = "invalid_attachments"
		}
		e.fails(e.bob, "chat.postMessage", args, code)
		e.unchanged("a bad post", hist, post.TS, e.thread(e.ch, post.TS))
	}
	var up obj
	e.ok(e.bob, "chat.update", url.Values{"channel": {e.ch}, "ts": {post.TS}, "text": {"t2"}, "blocks": {`[{"type":"divider"}]`}}, &up)
	if hist := e.history(e.ch); !reflect.DeepEqual(hist[0]["blocks"], []any{obj{"type": "divider"}}) || hist[0]["attachments"] != nil {
		t.Fatalf("history after editing the blocks = %v", hist[0])
	}
}

// TestChangesResume: a client disconnected through posts, edits,
// deletes, reactions and thread replies gets exactly their events, in
// seq order, when it resumes; its view rebuilt from them equals history
// and replies.
func TestChangesResume(t *testing.T) {
	e := setup(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	first := e.post(e.bob, url.Values{"channel": {e.ch}, "text": {"first"}})
	r := nodetest.Connect(t, e.alice, "", nil)
	// Read up to a marker to learn the seq seen so far.
	marker := e.post(e.bob, url.Values{"channel": {e.ch}, "text": {"marker"}})
	var seen uint64
	for {
		ev := nodetest.Next(t, r)
		if ev.Type == "message" && ev.TS == marker {
			seen = ev.Seq
			break
		}
	}
	r.Conn.CloseNow()

	// Meanwhile: a mix of every kind of change.
	ch := url.Values{"channel": {e.ch}}
	with := func(kv ...string) url.Values {
		v := url.Values{"channel": {e.ch}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	_ = ch
	p := e.post(e.bob, with("text", "parent"))
	e.post(e.alice, with("text", "reply 1", "thread_ts", p))
	e.ok(e.bob, "chat.update", with("ts", first, "text", "first, edited"), nil)
	e.ok(e.alice, "reactions.add", with("timestamp", p, "name", "eyes"), nil)
	e.ok(e.bob, "reactions.add", with("timestamp", first, "name", "tada"), nil)
	e.ok(e.bob, "reactions.remove", with("timestamp", first, "name", "tada"), nil)
	e.post(e.bob, with("text", "reply 2", "thread_ts", p, "reply_broadcast", "true"))
	e.ok(e.bob, "chat.delete", with("ts", marker), nil)
	r3 := e.post(e.alice, with("text", "reply 3", "thread_ts", p))
	e.ok(e.alice, "chat.update", with("ts", r3, "text", "reply 3, edited"), nil)
	last := e.post(e.bob, with("text", "last"))

	r = nodetest.Connect(t, e.alice, "", map[string]uint64{e.ch: seen})
	type event struct {
		Type, Subtype, TS, ThreadTS, DeletedTS, Text, Reaction, User string
		Seq                                                          uint64
		Message                                                      *struct{ TS, Text string }
		Item                                                         *struct{ TS string }
	}
	var events []event
	for {
		ev := nodetest.Next(t, r)
		if ev.Seq == 0 {
			continue // not of the channel's log (presence...)
		}
		var x event
		if err := json.Unmarshal(ev.Raw, &x); err != nil {
			t.Fatal(err)
		}
		x.ThreadTS = gjson(ev.Raw, "thread_ts")
		x.DeletedTS = gjson(ev.Raw, "deleted_ts")
		events = append(events, x)
		if x.TS == last {
			break
		}
	}
	var kinds []string
	for i, ev := range events {
		if ev.Seq != seen+uint64(i)+1 {
			t.Fatalf("event %d has seq %d, want %d: %+v", i, ev.Seq, seen+uint64(i)+1, events)
		}
		kinds = append(kinds, ev.Type+"/"+ev.Subtype)
	}
	want := []string{"message/", "message/", "message/message_changed", "reaction_added/", "reaction_added/", "reaction_removed/",
		"message/thread_broadcast", "message/message_deleted", "message/", "message/message_changed", "message/"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("events after resume = %v\nwant %v", kinds, want)
	}

	// Rebuild the view: texts by ts, reactions by ts, threads.
	type view struct {
		text      map[string]string
		reactions map[string]map[string]int
		thread    map[string]string // reply ts -> parent ts
	}
	v := view{text: map[string]string{first: "first", marker: "marker"}, reactions: map[string]map[string]int{}, thread: map[string]string{}}
	for _, ev := range events {
		switch {
		case ev.Type == "message" && ev.Subtype == "message_changed":
			v.text[ev.Message.TS] = ev.Message.Text
		case ev.Type == "message" && ev.Subtype == "message_deleted":
			delete(v.text, ev.DeletedTS)
		case ev.Type == "message":
			v.text[ev.TS] = ev.Text
			if ev.ThreadTS != "" && ev.ThreadTS != ev.TS {
				v.thread[ev.TS] = ev.ThreadTS
				if ev.Subtype != "thread_broadcast" {
					v.thread[ev.TS] += " only"
				}
			}
		case ev.Type == "reaction_added":
			if v.reactions[ev.Item.TS] == nil {
				v.reactions[ev.Item.TS] = map[string]int{}
			}
			v.reactions[ev.Item.TS][ev.Reaction]++
		case ev.Type == "reaction_removed":
			if v.reactions[ev.Item.TS][ev.Reaction]--; v.reactions[ev.Item.TS][ev.Reaction] == 0 {
				delete(v.reactions[ev.Item.TS], ev.Reaction)
			}
		}
	}
	// What the server says now.
	got := view{text: map[string]string{}, reactions: map[string]map[string]int{}, thread: map[string]string{}}
	add := func(m obj, inThread bool) {
		ts := m["ts"].(string)
		got.text[ts] = m["text"].(string)
		for _, x := range asList(m["reactions"]) {
			rx := x.(obj)
			if got.reactions[ts] == nil {
				got.reactions[ts] = map[string]int{}
			}
			got.reactions[ts][rx["name"].(string)] = int(rx["count"].(float64))
		}
		if parent, _ := m["thread_ts"].(string); parent != "" && parent != ts {
			if inThread && got.thread[ts] == "" {
				got.thread[ts] = parent + " only"
			}
			if !inThread {
				got.thread[ts] = parent
			}
		}
	}
	for _, m := range e.history(e.ch) {
		add(m, false)
		if m["reply_count"] != nil {
			for _, rm := range e.thread(e.ch, m["ts"].(string))[1:] {
				add(rm, true)
			}
		}
	}
	for ts, rs := range v.reactions {
		if len(rs) == 0 {
			delete(v.reactions, ts)
		}
	}
	if !reflect.DeepEqual(v, got) {
		t.Fatalf("view rebuilt from events:\n%+v\nhistory and replies:\n%+v", v, got)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// gjson reads a top-level string field of a JSON object.
func gjson(raw []byte, k string) string {
	var m map[string]any
	json.Unmarshal(raw, &m)
	s, _ := m[k].(string)
	return s
}

// TestReactionLimits: Slack's two limits on one message: 23 reactions
// per person (too_many_reactions) and 50 distinct emoji
// (too_many_emoji); a refused reaction changes nothing, and an emoji
// already on the message can still be added by someone else.
func TestReactionLimits(t *testing.T) {
	e := setupDM(t)
	for _, api := range []*client.API{e.alice, e.carol} {
		e.ok(api, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	}
	ts := e.env.post(e.bob, url.Values{"channel": {e.ch}, "text": {"react to me"}})
	at := func(name string) url.Values {
		return url.Values{"channel": {e.ch}, "timestamp": {ts}, "name": {name}}
	}
	emoji := func(i int) string { return fmt.Sprintf("e%d", i) }
	for i := range 23 {
		e.ok(e.alice, "reactions.add", at(emoji(i)), nil)
	}
	hist := e.history(e.ch)
	e.fails(e.alice, "reactions.add", at(emoji(23)), "too_many_reactions")
	e.fails(e.alice, "reactions.add", at(emoji(0)), "already_reacted")
	e.unchanged("a 24th reaction", hist, "", nil)
	for i := 23; i < 46; i++ {
		e.ok(e.bob, "reactions.add", at(emoji(i)), nil)
	}
	for i := 46; i < 50; i++ {
		e.ok(e.carol, "reactions.add", at(emoji(i)), nil)
	}
	hist = e.history(e.ch)
	if rs := hist[0]["reactions"].([]any); len(rs) != 50 {
		t.Fatalf("%d reactions, want 50", len(rs))
	}
	e.fails(e.carol, "reactions.add", at("one-too-many"), "too_many_emoji")
	e.unchanged("a 51st emoji", hist, "", nil)
	// An emoji already there is no new one.
	e.ok(e.carol, "reactions.add", at(emoji(0)), nil)
	// Removing one of hers lets alice add another.
	e.ok(e.alice, "reactions.remove", at(emoji(1)), nil)
	e.ok(e.alice, "reactions.add", at(emoji(30)), nil)
}
