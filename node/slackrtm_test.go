package node_test

import (
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// slackRTM runs slack-go's RTM client of api until the test ends, waits
// for its hello, and returns next: the next event the client decoded
// as a message, a reaction_added or a reaction_removed (10 s at most).
func slackRTM(t *testing.T, api *slack.Client) (next func() any) {
	t.Helper()
	rtm := api.NewRTM()
	go rtm.ManageConnection()
	events := make(chan any, 64)
	hello := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		rtm.Disconnect()
	})
	go func() {
		for {
			var ev slack.RTMEvent
			select {
			case <-done:
				return
			case ev = <-rtm.IncomingEvents:
			}
			switch d := ev.Data.(type) {
			case *slack.HelloEvent:
				select {
				case <-hello: // a reconnect's
				default:
					close(hello)
				}
			case *slack.MessageEvent, *slack.ReactionAddedEvent, *slack.ReactionRemovedEvent:
				select {
				case events <- d:
				case <-done:
					return
				}
			}
		}
	}()
	select {
	case <-hello:
	case <-time.After(15 * time.Second):
		t.Fatal("no hello")
	}
	return func() any {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return nil
		}
	}
}
