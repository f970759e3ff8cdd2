package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// testApp is an app made with admin.apps.create.
type testApp struct {
	AppID         string `json:"app_id"`
	BotUserID     string `json:"bot_user_id"`
	BotID         string `json:"bot_id"`
	BotToken      string `json:"bot_token"`
	AppToken      string `json:"app_token"`
	SigningSecret string `json:"signing_secret"`
}

func createApp(t *testing.T, c *nodetest.Cluster, args url.Values) testApp {
	t.Helper()
	var a testApp
	nodetest.Call(t, c.API(c.First().AdminKey()), "admin.apps.create", args, &a)
	return a
}

// envelope is one events_api envelope as a socketmode client received
// it, read from its raw payload.
type envelope struct {
	client  string
	req     socketmode.Request
	eventID string
	event   struct {
		Type    string `json:"type"`
		SubType string `json:"subtype"`
		User    string `json:"user"`
		Text    string `json:"text"`
		Channel string `json:"channel"`
		BotID   string `json:"bot_id"`
		AppID   string `json:"app_id"`
	}
}

// runSocketMode runs an unmodified slack-go socketmode client of app
// until ctx ends, passing on its hellos (as envelopes of type "hello")
// and events_api envelopes; ack decides whether an envelope is acked.
func runSocketMode(t *testing.T, ctx context.Context, base, name string, app testApp, out chan<- envelope,
	ack func(envelope) bool) <-chan struct{} {
	api := slack.New(app.BotToken, slack.OptionAPIURL(base), slack.OptionAppLevelToken(app.AppToken))
	sm := socketmode.New(api, socketmode.OptionPingInterval(30*time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		sm.RunContext(ctx)
	}()
	go func() {
		for {
			var evt socketmode.Event
			select {
			case <-ctx.Done():
				return
			case evt = <-sm.Events:
			}
			switch evt.Type {
			case socketmode.EventTypeHello:
				out <- envelope{client: name, req: *evt.Request}
			case socketmode.EventTypeEventsAPI:
				outer, ok := evt.Data.(slackevents.EventsAPIEvent)
				if !ok || outer.Type != slackevents.CallbackEvent {
					t.Errorf("events_api data %T %+v", evt.Data, evt.Data)
					continue
				}
				switch outer.InnerEvent.Data.(type) {
				case *slackevents.MessageEvent, *slackevents.AppMentionEvent,
					*slackevents.MemberJoinedChannelEvent, *slackevents.MemberLeftChannelEvent:
				default:
					t.Errorf("inner event %T", outer.InnerEvent.Data)
				}
				e := envelope{client: name, req: *evt.Request}
				var p struct {
					EventID string          `json:"event_id"`
					AppID   string          `json:"api_app_id"`
					Event   json.RawMessage `json:"event"`
				}
				if err := json.Unmarshal(evt.Request.Payload, &p); err != nil || p.AppID != app.AppID {
					t.Errorf("payload %s: %v", evt.Request.Payload, err)
				}
				e.eventID = p.EventID
				json.Unmarshal(p.Event, &e.event)
				if ack(e) {
					sm.Ack(*evt.Request)
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return done
}

// nextEnvelope waits for the next envelope that is not a hello.
func nextEnvelope(t *testing.T, ch <-chan envelope) envelope {
	t.Helper()
	for {
		select {
		case e := <-ch:
			if e.req.Type == "hello" || e.event.SubType == "channel_join" || strings.HasPrefix(e.event.Type, "member_") {
				continue // hello; members joining (TestAppMemberEvents has them)
			}
			return e
		case <-time.After(15 * time.Second):
			t.Fatal("no envelope within 15s")
		}
	}
}

func waitHello(t *testing.T, ch <-chan envelope, client string) socketmode.Request {
	t.Helper()
	for {
		select {
		case e := <-ch:
			if e.req.Type == "hello" && e.client == client {
				return e.req
			}
			if e.req.Type != "hello" {
				t.Fatalf("before %s's hello: %+v", client, e)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no hello for %s", client)
		}
	}
}

// TestSocketModeSlackGo runs slack-go's socketmode client against
// ringcast: message and app_mention events, acks, a reply with the bot
// token (bot_id on it), redelivery of an unacked envelope with
// retry_attempt 1, two connections sharing the events with none twice,
// and a reconnect after messages were posted with no connection up.
func TestSocketModeSlackGo(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Tune: func(cfg *config.Config) { cfg.AppAckTimeout = time.Second }})
	aliceAPI, aliceID := c.User("alice")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	app := createApp(t, c, url.Values{"name": {"echo"}, "events": {"message.channels,app_mention"}})
	bot := slack.New(app.BotToken, slack.OptionAPIURL(base))

	auth, err := bot.AuthTest()
	if err != nil || auth.UserID != app.BotUserID || auth.BotID != app.BotID || auth.User != "echo" {
		t.Fatalf("bot AuthTest = %+v, %v (app %+v)", auth, err, app)
	}
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "apps-room"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteUsersToConversation(ch.ID, app.BotUserID); err != nil {
		t.Fatalf("invite the bot: %v", err)
	}

	events := make(chan envelope, 256)
	ctxA, stopA := context.WithCancel(context.Background())
	var noAck = map[string]bool{} // event ids not acked on their first delivery
	doneA := runSocketMode(t, ctxA, base, "A", app, events, func(e envelope) bool {
		return !(e.event.Text == "no ack" && e.req.RetryAttempt == 0)
	})
	defer func() { stopA(); <-doneA }()
	hello := waitHello(t, events, "A")
	if hello.ConnectionInfo.AppID != app.AppID || hello.NumConnections != 1 {
		t.Fatalf("hello = %+v", hello)
	}

	// A mention: the message and app_mention, acked; the bot answers.
	text := fmt.Sprintf("hi <@%s>", app.BotUserID)
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText(text, false)); err != nil {
		t.Fatal(err)
	}
	got := map[string]envelope{}
	for range 2 {
		e := nextEnvelope(t, events)
		got[e.event.Type] = e
	}
	m, am := got["message"], got["app_mention"]
	if m.event.Text != text || m.event.User != aliceID || m.event.Channel != ch.ID || m.event.BotID != "" ||
		am.event.Text != text || am.event.User != aliceID || m.eventID == "" || am.eventID == m.eventID ||
		m.req.RetryAttempt != 0 || m.req.EnvelopeID == "" {
		t.Fatalf("events %+v", got)
	}
	_, replyTS, err := bot.PostMessage(ch.ID, slack.MsgOptionText("echo: hi", false))
	if err != nil {
		t.Fatalf("bot PostMessage: %v", err)
	}
	own := nextEnvelope(t, events)
	if own.event.Text != "echo: hi" || own.event.BotID != app.BotID || own.event.AppID != app.AppID || own.event.User != app.BotUserID {
		t.Fatalf("the bot's own message = %+v", own.event)
	}
	hist, err := alice.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch.ID})
	if err != nil || len(hist.Messages) != 3 || hist.Messages[0].Timestamp != replyTS || hist.Messages[0].BotID != app.BotID ||
		hist.Messages[1].BotID != "" || hist.Messages[2].SubType != "channel_join" || hist.Messages[2].Inviter != aliceID {
		t.Fatalf("history = %+v, %v", hist, err)
	}

	// Not acked: sent again, with retry_attempt 1 and the same event id.
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText("no ack", false)); err != nil {
		t.Fatal(err)
	}
	first := nextEnvelope(t, events)
	noAck[first.eventID] = true
	again := nextEnvelope(t, events)
	if first.event.Text != "no ack" || first.req.RetryAttempt != 0 || again.eventID != first.eventID ||
		again.req.RetryAttempt != 1 || again.req.RetryReason != "timeout" {
		t.Fatalf("first %+v (retry %d), again %+v (retry %d %q)", first.event, first.req.RetryAttempt,
			again.event, again.req.RetryAttempt, again.req.RetryReason)
	}

	// Two connections: each event goes to one of them, none twice.
	ctxB, stopB := context.WithCancel(context.Background())
	doneB := runSocketMode(t, ctxB, base, "B", app, events, func(envelope) bool { return true })
	if h := waitHello(t, events, "B"); h.NumConnections != 2 {
		t.Fatalf("second hello = %+v", h)
	}
	const n = 20
	for i := range n {
		if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText(fmt.Sprintf("split %d", i), false)); err != nil {
			t.Fatal(err)
		}
	}
	seen, per := map[string]int{}, map[string]int{}
	for range n {
		e := nextEnvelope(t, events)
		seen[e.eventID]++
		per[e.client]++
		if seen[e.eventID] > 1 {
			t.Fatalf("event %s (%q) delivered twice", e.eventID, e.event.Text)
		}
	}
	if len(seen) != n || per["A"] == 0 || per["B"] == 0 {
		t.Fatalf("split: %d events, per connection %v", len(seen), per)
	}

	// Both connections gone; what is posted meanwhile arrives, in order,
	// on the next connection.
	stopB()
	<-doneB
	stopA()
	<-doneA
	for i := range 5 {
		if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText(fmt.Sprintf("away %d", i), false)); err != nil {
			t.Fatal(err)
		}
	}
	ctxC, stopC := context.WithCancel(context.Background())
	doneC := runSocketMode(t, ctxC, base, "C", app, events, func(envelope) bool { return true })
	defer func() { stopC(); <-doneC }()
	for i := 0; i < 5; {
		e := nextEnvelope(t, events)
		if seen[e.eventID] > 0 && e.req.RetryAttempt > 0 {
			continue // its ack was still queued in a stopped client: sent again, as it should be
		}
		i++
		if want := fmt.Sprintf("away %d", i-1); e.event.Text != want || e.client != "C" {
			t.Fatalf("after the reconnect: %q on %s, want %q", e.event.Text, e.client, want)
		}
	}
	select {
	case e := <-events:
		if e.req.Type != "hello" {
			t.Fatalf("unexpected envelope %+v", e)
		}
	case <-time.After(1500 * time.Millisecond): // longer than the ack timeout: nothing redelivered
	}
}

