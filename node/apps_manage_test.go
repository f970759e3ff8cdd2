package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node/nodetest"
)

// receiver is an Events API request URL: it answers url_verification
// and keeps every event_callback's event and api_app_id.
type receiver struct {
	srv        *httptest.Server
	mu         sync.Mutex
	challenges int
	events     []receivedEvent
}

type receivedEvent struct {
	app, typ, text string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var v struct {
			Type, Challenge string
			APIAppID        string `json:"api_app_id"`
			Event           struct{ Type, Text string }
		}
		json.Unmarshal(body, &v)
		r.mu.Lock()
		defer r.mu.Unlock()
		if v.Type == "url_verification" {
			r.challenges++
			io.WriteString(w, v.Challenge)
			return
		}
		r.events = append(r.events, receivedEvent{v.APIAppID, v.Event.Type, v.Event.Text})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// got reports whether app's event of text has arrived.
func (r *receiver) got(app, text string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.events, func(e receivedEvent) bool { return e.app == app && e.text == text })
}

// nextEvent reads frames (hellos skipped) until an events_api envelope,
// acks it and returns its event's type and text.
func nextEvent(t *testing.T, ws *websocket.Conn) (typ, text string) {
	t.Helper()
	for {
		f := readFrame(t, ws)
		if f["type"] == "hello" {
			continue
		}
		if f["type"] != "events_api" {
			t.Fatalf("frame %v, want an events_api envelope", f)
		}
		ws.Write(context.Background(), websocket.MessageText, []byte(`{"envelope_id":"`+f["envelope_id"].(string)+`"}`))
		var p struct{ Event struct{ Type, Text string } }
		b, _ := json.Marshal(f["payload"])
		json.Unmarshal(b, &p)
		return p.Event.Type, p.Event.Text
	}
}

