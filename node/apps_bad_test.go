package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/roles/apps"
)

// wantAPIError calls method and wants Slack's error code.
func wantAPIError(t *testing.T, api *client.API, method string, args url.Values, code string) {
	t.Helper()
	err := api.Call(context.Background(), method, args, nil)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("%s: err = %v, want %s", method, err, code)
	}
}

// openSocket calls apps.connections.open with tok and dials the URL.
func openSocket(t *testing.T, c *nodetest.Cluster, tok string) (*websocket.Conn, string) {
	t.Helper()
	var res struct {
		URL string `json:"url"`
	}
	nodetest.Call(t, c.API(tok), "apps.connections.open", nil, &res)
	ws, _, err := websocket.Dial(context.Background(), res.URL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", res.URL, err)
	}
	return ws, res.URL
}

// readFrame reads one JSON frame.
func readFrame(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return m
}

// TestAppsBadInput: wrong, revoked and wrong-kind tokens, reused and
// forged socket URLs, acks of unknown envelopes and garbage frames each
// get a clear error and change nothing.
func TestAppsBadInput(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Tune: func(cfg *config.Config) {
		cfg.AppAckTimeout = 500 * time.Millisecond
		cfg.Limits.AppsConnect = limit.Rate{} // "too many connections" opens them as fast as it can
	}})
	alice, _ := c.User("alice")
	admin := c.API(c.First().AdminKey())
	app := createApp(t, c, url.Values{"name": {"bad-bot"}, "events": {"message.channels"}})

	t.Run("create", func(t *testing.T) {
		for _, tt := range []struct {
			args url.Values
			code string
		}{
			{url.Values{"name": {"Not A Name!"}}, "invalid_name"},
			{url.Values{"name": {"x"}, "events": {"message.channels,bogus_event"}}, "invalid_event_type"},
			{url.Values{"name": {"x"}, "request_url": {"ftp://example.com/"}}, "invalid_request_url"},
			{url.Values{"name": {"x"}, "request_url": {"http://127.0.0.1:1/nothing-listens"}}, "url_verification_failed"},
			{url.Values{"name": {"bad-bot"}}, "name_taken"},
			{url.Values{"name": {"alice"}}, "name_taken"}, // a person's name
		} {
			wantAPIError(t, admin, "admin.apps.create", tt.args, tt.code)
		}
		wantAPIError(t, alice, "admin.apps.create", url.Values{"name": {"y"}}, "invalid_auth") // no admin key
		// Nothing was made: no user "x" (the bot user comes first).
		wantAPIError(t, admin, "admin.users.createToken", url.Values{"name": {"x"}}, "user_not_found")
	})

	t.Run("tokens", func(t *testing.T) {
		wantAPIError(t, c.API(""), "apps.connections.open", nil, "not_authed")
		wantAPIError(t, c.API("xapp-"+strings.Repeat("0", 26)), "apps.connections.open", nil, "invalid_auth")
		wantAPIError(t, c.API(app.BotToken), "apps.connections.open", nil, "not_allowed_token_type")
		wantAPIError(t, alice, "apps.connections.open", nil, "not_allowed_token_type")
		// An app-level token is for apps.connections.open only.
		wantAPIError(t, c.API(app.AppToken), "auth.test", nil, "not_allowed_token_type")
		wantAPIError(t, c.API(app.AppToken), "chat.postMessage", url.Values{"channel": {"general"}, "text": {"x"}}, "not_allowed_token_type")
		// The right token still works after all that.
		ws, u := openSocket(t, c, app.AppToken)
		if h := readFrame(t, ws); h["type"] != "hello" {
			t.Fatalf("first frame %v", h)
		}
		ws.Close(websocket.StatusNormalClosure, "")
		// A URL is single-use; a forged one is refused.
		for _, bad := range []string{u, u[:strings.LastIndex(u, "/")+1] + "forged.ticket"} {
			_, resp, err := websocket.Dial(context.Background(), bad, nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("dial %s: %v, %+v", bad, err, resp)
			}
		}
		// Revoked: token_revoked from then on.
		other := createApp(t, c, url.Values{"name": {"revoked-bot"}})
		wantAPIError(t, admin, "admin.apps.revokeToken", url.Values{"app_token": {"xapp-unknown"}}, "invalid_auth")
		nodetest.Call(t, admin, "admin.apps.revokeToken", url.Values{"app_token": {other.AppToken}}, nil)
		wantAPIError(t, c.API(other.AppToken), "apps.connections.open", nil, "token_revoked")
	})

	t.Run("too many connections", func(t *testing.T) {
		many := createApp(t, c, url.Values{"name": {"many-bot"}})
		var open []*websocket.Conn
		for range apps.MaxConnections {
			ws, _ := openSocket(t, c, many.AppToken)
			if h := readFrame(t, ws); h["type"] != "hello" {
				t.Fatalf("frame %v", h)
			}
			open = append(open, ws)
		}
		ws, _ := openSocket(t, c, many.AppToken)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
			t.Fatalf("connection %d: %v, want close 1013", apps.MaxConnections+1, err)
		}
		// One closed, one more may come.
		open[0].Close(websocket.StatusNormalClosure, "")
		nodetest.WaitFor(t, 10*time.Second, "a free connection slot", func() bool {
			ws, _ := openSocket(t, c, many.AppToken)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, b, err := ws.Read(ctx)
			if err == nil {
				open[0] = ws
			}
			return err == nil && strings.Contains(string(b), `"hello"`)
		})
		for _, ws := range open {
			ws.Close(websocket.StatusNormalClosure, "")
		}
	})

	t.Run("frames", func(t *testing.T) {
		var ch struct {
			Channel struct{ ID string } `json:"channel"`
		}
		nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"bad-frames"}}, &ch)
		nodetest.Call(t, alice, "conversations.invite", url.Values{"channel": {ch.Channel.ID}, "users": {app.BotUserID}}, nil)
		ws, _ := openSocket(t, c, app.AppToken)
		readFrame(t, ws) // hello
		nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {"one"}}, nil)
		first := readFrame(t, ws)
		if strings.Contains(fmt.Sprint(first), "subtype:channel_join") { // the bot's join: acked
			ws.Write(context.Background(), websocket.MessageText, []byte(`{"envelope_id":"`+first["envelope_id"].(string)+`"}`))
			first = readFrame(t, ws)
		}
		if first["type"] != "events_api" || first["retry_attempt"] != 0.0 {
			t.Fatalf("envelope %v", first)
		}
		// An ack of an envelope that does not exist is ignored: the
		// connection stays, and the real one is still unacked.
		ctx := context.Background()
		for _, bogus := range []string{`{"envelope_id":"no-such-envelope"}`, `{"envelope_id":"` + strings.Repeat("x", 300) + `"}`} {
			if err := ws.Write(ctx, websocket.MessageText, []byte(bogus)); err != nil {
				t.Fatal(err)
			}
		}
		again := readFrame(t, ws)
		if again["envelope_id"] != first["envelope_id"] || again["retry_attempt"] != 1.0 || again["retry_reason"] != "timeout" {
			t.Fatalf("redelivery %v", again)
		}
		ws.Write(ctx, websocket.MessageText, []byte(`{"envelope_id":"`+first["envelope_id"].(string)+`"}`))
		// Garbage: the connection is closed with 1003, and an envelope
		// it had not acked goes to the next connection.
		for _, garbage := range []struct {
			typ  websocket.MessageType
			body string
		}{{websocket.MessageText, "not json"}, {websocket.MessageText, `{"type":"hello"}`}, {websocket.MessageBinary, "\x00\x01"}} {
			nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {garbage.body}}, nil)
			sent := readFrame(t, ws)
			if err := ws.Write(ctx, garbage.typ, []byte(garbage.body)); err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			for {
				if _, _, err := ws.Read(rctx); err != nil {
					if websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
						t.Fatalf("after %q: %v, want close 1003", garbage.body, err)
					}
					break
				}
			}
			cancel()
			ws, _ = openSocket(t, c, app.AppToken)
			readFrame(t, ws) // hello
			e := readFrame(t, ws)
			if e["envelope_id"] != sent["envelope_id"] || e["retry_attempt"] != 1.0 {
				t.Fatalf("after %q: %v", garbage.body, e)
			}
			ws.Write(ctx, websocket.MessageText, []byte(`{"envelope_id":"`+e["envelope_id"].(string)+`"}`))
		}
		// Acked at last: nothing more comes.
		nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {"two"}}, nil)
		e := readFrame(t, ws)
		var p struct{ Event struct{ Text string } }
		b, _ := json.Marshal(e["payload"])
		json.Unmarshal(b, &p)
		if p.Event.Text != "two" || e["retry_attempt"] != 0.0 {
			t.Fatalf("after the ack: %v", e)
		}
		ws.Close(websocket.StatusNormalClosure, "")
	})
}
