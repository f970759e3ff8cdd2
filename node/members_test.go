package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// label is how TestMembersAreLogEntries writes what a socket received:
// a message by its text (a join or leave message by its subtype and
// user), an event by its type and user.
func label(ev *client.Event) string {
	switch {
	case ev.Type == "message" && ev.Subtype != "":
		return ev.Subtype + " " + ev.User
	case ev.Type == "message":
		return ev.Text
	}
	return ev.Type + " " + ev.User
}

// readUntil reads r's frames about channel ch (and the fence message)
// until the fence, returning their labels; pongs, hellos and acks are
// skipped.
func readUntil(t *testing.T, r *client.RTM, ch, fence string) []string {
	t.Helper()
	var got []string
	for {
		ev := nodetest.Next(t, r)
		if ev.Type == "message" && ev.Text == fence {
			return got
		}
		if ev.Type == "" || ev.Type == "hello" || ev.ChannelID() != ch {
			continue
		}
		got = append(got, label(ev))
	}
}

// readN reads r's frames until n of them are about channel ch, returning
// their labels (a resume's replay and another channel's live messages
// are not ordered with each other).
func readN(t *testing.T, r *client.RTM, ch string, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		ev := nodetest.Next(t, r)
		if ev.Type == "" || ev.Type == "hello" || ev.ChannelID() != ch {
			continue
		}
		got = append(got, label(ev))
	}
	return got
}