// TestSocketModeHostMoves: an app's connections meet on its host node
// (apps.connections.open on any node points there); when the host shuts
// down, the slack-go client is told to reconnect, lands on the node that
// hosts the app now, and receives what was posted meanwhile, in order,
// from the position the old host stored.
func TestSocketModeHostMoves(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "n1"}, nodetest.Spec{Name: "n2"})
	app := createApp(t, c, url.Values{"name": {"mover"}, "events": {"message.channels"}})
	hostMember, ok := cluster.NewAppHosts(c.First().View()).Host(app.AppID)
	if !ok {
		t.Fatal("no host")
	}
	host, survivor := hostMember.Name, "n1"
	if host == "n1" {
		survivor = "n2"
	}
	alicePlain, _ := c.User("alice")
	aliceAPI := c.APIAt(survivor, alicePlain.Token)
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "moving-room"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteUsersToConversation(ch.ID, app.BotUserID); err != nil {
		t.Fatal(err)
	}
	var url struct {
		URL string `json:"url"`
	}
	nodetest.Call(t, c.APIAt(survivor, app.AppToken), "apps.connections.open", nil, &url)
	if want := c.Node(host).HTTPAddr(); !strings.Contains(url.URL, "://"+want+"/apps/socket/") {
		t.Fatalf("apps.connections.open on %s: %s, want the host %s (%s)", survivor, url.URL, host, want)
	}

	events := make(chan envelope, 256)
	ctx, stop := context.WithCancel(context.Background())
	done := runSocketMode(t, ctx, base, "A", app, events, func(envelope) bool { return true })
	defer func() { stop(); <-done }()
	waitHello(t, events, "A")
	seen := map[string]bool{}
	post := func(prefix string) {
		for i := range 5 {
			if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText(fmt.Sprintf("%s %d", prefix, i), false)); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := func(prefix string) {
		t.Helper()
		for i := 0; i < 5; {
			e := nextEnvelope(t, events)
			if seen[e.eventID] {
				continue // an ack the old host had not stored: sent again, same event id
			}
			seen[e.eventID] = true
			if want := fmt.Sprintf("%s %d", prefix, i); e.event.Text != want {
				t.Fatalf("got %q, want %q", e.event.Text, want)
			}
			i++
		}
	}
	post("before")
	expect("before")
	c.Stop(host)
	if h := waitHello(t, events, "A"); h.NumConnections != 1 { // on the survivor
		t.Fatalf("hello after the move: %+v", h)
	}
	post("after")
	expect("after")
}

