package presence_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/rtm"
)

type env struct {
	t *testing.T
	c *nodetest.Cluster
}

func setup(t *testing.T) *env {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "gw-a", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.0.2"},
		nodetest.Spec{Name: "gw-b", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.0.3"},
		nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleChannel, ring.RoleAdmin, ring.RolePresence}, Host: "127.0.0.4"},
	)
	return &env{t: t, c: c}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// connectTo opens an RTM session on the named gateway.
func (e *env) connectTo(api *client.API, gateway string) *client.RTM {
	e.t.Helper()
	return nodetest.Connect(e.t, api, e.c.Node(gateway).HTTPAddr(), nil)
}

// until reads until an event satisfies ok, returning it and the events
// skipped on the way.
func until(t *testing.T, r *client.RTM, ok func(*client.Event) bool) (*client.Event, []*client.Event) {
	t.Helper()
	var skipped []*client.Event
	for {
		ev := nodetest.Next(t, r)
		if ok(ev) {
			return ev, skipped
		}
		skipped = append(skipped, ev)
	}
}

func presenceOf(user, presence string) func(*client.Event) bool {
	return func(ev *client.Event) bool {
		return ev.Type == "presence_change" && ev.User == user && ev.Presence == presence
	}
}

func send(t *testing.T, r *client.RTM, v map[string]any) {
	t.Helper()
	if _, err := r.Send(ctx(t), v); err != nil {
		t.Fatal(err)
	}
}

// watched makes users alice and bob, bob's session on gw-b subscribed to
// alice's presence, and waits for its first state (away: not connected).
func (e *env) watched() (alice *client.API, aliceID string, bob *client.API, watcher *client.RTM) {
	e.t.Helper()
	alice, aliceID = e.c.User("alice")
	bob, _ = e.c.User("bob")
	watcher = e.connectTo(bob, "gw-b")
	send(e.t, watcher, map[string]any{"type": "presence_sub", "ids": []string{aliceID}})
	until(e.t, watcher, presenceOf(aliceID, "away"))
	return alice, aliceID, bob, watcher
}

// TestPresenceAcrossGatewaysAndDevices: a watcher on gateway B sees a
// user on gateway A go active, stay active while a second device closes,
// and go away when the last one does.
func TestPresenceAcrossGatewaysAndDevices(t *testing.T) {
	e := setup(t)
	alice, aliceID, bob, watcher := e.watched()

	tab1 := e.connectTo(alice, "gw-a")
	until(t, watcher, presenceOf(aliceID, "active"))
	tab2 := e.connectTo(alice, "gw-b") // a second device, on the other gateway
	tab1.Conn.CloseNow()
	// No flap: the next presence event must be the final "away".
	tab2.Conn.CloseNow()
	ev, skipped := until(t, watcher, func(ev *client.Event) bool { return ev.Type == "presence_change" })
	if ev.Presence != "away" {
		t.Fatalf("after closing one of two tabs: %s (skipped %d)", ev.Raw, len(skipped))
	}
	var p struct{ Presence string }
	nodetest.Call(t, bob, "users.getPresence", url.Values{"user": {aliceID}}, &p)
	if p.Presence != "away" {
		t.Fatalf("users.getPresence = %q", p.Presence)
	}
}

