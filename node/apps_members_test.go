package node_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// TestAppMemberEvents: an app subscribed to member_joined_channel and
// member_left_channel (slack-go's socketmode client) gets them from the
// channel's log: a bot invited into a private channel starts with its own
// member_joined_channel, then the channel's events in order (another
// member joining, messages); kicked, its last is its own
// member_left_channel, and nothing posted while it is out reaches it; a
// rejoin starts again at its join entry. The channel's owner is on
// another node than the app's host.
func TestAppMemberEvents(t *testing.T) {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "api", Roles: []ring.Role{ring.RoleAdmin, ring.RoleGateway, ring.RolePresence}, Host: "127.0.35.11"},
		nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.35.12"},
	)
	aliceAPI, aliceID := c.User("alice")
	_, carolID := c.User("carol")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	app := createApp(t, c, url.Values{"name": {"greeter"}, "events": {"message.groups,member_joined_channel,member_left_channel"}})
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "private-room", IsPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	post := func(text string) {
		t.Helper()
		if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText(text, false)); err != nil {
			t.Fatal(err)
		}
	}
	post("before the bot")

	events := make(chan envelope, 256)
	ctx, stop := context.WithCancel(context.Background())
	done := runSocketMode(t, ctx, base, "A", app, events, func(envelope) bool { return true })
	defer func() { stop(); <-done }()
	waitHello(t, events, "A")

	invite := func(user string) {
		t.Helper()
		if _, err := alice.InviteUsersToConversation(ch.ID, user); err != nil {
			t.Fatal(err)
		}
	}
	invite(app.BotUserID)
	invite(carolID)
	post("m1")
	if err := alice.KickUserFromConversation(ch.ID, app.BotUserID); err != nil {
		t.Fatal(err)
	}
	post("while the bot is out")
	invite(app.BotUserID)
	post("m2")

	bot := app.BotUserID
	want := []string{
		"member_joined_channel " + bot + " G by " + aliceID, "message/channel_join " + bot,
		"member_joined_channel " + carolID + " G by " + aliceID, "message/channel_join " + carolID,
		"message m1",
		"member_left_channel " + bot + " G",
		"member_joined_channel " + bot + " G by " + aliceID, "message/channel_join " + bot,
		"message m2",
	}
	var got []string
	ids := map[string]bool{}
	for len(got) < len(want) {
		var e envelope
		select {
		case e = <-events:
		case <-time.After(15 * time.Second):
			t.Fatalf("got %q, then nothing for 15s; want %q", got, want)
		}
		if e.req.Type == "hello" {
			continue
		}
		if ids[e.eventID] {
			t.Fatalf("event id %s twice", e.eventID)
		}
		ids[e.eventID] = true
		var ev struct {
			Type, Subtype, User, Text, Channel, Inviter string
			ChannelType                                 string `json:"channel_type"`
		}
		var p struct{ Event json.RawMessage }
		json.Unmarshal(e.req.Payload, &p)
		json.Unmarshal(p.Event, &ev)
		if ev.Channel != ch.ID {
			t.Fatalf("an event of another channel: %s", p.Event)
		}
		l := ev.Type
		switch {
		case ev.Type == "message" && ev.Subtype != "":
			l += "/" + ev.Subtype + " " + ev.User
		case ev.Type == "message":
			l += " " + ev.Text
		default:
			l += " " + ev.User + " " + ev.ChannelType
			if ev.Inviter != "" {
				l += " by " + ev.Inviter
			}
		}
		got = append(got, l)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n  %q\nwant\n  %q", got, want)
	}
	// Nothing more: a last post, and only it comes.
	post("last")
	for {
		select {
		case e := <-events:
			if e.req.Type == "hello" {
				continue
			}
			if e.event.Text != "last" {
				t.Fatalf("after the rejoin's events: %+v", e.event)
			}
			return
		case <-time.After(15 * time.Second):
			t.Fatal("the last post never came")
		}
	}
}
