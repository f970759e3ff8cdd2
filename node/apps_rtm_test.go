package node_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
)

// TestRTMBotMessagesCarryBotID: a message an app's bot posts reaches a
// person's RTM session (slack-go's client) with bot_id, app_id and
// bot_profile, as history shows it, whether the bot posted with
// chat.postMessage or over its own RTM session; a person's message
// carries none of them.
func TestRTMBotMessagesCarryBotID(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, aliceID := c.User("alice")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	app := createApp(t, c, url.Values{"name": {"rtm-bot"}})
	bot := slack.New(app.BotToken, slack.OptionAPIURL(base))
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "rtm-bots"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteUsersToConversation(ch.ID, app.BotUserID); err != nil {
		t.Fatal(err)
	}

	events := slackRTM(t, alice)
	next := func(text string) *slack.MessageEvent {
		t.Helper()
		m, ok := events().(*slack.MessageEvent)
		if !ok || m.Text != text {
			t.Fatalf("event %+v, want the message %q", m, text)
		}
		return m
	}
	isBots := func(m *slack.MessageEvent) {
		t.Helper()
		if m.User != app.BotUserID || m.BotID != app.BotID || m.BotProfile == nil || m.BotProfile.ID != app.BotID ||
			m.BotProfile.AppID != app.AppID || m.BotProfile.Deleted {
			t.Fatalf("%q: user %q bot_id %q bot_profile %+v; want the bot %s, %s, app %s", m.Text, m.User, m.BotID,
				m.BotProfile, app.BotUserID, app.BotID, app.AppID)
		}
	}

	// chat.postMessage with the bot token.
	if _, _, err := bot.PostMessage(ch.ID, slack.MsgOptionText("from the web api", false)); err != nil {
		t.Fatal(err)
	}
	isBots(next("from the web api"))

	// The bot's own RTM session.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	botRTM, err := (&client.API{Base: aliceAPI.Base, Token: app.BotToken}).Connect(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer botRTM.Close()
	if _, err := botRTM.Send(ctx, map[string]any{"type": "message", "channel": ch.ID, "text": "over rtm"}); err != nil {
		t.Fatal(err)
	}
	isBots(next("over rtm"))

	// A person's: none of it. The raw event has no such keys at all.
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText("a person", false)); err != nil {
		t.Fatal(err)
	}
	if m := next("a person"); m.User != aliceID || m.BotID != "" || m.BotProfile != nil {
		t.Fatalf("a person's message: %+v", m.Msg)
	}

	// Replayed from the store to a resuming session (seq 0: the whole
	// log): the same.
	resumed, err := (&client.API{Base: aliceAPI.Base, Token: aliceAPI.Token}).Connect(ctx, map[string]uint64{ch.ID: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	replayed := map[string]string{} // text -> bot_id
	for replayed["a person"] == "" {
		ev, err := resumed.Next(ctx)
		if err != nil {
			t.Fatalf("replay: %v (so far %v)", err, replayed)
		}
		var m struct {
			Type, Subtype, Text string
			BotID               string `json:"bot_id"`
			BotProfile          *struct {
				AppID string `json:"app_id"`
			} `json:"bot_profile"`
		}
		json.Unmarshal(ev.Raw, &m)
		if m.Type != "message" || m.Subtype != "" {
			continue
		}
		replayed[m.Text] = m.BotID + "/"
		if m.BotProfile != nil {
			replayed[m.Text] += m.BotProfile.AppID
		}
	}
	want := app.BotID + "/" + app.AppID
	if replayed["from the web api"] != want || replayed["over rtm"] != want || replayed["a person"] != "/" {
		t.Fatalf("replayed bot_id/bot_profile.app_id by text: %v, want %s on the bot's", replayed, want)
	}

	// History shows the bot's messages the same way.
	h, err := alice.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch.ID})
	if err != nil || len(h.Messages) != 4 || h.Messages[3].SubType != "channel_join" { // the bot's join, first
		t.Fatalf("history %+v, %v", h, err)
	}
	for _, m := range h.Messages[1:3] {
		b, _ := json.Marshal(m.BotProfile)
		if m.BotID != app.BotID || m.BotProfile == nil || m.BotProfile.AppID != app.AppID {
			t.Fatalf("history %q: bot_id %q bot_profile %s", m.Text, m.BotID, b)
		}
	}
}