// TestMembersAreLogEntries: invites, a kick and a rejoin of a private
// channel are entries of its log, on a cluster where the channel's owner
// is not the gateway's node nor the API's. Members receive Slack's
// member_joined_channel / member_left_channel and the channel_join /
// channel_leave messages in the channel's order; the kicked user's
// socket gets group_left after the messages before the kick and nothing
// after it; a resume across the kick replays it in place, and a kicked
// user's resume stops at its own leave until its rejoin; refused
// membership calls change nothing.
func TestMembersAreLogEntries(t *testing.T) {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "gw", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.35.1"},
		nodetest.Spec{Name: "api", Roles: []ring.Role{ring.RoleAdmin, ring.RolePresence}, Host: "127.0.35.2"},
		nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.35.3"},
	)
	alice, aliceID := c.User("alice")
	bob, bobID := c.User("bob")
	carol, carolID := c.User("carol")
	var res struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"secret"}, "is_private": {"true"}}, &res)
	secret := res.Channel.ID
	nodetest.Call(t, bob, "conversations.create", url.Values{"name": {"fence"}}, &res)
	fence := res.Channel.ID
	nodetest.Call(t, alice, "conversations.join", url.Values{"channel": {fence}}, nil)
	nodetest.Call(t, carol, "conversations.join", url.Values{"channel": {fence}}, nil)
	if owner := nodetest.Owner(c.Node("gw"), secret); owner != "core" {
		t.Fatalf("the channel's owner is %s", owner)
	}
	gw := c.Node("gw").HTTPAddr()
	post := func(api *client.API, ch, text string) string {
		t.Helper()
		var r struct{ TS string }
		nodetest.Call(t, api, "chat.postMessage", url.Values{"channel": {ch}, "text": {text}}, &r)
		return r.TS
	}
	history := func() []string {
		t.Helper()
		var h struct{ Messages []json.RawMessage }
		nodetest.Call(t, alice, "conversations.history", url.Values{"channel": {secret}}, &h)
		var out []string
		for _, raw := range slices.Backward(h.Messages) {
			var ev client.Event
			json.Unmarshal(raw, &ev)
			out = append(out, label(&ev))
		}
		return out
	}
	fails := func(api *client.API, method string, args url.Values, code string) {
		t.Helper()
		before := history()
		err := api.Call(context.Background(), method, args, nil)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Code != code {
			t.Fatalf("%s %v: %v, want %s", method, args, err, code)
		}
		if after := history(); !slices.Equal(before, after) {
			t.Fatalf("%s %v changed the history: %q -> %q", method, args, before, after)
		}
	}

	aliceRTM := nodetest.Connect(t, alice, gw, nil)
	bobRTM := nodetest.Connect(t, bob, gw, nil)
	carolRTM := nodetest.Connect(t, carol, gw, nil)
	nodetest.Call(t, alice, "conversations.invite", url.Values{"channel": {secret}, "users": {bobID + "," + carolID}}, nil)
	for _, r := range []*client.RTM{bobRTM, carolRTM} {
		ev := nodetest.Next(t, r)
		for ev.Type == "member_joined_channel" || ev.Type == "message" { // the other's join, when it came first
			ev = nodetest.Next(t, r)
		}
		if ev.Type != "group_joined" || ev.ChannelID() != secret {
			t.Fatalf("first event %s, want group_joined", ev.Raw)
		}
	}
	joins := []string{"member_joined_channel " + bobID, "channel_join " + bobID, "member_joined_channel " + carolID, "channel_join " + carolID}
	post(alice, fence, "f0")
	if got := readUntil(t, aliceRTM, secret, "f0"); !slices.Equal(got, joins) {
		t.Fatalf("alice saw %q, want %q", got, joins)
	}
	var seqs []uint64 // the channel's entries, as carol receives them
	for _, text := range []string{"m1", "m2"} {
		post(alice, secret, text)
	}
	nodetest.Call(t, alice, "conversations.kick", url.Values{"channel": {secret}, "user": {bobID}}, nil)
	for _, text := range []string{"m3", "m4"} {
		post(alice, secret, text)
	}
	post(alice, fence, "f1")

	// bob: the messages before the kick, group_left, nothing after.
	var left *client.Event
	var bobGot []string
	for {
		ev := nodetest.Next(t, bobRTM)
		if ev.Type == "message" && ev.Text == "f1" {
			break
		}
		if ev.ChannelID() == secret {
			bobGot = append(bobGot, label(ev))
			if ev.Type == "group_left" {
				left = ev
			}
		}
	}
	if want := []string{"channel_join " + carolID, "m1", "m2", "group_left "}; !slices.Equal(bobGot[len(bobGot)-4:], want) {
		t.Fatalf("bob got %q, want it to end with %q", bobGot, want)
	}
	var l struct {
		Actor   string `json:"actor_id"`
		EventTS string `json:"event_ts"`
	}
	json.Unmarshal(left.Raw, &l)
	if l.Actor != aliceID || l.EventTS == "" {
		t.Fatalf("group_left = %s", left.Raw)
	}

	// carol: everything, the kick in place.
	want := []string{"m1", "m2", "member_left_channel " + bobID, "channel_leave " + bobID, "m3", "m4"}
	var carolGot []string
	for {
		ev := nodetest.Next(t, carolRTM)
		if ev.Type == "message" && ev.Text == "f1" {
			break
		}
		if ev.ChannelID() != secret {
			continue
		}
		if l := label(ev); slices.Contains(joins, l) {
			continue
		}
		carolGot = append(carolGot, label(ev))
		if ev.Type == "message" {
			seqs = append(seqs, ev.Seq)
		}
		if ev.Type == "member_left_channel" {
			var m struct {
				ChannelType string `json:"channel_type"`
				Team        string `json:"team"`
			}
			json.Unmarshal(ev.Raw, &m)
			if m.ChannelType != "G" || m.Team == "" {
				t.Fatalf("member_left_channel = %s", ev.Raw)
			}
		}
	}
	if !slices.Equal(carolGot, want) {
		t.Fatalf("carol got %q, want %q", carolGot, want)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("carol's seqs %v are not dense", seqs)
		}
	}
	wantHistory := []string{"channel_join " + bobID, "channel_join " + carolID, "m1", "m2", "channel_leave " + bobID, "m3", "m4"}
	if got := history(); !slices.Equal(got, wantHistory) {
		t.Fatalf("history %q, want %q", got, wantHistory)
	}

	// Refused calls change nothing.
	fails(bob, "chat.postMessage", url.Values{"channel": {secret}, "text": {"still here?"}}, "channel_not_found")
	fails(bob, "conversations.history", url.Values{"channel": {secret}}, "channel_not_found")
	fails(alice, "conversations.kick", url.Values{"channel": {secret}, "user": {bobID}}, "not_in_channel")
	fails(alice, "conversations.kick", url.Values{"channel": {secret}, "user": {aliceID}}, "cant_kick_self")
	fails(bob, "conversations.kick", url.Values{"channel": {secret}, "user": {carolID}}, "channel_not_found")
	fails(bob, "conversations.invite", url.Values{"channel": {secret}, "users": {bobID}}, "channel_not_found")
	fails(alice, "conversations.invite", url.Values{"channel": {secret}, "users": {carolID}}, "already_in_channel")
	fails(bob, "conversations.join", url.Values{"channel": {secret}}, "channel_not_found")
	fails(alice, "conversations.join", url.Values{"channel": {secret}}, "method_not_supported_for_channel_type")

	// A resume across the kick: carol, from m1 on, gets it in place.
	r := nodetest.Connect(t, carol, gw, map[string]uint64{secret: seqs[0]})
	if got := readN(t, r, secret, len(want)-1); !slices.Equal(got, want[1:]) {
		t.Fatalf("carol resumed from m1: %q, want %q", got, want[1:])
	}
	r.Conn.CloseNow()

	// A rejoin: bob's socket attaches at his join entry.
	nodetest.Call(t, alice, "conversations.invite", url.Values{"channel": {secret}, "users": {bobID}}, nil)
	post(alice, secret, "m5")
	post(alice, fence, "f3")
	wantBob := []string{"group_joined ", "member_joined_channel " + bobID, "channel_join " + bobID, "m5"}
	if got := readUntil(t, bobRTM, secret, "f3"); !slices.Equal(got, wantBob) {
		t.Fatalf("bob after his rejoin: %q, want %q", got, wantBob)
	}
	// bob resuming from m1: m2, his own leave, then nothing until his
	// join (not m3, m4), then m5.
	r = nodetest.Connect(t, bob, gw, map[string]uint64{secret: seqs[0]})
	want = []string{"m2", "group_left ", "member_joined_channel " + bobID, "channel_join " + bobID, "m5"}
	if got := readN(t, r, secret, len(want)); !slices.Equal(got, want) {
		t.Fatalf("bob resumed from m1: %q, want %q", got, want)
	}
	// The rejoin's inviter is on its entry, live and in history.
	var h struct {
		Messages []struct {
			Subtype, User, Inviter string
		}
	}
	nodetest.Call(t, alice, "conversations.history", url.Values{"channel": {secret}, "limit": {"2"}}, &h)
	if len(h.Messages) != 2 || h.Messages[1].Subtype != "channel_join" || h.Messages[1].User != bobID || h.Messages[1].Inviter != aliceID {
		t.Fatalf("history's newest = %+v", h.Messages)
	}
}
