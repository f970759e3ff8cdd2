package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ringcast/ringcast/limit"
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
				if err != nil || len(hist.Messages) != 3 || hist.Messages[0].Text != "from alice" ||
					hist.Messages[0].Timestamp != data.Timestamp || hist.Messages[1].Text != "from bob" ||
					hist.Messages[2].SubType != "channel_join" {
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

// TestSlackGoRateLimitEvent: a websocket over its message rate gets the
// error ack that slack-go turns into its rate-limit event
// (*slack.RateLimitEvent, not an AckErrorEvent), and what it refused is
// not stored (finding 3: one socket committed 110k messages in 3 s).
func TestSlackGoRateLimitEvent(t *testing.T) {
	c := limitedNode(t, "127.0.23.2", func(l *limit.Config) { l.RTMMessages = limit.Rate{N: 2, Per: time.Hour} })
	aliceAPI, _ := c.User("alice")
	ch := createChannel(t, aliceAPI, "general")
	rtm := slack.New(aliceAPI.Token, slack.OptionAPIURL(aliceAPI.Base+"/api/")).NewRTM()
	go rtm.ManageConnection()
	defer rtm.Disconnect()

	acked, limited := 0, 0
	timeout := time.After(15 * time.Second)
	for acked < 2 || limited < 1 {
		select {
		case <-timeout:
			t.Fatalf("timed out: %d acks, %d rate-limit events", acked, limited)
		case ev := <-rtm.IncomingEvents:
			switch data := ev.Data.(type) {
			case *slack.HelloEvent:
				for i := range 3 {
					rtm.SendMessage(rtm.NewOutgoingMessage(fmt.Sprint("m", i), ch))
				}
			case *slack.AckMessage:
				acked++
			case *slack.RateLimitEvent:
				limited++
			case *slack.AckErrorEvent:
				t.Fatalf("an ack error, not slack-go's rate-limit event: %v", data)
			case *slack.InvalidAuthEvent, *slack.ConnectionErrorEvent:
				t.Fatalf("rtm: %T %+v", data, data)
			}
		}
	}
	if acked != 2 || limited != 1 {
		t.Fatalf("%d acks and %d rate-limit events, want 2 and 1", acked, limited)
	}
	if n := historyLen(t, aliceAPI, ch); n != 2 {
		t.Fatalf("history has %d messages, want 2", n)
	}
}