// TestAppUpdate: admin.apps.update changes an app's events, name (its
// bot user's too) and request URL (url_verification first; Socket Mode
// again with "none"), and the app's host applies each; every bad input
// gets Slack's error and changes nothing.
func TestAppUpdate(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Tune: func(cfg *config.Config) { cfg.AppAckTimeout = time.Second }})
	ctx := context.Background()
	st := c.First().Store
	admin := c.API(c.First().AdminKey())
	alice, _ := c.User("alice")
	app := createApp(t, c, url.Values{"name": {"changing"}, "events": {"message.channels"}})
	createApp(t, c, url.Values{"name": {"taken-app"}})
	var ch struct {
		Channel struct{ ID string } `json:"channel"`
	}
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"updates"}}, &ch)
	nodetest.Call(t, alice, "conversations.invite", url.Values{"channel": {ch.Channel.ID}, "users": {app.BotUserID}}, nil)
	post := func(text string) {
		t.Helper()
		nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {text}}, nil)
	}
	before, err := st.App(ctx, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		now, err := st.App(ctx, app.AppID)
		bot, uerr := st.User(ctx, app.BotUserID)
		if err != nil || uerr != nil || !reflect.DeepEqual(now, before) || bot.Name != before.Name {
			t.Fatalf("after %s: app %+v, bot user %q (%v, %v); want %+v unchanged", what, now, bot.Name, err, uerr, before)
		}
	}

	for _, tt := range []struct {
		name string
		api  string // "alice": a person's token; else the admin key
		args url.Values
		code string
	}{
		{"unknown app", "", url.Values{"app_id": {"ANOSUCH"}, "name": {"x"}}, "app_not_found"},
		{"no app_id", "", url.Values{"name": {"x"}}, "app_not_found"},
		{"bad event name", "", url.Values{"app_id": {app.AppID}, "events": {"message.channels,no_such_event"}}, "invalid_event_type"},
		{"bad name", "", url.Values{"app_id": {app.AppID}, "name": {"Not A Name!"}}, "invalid_name"},
		{"an app's name", "", url.Values{"app_id": {app.AppID}, "name": {"taken-app"}}, "name_taken"},
		{"a person's name", "", url.Values{"app_id": {app.AppID}, "name": {"alice"}}, "name_taken"},
		{"bad request URL", "", url.Values{"app_id": {app.AppID}, "request_url": {"ftp://example.com/"}}, "invalid_request_url"},
		{"request URL that does not answer", "", url.Values{"app_id": {app.AppID}, "request_url": {"http://127.0.0.1:1/x"}}, "url_verification_failed"},
		{"non-admin caller", "alice", url.Values{"app_id": {app.AppID}, "name": {"x"}}, "invalid_auth"},
		{"the app's own token", "app", url.Values{"app_id": {app.AppID}, "name": {"x"}}, "invalid_auth"},
	} {
		api := admin
		switch tt.api {
		case "alice":
			api = alice
		case "app":
			api = c.API(app.AppToken)
		}
		wantAPIError(t, api, "admin.apps.update", tt.args, tt.code)
		unchanged(tt.name)
	}

	// Events: message.channels -> app_mention, applied by the host
	// within its next listing.
	ws, _ := openSocket(t, c, app.AppToken)
	defer ws.CloseNow()
	if h := readFrame(t, ws); h["type"] != "hello" {
		t.Fatalf("first frame %v", h)
	}
	post("before the update")
	typ, text := nextEvent(t, ws)
	if strings.HasSuffix(text, " has joined the channel") { // the bot's own join comes first
		typ, text = nextEvent(t, ws)
	}
	if typ != "message" || text != "before the update" {
		t.Fatalf("before the update: %s %q", typ, text)
	}
	var res struct {
		Events []string `json:"events"`
		Name   string   `json:"name"`
	}
	nodetest.Call(t, admin, "admin.apps.update", url.Values{"app_id": {app.AppID}, "events": {"app_mention"}}, &res)
	if !reflect.DeepEqual(res.Events, []string{"app_mention"}) || res.Name != "changing" {
		t.Fatalf("admin.apps.update answered %+v", res)
	}
	mention := func(i int) string { return fmt.Sprintf("<@%s> %d", app.BotUserID, i) }
	for i := 0; ; i++ { // each post one event: a message until the host has the change, then an app_mention
		if i > 0 {
			// Paced: the host applies the change within its next listing
			// (1 s), and events come at once (wake-ups), so unpaced posts
			// would meet the person's post rate first.
			time.Sleep(100 * time.Millisecond)
		}
		post(mention(i))
		typ, text := nextEvent(t, ws)
		if typ == "app_mention" && text == mention(i) {
			break
		}
		if typ != "message" || text != mention(i) {
			t.Fatalf("mention %d: %s %q", i, typ, text)
		}
	}
	post("not for the app any more")
	post(mention(100))
	if typ, text := nextEvent(t, ws); typ != "app_mention" || text != mention(100) {
		t.Fatalf("after the update: %s %q, want only the mention", typ, text)
	}

	// Name: the bot user's too.
	nodetest.Call(t, admin, "admin.apps.update", url.Values{"app_id": {app.AppID}, "name": {"renamed"}}, &res)
	var info struct {
		User struct{ Name string } `json:"user"`
	}
	nodetest.Call(t, alice, "users.info", url.Values{"user": {app.BotUserID}}, &info)
	if res.Name != "renamed" || info.User.Name != "renamed" {
		t.Fatalf("renamed: answered %+v, the bot user is %q", res, info.User.Name)
	}

	// Request URL: verified first, then the events go there; "none":
	// Socket Mode again.
	rcv := newReceiver(t)
	nodetest.Call(t, admin, "admin.apps.update", url.Values{"app_id": {app.AppID}, "request_url": {rcv.srv.URL}}, nil)
	rcv.mu.Lock()
	challenged := rcv.challenges
	rcv.mu.Unlock()
	if challenged != 1 {
		t.Fatalf("url_verification requests: %d, want 1", challenged)
	}
	ws.CloseNow()
	post(mention(200))
	nodetest.WaitFor(t, 15*time.Second, "the mention at the request URL", func() bool { return rcv.got(app.AppID, mention(200)) })
	nodetest.Call(t, admin, "admin.apps.update", url.Values{"app_id": {app.AppID}, "request_url": {"none"}}, nil)
	if a, _ := st.App(ctx, app.AppID); a.RequestURL != "" {
		t.Fatalf("request_url none left %q", a.RequestURL)
	}
	// Until the host has the change (a connection to a dispatcher that
	// still posts is told to reconnect when it restarts): a mention
	// arrives on a Socket Mode connection.
	deadline := time.Now().Add(15 * time.Second)
	for i := 300; !overSocket(t, c, app.AppToken, func() { post(mention(i)) }); i++ {
		if time.Now().After(deadline) {
			t.Fatal("no event over Socket Mode after request_url none")
		}
	}
}

// overSocket opens a Socket Mode connection of the app, calls post once
// it has its hello, and reports whether an events_api envelope came
// within 3 s (false on a disconnect, a close or nothing).
func overSocket(t *testing.T, c *nodetest.Cluster, appToken string, post func()) bool {
	t.Helper()
	ws, _ := openSocket(t, c, appToken)
	defer ws.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	posted := false
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return false
		}
		var f struct{ Type string }
		json.Unmarshal(b, &f)
		switch f.Type {
		case "hello":
			if !posted {
				post()
				posted = true
			}
		case "events_api":
			return true
		default:
			return false
		}
	}
}