// TestSetPresenceAway: users.setPresence away wins over live sessions,
// tells the user's own sessions, and auto gives it back.
func TestSetPresenceAway(t *testing.T) {
	e := setup(t)
	alice, aliceID := e.c.User("alice")
	bob, _ := e.c.User("bob")
	own := e.connectTo(alice, "gw-a")
	watcher := e.connectTo(bob, "gw-b")
	send(t, watcher, map[string]any{"type": "presence_sub", "ids": []string{aliceID}})
	until(t, watcher, presenceOf(aliceID, "active"))

	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"away"}}, nil)
	until(t, watcher, presenceOf(aliceID, "away"))
	if ev, _ := until(t, own, func(ev *client.Event) bool { return ev.Type == "manual_presence_change" }); ev.Presence != "away" {
		t.Fatalf("own session got %s", ev.Raw)
	}
	var self struct {
		Presence        string
		Online          bool
		ManualAway      bool `json:"manual_away"`
		ConnectionCount int  `json:"connection_count"`
	}
	nodetest.Call(t, alice, "users.getPresence", nil, &self)
	if self.Presence != "away" || !self.Online || !self.ManualAway || self.ConnectionCount != 1 {
		t.Fatalf("users.getPresence (self) = %+v", self)
	}
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"auto"}}, nil)
	until(t, watcher, presenceOf(aliceID, "active"))

	// Bad input changes nothing.
	var ae *client.APIError
	if err := alice.Call(ctx(t), "users.setPresence", url.Values{"presence": {"asleep"}}, nil); !errors.As(err, &ae) || ae.Code != "invalid_presence" {
		t.Fatalf("invalid presence: %v", err)
	}
	if err := bob.Call(ctx(t), "users.getPresence", url.Values{"user": {"UNOSUCH"}}, nil); !errors.As(err, &ae) || ae.Code != "user_not_found" {
		t.Fatalf("unknown user: %v", err)
	}
	nodetest.Call(t, alice, "users.getPresence", nil, &self)
	if self.Presence != "active" || self.ManualAway {
		t.Fatalf("after bad input: %+v", self)
	}
}

// dial opens the websocket of an rtm.connect URL got earlier.
func dial(t *testing.T, u string) *client.RTM {
	t.Helper()
	r, err := client.Dial(ctx(t), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Conn.CloseNow() })
	if ev := nodetest.Next(t, r); ev.Type != "hello" {
		t.Fatalf("first frame %s, want hello", ev.Raw)
	}
	return r
}

// TestAwayChangedAfterTheTicket: rtm.connect puts the user's away flag in
// its ticket, and the gateway reads no user row; a users.setPresence
// between rtm.connect and the websocket must still win. Its own session
// is told (manual_presence_change, once), watchers and users.getPresence
// see the flag set last. Away after the ticket is the admin's cached
// token lookup's case too (the flag it caches predates the call).
func TestAwayChangedAfterTheTicket(t *testing.T) {
	e := setup(t)
	alice, aliceID, _, watcher := e.watched()

	type self struct {
		Presence        string
		Online          bool
		ManualAway      bool `json:"manual_away"`
		ConnectionCount int  `json:"connection_count"`
	}
	manual := func(ev *client.Event) bool { return ev.Type == "manual_presence_change" }

	// The ticket says active, then the user sets away.
	var res struct{ URL string }
	nodetest.Call(t, alice, "rtm.connect", nil, &res)
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"away"}}, nil)
	tab := dial(t, res.URL)
	if ev, _ := until(t, tab, manual); ev.Presence != "away" {
		t.Fatalf("away set after the ticket: the session was told %s", ev.Raw)
	}
	var got self
	nodetest.Call(t, alice, "users.getPresence", nil, &got)
	if got != (self{Presence: "away", Online: true, ManualAway: true, ConnectionCount: 1}) {
		t.Fatalf("away set after the ticket: users.getPresence = %+v", got)
	}
	// Told once: setting away again says nothing, auto is the next event.
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"away"}}, nil)
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"auto"}}, nil)
	if ev, _ := until(t, tab, manual); ev.Presence != "active" {
		t.Fatalf("after away again, then auto: %s", ev.Raw)
	}
	until(t, watcher, presenceOf(aliceID, "active"))
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"away"}}, nil)
	until(t, watcher, presenceOf(aliceID, "away"))
	tab.Conn.CloseNow()

	// The ticket says away (a fresh token: the lookup reads the away
	// flag), then the user, with no session left, sets auto: the
	// presence node had nothing else to keep the user for.
	alice.Token = e.c.Token(t, "alice")
	nodetest.Call(t, alice, "rtm.connect", nil, &res)
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"auto"}}, nil)
	tab = dial(t, res.URL)
	if ev, _ := until(t, tab, manual); ev.Presence != "active" {
		t.Fatalf("auto set after the ticket: the session was told %s", ev.Raw)
	}
	until(t, watcher, presenceOf(aliceID, "active"))
	nodetest.Call(t, alice, "users.getPresence", nil, &got)
	if got != (self{Presence: "active", Online: true, ConnectionCount: 1}) {
		t.Fatalf("auto set after the ticket: users.getPresence = %+v", got)
	}
	tab.Conn.CloseNow()

	// Away set before rtm.connect on the same admin node: its ticket
	// has the flag (setPresence dropped the cached lookup), so nothing
	// is corrected: the first manual_presence_change is the next set's.
	alice.Token = e.c.Token(t, "alice")
	nodetest.Call(t, alice, "auth.test", nil, nil) // the lookup cached: not away
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"away"}}, nil)
	until(t, watcher, presenceOf(aliceID, "away"))
	nodetest.Call(t, alice, "rtm.connect", nil, &res)
	tab = dial(t, res.URL)
	nodetest.Call(t, alice, "users.setPresence", url.Values{"presence": {"auto"}}, nil)
	if ev, _ := until(t, tab, manual); ev.Presence != "active" {
		t.Fatalf("away set before rtm.connect: the session was told %s first", ev.Raw)
	}
}

