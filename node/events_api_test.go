package node_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// receivedRequest is one request the test receiver got.
type receivedRequest struct {
	header http.Header
	body   []byte
}

// TestEventsAPI: an app with a request URL gets the url_verification
// challenge when it is registered, then its events as POSTs signed as
// Slack signs them (checked with slack-go's SecretsVerifier, Slack's
// published algorithm); a delivery the receiver fails is retried with
// X-Slack-Retry-Num and X-Slack-Retry-Reason and the same event_id.
func TestEventsAPI(t *testing.T) {
	var mu sync.Mutex
	var got []receivedRequest
	failed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"subtype":"channel_join"`)) {
			return // the bot's own join (TestAppMemberEvents has it), taken
		}
		mu.Lock()
		got = append(got, receivedRequest{r.Header.Clone(), body})
		fail := !failed && r.Header.Get("X-Slack-Retry-Num") == ""
		var v struct{ Type, Challenge string }
		json.Unmarshal(body, &v)
		if v.Type == "url_verification" {
			fail = false
		} else if fail {
			failed = true
		}
		mu.Unlock()
		switch {
		case v.Type == "url_verification":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, v.Challenge)
		case fail:
			http.Error(w, "not now", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()

	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, aliceID := c.User("alice")
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(aliceAPI.Base+"/api/"))
	app := createApp(t, c, url.Values{"name": {"hooked"}, "events": {"message.channels"}, "request_url": {srv.URL + "/slack/events"}})
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "hooked-room"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteUsersToConversation(ch.ID, app.BotUserID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText("over http", false)); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 20*time.Second, "the challenge, the failed delivery and its retry", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 3
	})
	mu.Lock()
	reqs := append([]receivedRequest(nil), got...)
	mu.Unlock()
	var eventIDs []string
	for i, r := range reqs[:3] {
		v, err := slack.NewSecretsVerifier(r.header, app.SigningSecret)
		if err != nil {
			t.Fatalf("request %d: %v (headers %v)", i, err, r.header)
		}
		v.Write(r.body)
		if err := v.Ensure(); err != nil {
			t.Fatalf("request %d: signature: %v", i, err)
		}
		if i == 0 {
			var uv struct{ Type, Challenge string }
			if json.Unmarshal(r.body, &uv); uv.Type != "url_verification" || uv.Challenge == "" {
				t.Fatalf("first request %s", r.body)
			}
			continue
		}
		ev, err := slackevents.ParseEvent(r.body, slackevents.OptionNoVerifyToken())
		if err != nil {
			t.Fatalf("request %d: %v: %s", i, err, r.body)
		}
		cb := ev.Data.(*slackevents.EventsAPICallbackEvent)
		m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
		if !ok || m.Text != "over http" || m.User != aliceID || m.Channel != ch.ID || cb.APIAppID != app.AppID {
			t.Fatalf("request %d: %+v %+v", i, ev, ev.InnerEvent.Data)
		}
		eventIDs = append(eventIDs, cb.EventID)
	}
	if n, reason := reqs[1].header.Get("X-Slack-Retry-Num"), reqs[1].header.Get("X-Slack-Retry-Reason"); n != "" || reason != "" {
		t.Fatalf("first delivery has retry headers %q %q", n, reason)
	}
	if n, reason := reqs[2].header.Get("X-Slack-Retry-Num"), reqs[2].header.Get("X-Slack-Retry-Reason"); n != "1" || reason != "http_error" {
		t.Fatalf("the retry's headers: %q %q", n, reason)
	}
	if eventIDs[0] != eventIDs[1] {
		t.Fatalf("event ids %v", eventIDs)
	}
	// Delivered: the next request is the next message's, not another
	// retry.
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText("next", false)); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 20*time.Second, "the next delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 4
	})
	mu.Lock()
	defer mu.Unlock()
	ev, err := slackevents.ParseEvent(got[3].body, slackevents.OptionNoVerifyToken())
	if err != nil || ev.InnerEvent.Data.(*slackevents.MessageEvent).Text != "next" || got[3].header.Get("X-Slack-Retry-Num") != "" {
		t.Fatalf("fourth request %s, %v", got[3].body, err)
	}
}