// TestAppDelete: admin.apps.delete revokes the app's tokens, closes its
// Socket Mode connections within a second (disconnect link_disabled,
// close 1008), deactivates its bot user (its RTM session closed) and
// stops its deliveries; its bot's messages keep their bot_id, with
// bot_profile.deleted. An unknown app or a non-admin caller gets Slack's
// error and deletes nothing.
func TestAppDelete(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	ctx := context.Background()
	st := c.First().Store
	admin := c.API(c.First().AdminKey())
	alice, _ := c.User("alice")
	rcv := newReceiver(t)
	doomed := createApp(t, c, url.Values{"name": {"doomed"}, "events": {"message.channels"}})
	hooked := createApp(t, c, url.Values{"name": {"doomed-hook"}, "events": {"message.channels"}, "request_url": {rcv.srv.URL}})
	witness := createApp(t, c, url.Values{"name": {"witness"}, "events": {"message.channels"}, "request_url": {rcv.srv.URL}})
	var ch struct {
		Channel struct{ ID string } `json:"channel"`
	}
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"deletes"}}, &ch)
	for _, a := range []testApp{doomed, hooked, witness} {
		nodetest.Call(t, alice, "conversations.invite", url.Values{"channel": {ch.Channel.ID}, "users": {a.BotUserID}}, nil)
	}
	bot := c.API(doomed.BotToken)
	nodetest.Call(t, bot, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {"the bot was here"}}, nil)
	nodetest.WaitFor(t, 15*time.Second, "the hooked app's delivery", func() bool { return rcv.got(hooked.AppID, "the bot was here") })

	wantAPIError(t, admin, "admin.apps.delete", url.Values{"app_id": {"ANOSUCH"}}, "app_not_found")
	wantAPIError(t, admin, "admin.apps.delete", nil, "app_not_found")
	wantAPIError(t, alice, "admin.apps.delete", url.Values{"app_id": {doomed.AppID}}, "invalid_auth")
	wantAPIError(t, c.API(doomed.AppToken), "admin.apps.delete", url.Values{"app_id": {doomed.AppID}}, "invalid_auth")
	if a, err := st.App(ctx, doomed.AppID); err != nil || a.Deleted {
		t.Fatalf("after the refused deletes: %+v, %v", a, err)
	}
	nodetest.Call(t, bot, "auth.test", nil, nil)

	ws, _ := openSocket(t, c, doomed.AppToken)
	defer ws.CloseNow()
	if h := readFrame(t, ws); h["type"] != "hello" {
		t.Fatalf("first frame %v", h)
	}
	botRTM, err := bot.Connect(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer botRTM.Close()

	for _, a := range []testApp{doomed, hooked} {
		nodetest.Call(t, admin, "admin.apps.delete", url.Values{"app_id": {a.AppID}}, nil)
	}
	deleted := time.Now()
	d := readFrame(t, ws)
	for d["type"] == "events_api" { // the bot's own message, if it was not delivered before the delete
		d = readFrame(t, ws)
	}
	if d["type"] != "disconnect" || d["reason"] != "link_disabled" {
		t.Fatalf("frame %v, want disconnect link_disabled", d)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, _, err = ws.Read(rctx)
	cancel()
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || time.Since(deleted) > time.Second {
		t.Fatalf("the Socket Mode connection: %v after %v, want close 1008 within 1s", err, time.Since(deleted))
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ev, err := botRTM.Next(rctx)
		cancel()
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("the bot's RTM session: %v, want close 1008", err)
			}
			break
		}
		if ev.Type == "error" && (ev.Error == nil || ev.Error.Msg != "account_inactive") {
			t.Fatalf("the bot's RTM session: %s", ev.Raw)
		}
	}
	wantAPIError(t, c.API(doomed.AppToken), "apps.connections.open", nil, "token_revoked")
	wantAPIError(t, bot, "auth.test", nil, "token_revoked")
	var info struct {
		User struct{ Deleted bool } `json:"user"`
	}
	nodetest.Call(t, alice, "users.info", url.Values{"user": {doomed.BotUserID}}, &info)
	if !info.User.Deleted {
		t.Fatal("the bot user is active after admin.apps.delete")
	}
	for _, tt := range []struct {
		method string
		args   url.Values
	}{
		{"admin.apps.delete", url.Values{"app_id": {doomed.AppID}}},
		{"admin.apps.update", url.Values{"app_id": {doomed.AppID}, "name": {"back"}}},
	} {
		wantAPIError(t, admin, tt.method, tt.args, "app_not_found")
	}

	// Deliveries stop: the witness app gets the next message, the
	// deleted hooked app does not.
	nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {"after the delete"}}, nil)
	nodetest.WaitFor(t, 15*time.Second, "the witness's delivery", func() bool { return rcv.got(witness.AppID, "after the delete") })
	if rcv.got(hooked.AppID, "after the delete") {
		t.Fatal("a deleted app got an event")
	}

	// The bot's message keeps its bot_id, and says the app is gone.
	type message struct {
		Text       string `json:"text"`
		BotID      string `json:"bot_id"`
		BotProfile struct {
			Deleted bool `json:"deleted"`
		} `json:"bot_profile"`
	}
	var hist struct{ Messages []message }
	nodetest.Call(t, alice, "conversations.history", url.Values{"channel": {ch.Channel.ID}}, &hist)
	i := slices.IndexFunc(hist.Messages, func(m message) bool { return m.Text == "the bot was here" })
	if i < 0 || hist.Messages[i].BotID != doomed.BotID || !hist.Messages[i].BotProfile.Deleted {
		t.Fatalf("history: %+v", hist.Messages)
	}
}