// TestSocketModeDM: a person's direct message with a bot reaches its
// app as message.im (channel_type im), and not an app that did not
// subscribe to it.
func TestSocketModeDM(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, aliceID := c.User("alice")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	app := createApp(t, c, url.Values{"name": {"dm-bot"}, "events": {"message.im"}})
	deaf := createApp(t, c, url.Values{"name": {"deaf-bot"}, "events": {"message.channels"}})
	events := make(chan envelope, 16)
	ctx, stop := context.WithCancel(context.Background())
	done := runSocketMode(t, ctx, base, "A", app, events, func(envelope) bool { return true })
	doneDeaf := runSocketMode(t, ctx, base, "deaf", deaf, events, func(envelope) bool { return true })
	defer func() { stop(); <-done; <-doneDeaf }()
	for hellos := map[string]bool{}; len(hellos) < 2; {
		select {
		case e := <-events:
			hellos[e.client] = e.req.Type == "hello"
		case <-time.After(15 * time.Second):
			t.Fatalf("hellos %v", hellos)
		}
	}
	for _, bot := range []string{deaf.BotUserID, app.BotUserID} {
		dm, _, _, err := alice.OpenConversation(&slack.OpenConversationParameters{Users: []string{bot}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := alice.PostMessage(dm.ID, slack.MsgOptionText("psst "+bot, false)); err != nil {
			t.Fatal(err)
		}
	}
	e := nextEnvelope(t, events)
	var p struct {
		Event struct {
			ChannelType string `json:"channel_type"`
		}
	}
	json.Unmarshal(e.req.Payload, &p)
	if e.client != "A" || e.event.Text != "psst "+app.BotUserID || e.event.User != aliceID || p.Event.ChannelType != "im" {
		t.Fatalf("envelope on %s: %+v, channel_type %q", e.client, e.event, p.Event.ChannelType)
	}
}
