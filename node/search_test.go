package node_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
)

// searchHits is what a search.messages answer says of its matches.
type searchHits struct {
	Messages struct {
		Total   int
		Matches []struct {
			User, Username, TS, Text string
			ThreadTS                 string `json:"thread_ts"`
			Channel                  struct{ ID string }
		}
	}
}

func (h searchHits) texts() []string {
	out := []string{}
	for _, m := range h.Messages.Matches {
		out = append(out, m.Text)
	}
	return out
}

// TestSearchWhatWasJustSent: whatever way a message got in (over RTM,
// by chat.postMessage, by a bot, in a DM, as a thread reply), the
// search right after its ack finds it, for its conversation's members
// only; an edit is found by its new words and not its old ones, a
// delete is gone; refused searches change nothing.
func TestSearchWhatWasJustSent(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	alice, aliceID := c.User("alice")
	bob, bobID := c.User("bob")
	carol, _ := c.User("carol")
	bot := createApp(t, c, url.Values{"name": {"search-bot"}})
	botAPI := &client.API{Base: alice.Base, Token: bot.BotToken}
	var ch struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"searching"}}, &ch)
	chID := ch.Channel.ID
	nodetest.Call(t, bob, "conversations.join", url.Values{"channel": {chID}}, nil)
	nodetest.Call(t, botAPI, "conversations.join", url.Values{"channel": {chID}}, nil)
	search := func(api *client.API, query string) searchHits {
		t.Helper()
		var h searchHits
		nodetest.Call(t, api, "search.messages", url.Values{"query": {query}, "sort": {"timestamp"}}, &h)
		return h
	}
	found := func(api *client.API, query string, want ...string) searchHits {
		t.Helper()
		h := search(api, query)
		if !slices.Equal(h.texts(), want) || h.Messages.Total != len(want) {
			t.Fatalf("search %q = %q (total %d), want %q", query, h.texts(), h.Messages.Total, want)
		}
		return h
	}
	post := func(api *client.API, args url.Values) string {
		t.Helper()
		var res struct{ TS string }
		nodetest.Call(t, api, "chat.postMessage", args, &res)
		return res.TS
	}

	// Over RTM: searched the moment the ack is read.
	r := nodetest.Connect(t, alice, "", nil)
	id, err := r.Send(t.Context(), map[string]any{"type": "message", "channel": chID, "text": "zebra crossing over rtm"})
	if err != nil {
		t.Fatal(err)
	}
	var ackTS string
	for ackTS == "" {
		ev := nodetest.Next(t, r)
		if ev.ReplyTo != nil && *ev.ReplyTo == id {
			if ev.OK == nil || !*ev.OK {
				t.Fatalf("ack %s", ev.Raw)
			}
			ackTS = ev.TS
		}
	}
	if h := found(bob, "zebra", "zebra crossing over rtm"); h.Messages.Matches[0].TS != ackTS || h.Messages.Matches[0].User != aliceID {
		t.Fatalf("rtm match %+v, ack ts %s", h.Messages.Matches[0], ackTS)
	}

	// chat.postMessage, then its edit.
	ts := post(bob, url.Values{"channel": {chID}, "text": {"a giraffe in the api"}})
	found(alice, "giraffe", "a giraffe in the api")
	nodetest.Call(t, bob, "chat.update", url.Values{"channel": {chID}, "ts": {ts}, "text": {"a gazelle in the api"}}, nil)
	found(alice, "giraffe")
	if h := found(alice, "gazelle", "a gazelle in the api"); h.Messages.Matches[0].TS != ts || h.Messages.Matches[0].User != bobID {
		t.Fatalf("edited match %+v", h.Messages.Matches[0])
	}

	// A bot's message.
	post(botAPI, url.Values{"channel": {chID}, "text": {"okapi report from the bot"}})
	if h := found(alice, "okapi", "okapi report from the bot"); h.Messages.Matches[0].User != bot.BotUserID || h.Messages.Matches[0].Username == "" {
		t.Fatalf("bot match %+v", h.Messages.Matches[0])
	}
	found(alice, "okapi from:<@"+bot.BotUserID+">", "okapi report from the bot")

	// A thread reply, and a delete.
	reply := post(bob, url.Values{"channel": {chID}, "thread_ts": {ackTS}, "text": {"a reply about the zebra"}})
	if h := found(carol, "in:#searching zebra"); h.Messages.Total != 0 {
		t.Fatal("carol is not in the channel")
	}
	if h := found(alice, "zebra", "a reply about the zebra", "zebra crossing over rtm"); h.Messages.Matches[0].ThreadTS != ackTS || h.Messages.Matches[0].TS != reply {
		t.Fatalf("reply match %+v", h.Messages.Matches[0])
	}
	nodetest.Call(t, bob, "chat.delete", url.Values{"channel": {chID}, "ts": {reply}}, nil)
	found(alice, "zebra", "zebra crossing over rtm")

	// A DM: its two people find it, nobody else.
	var dm struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.open", url.Values{"users": {bobID}}, &dm)
	post(alice, url.Values{"channel": {dm.Channel.ID}, "text": {"tapir plans, between us"}})
	found(bob, "tapir", "tapir plans, between us")
	found(alice, "tapir in:@bob", "tapir plans, between us")
	found(carol, "tapir")

	// Refused searches: Slack's errors, and nothing changed.
	history := func() []any {
		var hist struct{ Messages []any }
		nodetest.Call(t, alice, "conversations.history", url.Values{"channel": {chID}}, &hist)
		return hist.Messages
	}
	before, hist := search(alice, "in:#searching"), history()
	if len(before.texts()) != 3 {
		t.Fatalf("in:#searching = %q", before.texts())
	}
	for _, tt := range []struct {
		api  *client.API
		args url.Values
		code string
	}{
		{&client.API{Base: alice.Base}, url.Values{"query": {"zebra"}}, "not_authed"},
		{&client.API{Base: alice.Base, Token: "xoxp-wrong"}, url.Values{"query": {"zebra"}}, "invalid_auth"},
		{alice, url.Values{}, "no_query"},
		{botAPI, url.Values{"query": {"tapir"}}, "not_allowed_token_type"}, // Slack's search takes user tokens only
		{alice, url.Values{"query": {"zebra"}, "sort": {"random"}}, "invalid_arguments"},
	} {
		err := tt.api.Call(context.Background(), "search.messages", tt.args, nil)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Code != tt.code {
			t.Fatalf("search.messages %v: %v, want %s", tt.args, err, tt.code)
		}
	}
	if after := search(alice, "in:#searching"); !slices.Equal(after.texts(), before.texts()) {
		t.Fatalf("after refused searches: %q, before %q", after.texts(), before.texts())
	}
	if after := history(); len(after) != len(hist) {
		t.Fatalf("history: %d entries after refused searches, %d before", len(after), len(hist))
	}
}
