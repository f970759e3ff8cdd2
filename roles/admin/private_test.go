package admin_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/node/nodetest"
)

// TestPrivateChannelIsNotFoundToNonMembers: every method that takes a
// channel answers a non-member of a private channel channel_not_found,
// by id and by name, as for a channel that does not exist; nothing it
// tries changes the channel.
func TestPrivateChannelIsNotFoundToNonMembers(t *testing.T) {
	e := setup(t)
	var res struct {
		Channel struct{ ID string } `json:"channel"`
	}
	e.ok(e.bob, "conversations.create", url.Values{"name": {"secret"}, "is_private": {"true"}}, &res)
	secret := res.Channel.ID
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {secret}, "text": {"the plan"}}, nil)

	for _, ref := range []string{secret, "secret", "#secret", "CNOSUCH", "nosuch"} {
		for _, call := range []struct {
			method string
			args   url.Values
		}{
			{"conversations.info", nil},
			{"conversations.members", nil},
			{"conversations.history", nil},
			{"conversations.join", nil},
			{"conversations.leave", nil},
			{"conversations.invite", url.Values{"users": {e.aliceID}}},
			{"chat.postMessage", url.Values{"text": {"let me in"}}},
			{"chat.postMessage", url.Values{}},                                                   // no text: the channel's error comes first
			{"chat.postMessage", url.Values{"text": {"x"}, "thread_ts": {"not-a-ts"}}},           // likewise
			{"chat.postMessage", url.Values{"text": {"x"}, "client_msg_id": {"retry-me-later"}}}, // idempotent path
			{"conversations.mark", url.Values{"ts": {"1700000000.000001"}}},
			{"chat.getPermalink", url.Values{"message_ts": {"1700000000.000001"}}},
		} {
			args := url.Values{"channel": {ref}}
			for k, v := range call.args {
				args[k] = v
			}
			e.fails(e.alice, call.method, args, "channel_not_found")
		}
	}
	var list struct{ Channels []struct{ ID string } }
	e.ok(e.alice, "conversations.list", url.Values{"types": {"public_channel,private_channel"}}, &list)
	for _, c := range list.Channels {
		if c.ID == secret {
			t.Fatal("conversations.list shows a non-member a private channel")
		}
	}

	// Nothing changed: bob is still alone with his one message.
	var members struct{ Members []string }
	e.ok(e.bob, "conversations.members", url.Values{"channel": {secret}}, &members)
	if len(members.Members) != 1 {
		t.Fatalf("members = %v, want bob alone", members.Members)
	}
	if n := e.historyLen(secret); n != 1 {
		t.Fatalf("history has %d messages, want 1", n)
	}

	// Over RTM too: a post to the private channel is channel_not_found
	// (code 6), and nothing is written.
	r := nodetest.Connect(t, e.alice, "", nil)
	id, err := r.Send(t.Context(), map[string]any{"type": "message", "channel": secret, "text": "over rtm"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev := nodetest.Next(t, r)
		if ev.ReplyTo == nil || *ev.ReplyTo != id {
			continue
		}
		if ev.Error == nil || ev.Error.Code != 6 || ev.Error.Msg != "channel_not_found" {
			t.Fatalf("RTM post to a private channel: %s", ev.Raw)
		}
		break
	}
	if n := e.historyLen(secret); n != 1 {
		t.Fatalf("history has %d messages after the RTM post, want 1", n)
	}

	// A member sees it as before, and an invited user becomes one.
	e.ok(e.bob, "conversations.invite", url.Values{"channel": {secret}, "users": {e.aliceID}}, nil)
	var info struct {
		Channel struct {
			IsPrivate bool `json:"is_private"`
			IsMember  bool `json:"is_member"`
		}
	}
	e.ok(e.alice, "conversations.info", url.Values{"channel": {"secret"}}, &info)
	if !info.Channel.IsPrivate || !info.Channel.IsMember {
		t.Fatalf("info for the invited member = %+v", info)
	}
	e.fails(e.alice, "conversations.join", url.Values{"channel": {secret}}, "method_not_supported_for_channel_type")
	e.ok(e.alice, "conversations.members", url.Values{"channel": {secret}}, &members)
	if !slices.Contains(members.Members, e.aliceID) {
		t.Fatalf("members after invite = %v", members.Members)
	}
}