func TestPresenceSubBadInput(t *testing.T) {
	e := setup(t)
	_, aliceID := e.c.User("alice")
	bob, _ := e.c.User("bob")
	r := e.connectTo(bob, "gw-a")
	send(t, r, map[string]any{"type": "presence_sub", "ids": []string{aliceID}})
	until(t, r, presenceOf(aliceID, "away"))

	send(t, r, map[string]any{"type": "presence_sub", "ids": []string{aliceID, "UNOSUCH"}})
	if ev := nodetest.Next(t, r); ev.Error == nil || ev.Error.Code != rtm.CodeNotFound {
		t.Fatalf("unknown id: %s", ev.Raw)
	}
	many := make([]string, 501)
	for i := range many {
		many[i] = fmt.Sprintf("U%d", i)
	}
	send(t, r, map[string]any{"type": "presence_sub", "ids": many})
	if ev := nodetest.Next(t, r); ev.Error == nil || ev.Error.Code != rtm.CodeTooManyIDs {
		t.Fatalf("too many ids: %s", ev.Raw)
	}
	send(t, r, map[string]any{"type": "presence_query", "ids": []string{aliceID}})
	until(t, r, presenceOf(aliceID, "away"))
	// The earlier subscription still holds: alice coming online is seen.
	alice := e.c.API("")
	alice.Token = e.c.Token(t, "alice")
	e.connectTo(alice, "gw-b")
	until(t, r, presenceOf(aliceID, "active"))
}

