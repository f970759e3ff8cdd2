package node_test

import (
	"testing"
	"time"

	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
)

// TestSlackGoSDK drives the Web API and RTM with an unmodified slack-go,
// pointed at ringcast with its API-URL option.
func TestSlackGoSDK(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, aliceID := c.User("alice")
	bobAPI, _ := c.User("bob")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	bob := slack.New(bobAPI.Token, slack.OptionAPIURL(base))

	auth, err := alice.AuthTest()
	if err != nil || auth.UserID != aliceID || auth.User != "alice" {
		t.Fatalf("AuthTest = %+v, %v", auth, err)
	}
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "sdk-room"})
	if err != nil || ch.Name != "sdk-room" || !ch.IsChannel {
		t.Fatalf("CreateConversation = %+v, %v", ch, err)
	}
	if _, _, _, err := bob.JoinConversation(ch.ID); err != nil {
		t.Fatalf("JoinConversation: %v", err)
	}
	if _, _, _, err := bob.JoinConversation(ch.ID); err != nil {
		t.Fatalf("second JoinConversation (already_in_channel is a warning): %v", err)
	}
	chans, _, err := alice.GetConversations(&slack.GetConversationsParameters{})
	if err != nil || len(chans) != 1 || chans[0].ID != ch.ID {
		t.Fatalf("GetConversations = %+v, %v", chans, err)
	}

	rtm := alice.NewRTM(slack.RTMOptionPingInterval(200 * time.Millisecond))
	go rtm.ManageConnection()
	defer rtm.Disconnect()

	gotHello, gotPong, gotAck := false, false, false
	timeout := time.After(15 * time.Second)
	var sentTS string
	for {
		select {
		case <-timeout:
			t.Fatalf("timed out: hello=%v pong=%v ack=%v sent=%q", gotHello, gotPong, gotAck, sentTS)
		case ev := <-rtm.IncomingEvents:
			switch data := ev.Data.(type) {
			case *slack.HelloEvent:
				gotHello = true
				_, ts, err := bob.PostMessage(ch.ID, slack.MsgOptionText("from bob", false))
				if err != nil {
					t.Fatalf("PostMessage: %v", err)
				}
				sentTS = ts
			case *slack.LatencyReport:
				gotPong = true
			case *slack.MessageEvent:
				if data.Text == "from bob" && data.Timestamp == sentTS && data.Channel == ch.ID {
					rtm.SendMessage(rtm.NewOutgoingMessage("from alice", ch.ID))
				}
			case *slack.AckMessage:
				if !data.Ok || data.Timestamp == "" {
					t.Fatalf("ack = %+v", data)
				}
				hist, err := bob.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch.ID})
				if err != nil || len(hist.Messages) != 2 || hist.Messages[0].Text != "from alice" ||
					hist.Messages[0].Timestamp != data.Timestamp || hist.Messages[1].Text != "from bob" {
					t.Fatalf("history = %+v, %v", hist, err)
				}
				if !gotHello {
					t.Fatal("no hello event")
				}
				gotAck = true
			case *slack.AckErrorEvent:
				t.Fatalf("ack error: %v", data)
			case *slack.InvalidAuthEvent, *slack.ConnectionErrorEvent:
				t.Fatalf("rtm: %T %+v", data, data)
			}
			if gotHello && gotAck && gotPong { // pings run every 200ms
				return
			}
		}
	}
}

// TestSlackGoErrors: slack-go sees Slack's error strings.
func TestSlackGoErrors(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, _ := c.User("alice")
	base := aliceAPI.Base + "/api/"
	bad := slack.New("xoxp-nope", slack.OptionAPIURL(base))
	if _, err := bad.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("AuthTest with a bad token: %v", err)
	}
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	if _, _, err := alice.PostMessage("CNOSUCH", slack.MsgOptionText("x", false)); err == nil || err.Error() != "channel_not_found" {
		t.Fatalf("PostMessage to an unknown channel: %v", err)
	}
}