// TestJoinLeaveDelivery: joining starts delivery without reconnecting
// (channel_joined, then the channel's messages), others see
// member_joined_channel; leaving stops it at once.
func TestJoinLeaveDelivery(t *testing.T) {
	e := setup(t)
	alice, aliceID := e.c.User("alice")
	bob, bobID := e.c.User("bob")
	var res struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"room"}}, &res)
	room := res.Channel.ID
	nodetest.Call(t, bob, "conversations.create", url.Values{"name": {"bobs"}}, &res)
	fence := res.Channel.ID

	aliceRTM := e.connectTo(alice, "gw-a")
	bobRTM := e.connectTo(bob, "gw-b")
	nodetest.Call(t, bob, "conversations.join", url.Values{"channel": {room}}, nil)
	ev, _ := until(t, bobRTM, func(ev *client.Event) bool { return ev.Type == "channel_joined" })
	if ev.ChannelID() != room || !strings.Contains(string(ev.Raw), `"is_member":true`) {
		t.Fatalf("channel_joined = %s", ev.Raw)
	}
	ev, _ = until(t, aliceRTM, func(ev *client.Event) bool { return ev.Type == "member_joined_channel" })
	if ev.User != bobID || ev.ChannelID() != room {
		t.Fatalf("member_joined_channel = %s", ev.Raw)
	}
	nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {room}, "text": {"welcome"}}, nil)
	if ev, _ := until(t, bobRTM, func(ev *client.Event) bool { return ev.Type == "message" && ev.Subtype == "" }); ev.Text != "welcome" {
		t.Fatalf("bob got %s", ev.Raw)
	}

	nodetest.Call(t, bob, "conversations.leave", url.Values{"channel": {room}}, nil)
	if ev, _ := until(t, bobRTM, func(ev *client.Event) bool { return ev.Type == "channel_left" }); ev.ChannelID() != room {
		t.Fatalf("channel_left = %s", ev.Raw)
	}
	if ev, _ := until(t, aliceRTM, func(ev *client.Event) bool { return ev.Type == "member_left_channel" }); ev.User != bobID {
		t.Fatalf("member_left_channel = %s", ev.Raw)
	}
	nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {room}, "text": {"after you left"}}, nil)
	nodetest.Call(t, bob, "chat.postMessage", url.Values{"channel": {fence}, "text": {"fence"}}, nil)
	_, skipped := until(t, bobRTM, func(ev *client.Event) bool { return ev.Type == "message" && ev.Text == "fence" })
	for _, ev := range skipped {
		if ev.Type == "message" {
			t.Fatalf("bob received %s after leaving", ev.Raw)
		}
	}
	// The creator of a new channel receives it at once too.
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"fresh"}}, &res)
	if ev, _ := until(t, aliceRTM, func(ev *client.Event) bool { return ev.Type == "channel_joined" }); ev.ChannelID() != res.Channel.ID {
		t.Fatalf("creator got %s", ev.Raw)
	}
	nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {res.Channel.ID}, "text": {"first"}}, nil)
	if ev, _ := until(t, aliceRTM, func(ev *client.Event) bool { return ev.Type == "message" }); ev.Text != "first" {
		t.Fatalf("creator got %s", ev.Raw)
	}
	_ = aliceID
}

// TestTyping: typing reaches the other members as user_typing, at most
// once per 3 seconds per user, never the typist, and typing where one is
// not a member is an error.
func TestTyping(t *testing.T) {
	e := setup(t)
	alice, aliceID := e.c.User("alice")
	bob, _ := e.c.User("bob")
	var res struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"room"}}, &res)
	room := res.Channel.ID
	nodetest.Call(t, bob, "conversations.join", url.Values{"channel": {room}}, nil)
	nodetest.Call(t, bob, "conversations.create", url.Values{"name": {"bobs"}}, &res)
	bobsOnly := res.Channel.ID

	a := e.connectTo(alice, "gw-a")
	b := e.connectTo(bob, "gw-b")
	for range 5 {
		send(t, a, map[string]any{"type": "typing", "channel": room})
	}
	send(t, a, map[string]any{"type": "message", "channel": room, "text": "typed"})
	_, skipped := until(t, b, func(ev *client.Event) bool { return ev.Type == "message" && ev.Text == "typed" })
	typing := 0
	for _, ev := range skipped {
		if ev.Type == "user_typing" {
			typing++
			if ev.User != aliceID || ev.ChannelID() != room {
				t.Fatalf("user_typing = %s", ev.Raw)
			}
		}
	}
	if typing != 1 {
		t.Fatalf("bob got %d user_typing for 5 typing frames in a row, want 1", typing)
	}
	_, skipped = until(t, a, func(ev *client.Event) bool { return ev.Type == "message" && ev.Text == "typed" })
	for _, ev := range skipped {
		if ev.Type == "user_typing" {
			t.Fatalf("the typist got her own typing: %s", ev.Raw)
		}
	}
	send(t, a, map[string]any{"type": "typing", "channel": bobsOnly, "id": 9})
	if ev, _ := until(t, a, func(ev *client.Event) bool { return ev.ReplyTo != nil && *ev.ReplyTo == 9 }); ev.Error == nil || ev.Error.Code != rtm.CodeNotInChannel {
		t.Fatalf("typing in a channel one is not in: %s", ev.Raw)
	}
}
