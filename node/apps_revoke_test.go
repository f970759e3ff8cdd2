package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/node/nodetest"
)

// TestAppTokenRevokeClosesConnections: admin.apps.revokeToken closes
// every Socket Mode connection opened with the token within a second
// (disconnect link_disabled, then close 1008), through the revocation
// log as auth.revoke closes RTM sessions; a URL apps.connections.open
// returned before the revocation opens nothing after it; another app's
// connection and the app's bot token are untouched.
func TestAppTokenRevokeClosesConnections(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	admin := c.API(c.First().AdminKey())
	app := createApp(t, c, url.Values{"name": {"revoke-me"}, "events": {"message.channels"}})
	other := createApp(t, c, url.Values{"name": {"keep-me"}, "events": {"message.channels"}})

	var open []*websocket.Conn
	for range 2 {
		ws, _ := openSocket(t, c, app.AppToken)
		if h := readFrame(t, ws); h["type"] != "hello" {
			t.Fatalf("first frame %v", h)
		}
		open = append(open, ws)
	}
	kept, _ := openSocket(t, c, other.AppToken)
	defer kept.CloseNow()
	if h := readFrame(t, kept); h["type"] != "hello" {
		t.Fatalf("first frame %v", h)
	}
	var early struct {
		URL string `json:"url"`
	}
	nodetest.Call(t, c.API(app.AppToken), "apps.connections.open", nil, &early)

	nodetest.Call(t, admin, "admin.apps.revokeToken", url.Values{"app_token": {app.AppToken}}, nil)
	revoked := time.Now()
	for i, ws := range open {
		if d := readFrame(t, ws); d["type"] != "disconnect" || d["reason"] != "link_disabled" {
			t.Fatalf("connection %d: frame %v, want disconnect link_disabled", i, d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := ws.Read(ctx)
		cancel()
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("connection %d: %v, want close 1008", i, err)
		}
		if took := time.Since(revoked); took > time.Second {
			t.Fatalf("connection %d closed %v after the revocation, want within 1s", i, took)
		}
	}
	t.Logf("both connections closed %v after admin.apps.revokeToken answered", time.Since(revoked))

	// The URL handed out before: refused, token_revoked.
	_, resp, err := websocket.Dial(context.Background(), early.URL, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial the earlier URL: %v, %+v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e); e.OK || e.Error != "token_revoked" {
		t.Fatalf("the earlier URL's refusal: %s", body)
	}
	wantAPIError(t, c.API(app.AppToken), "apps.connections.open", nil, "token_revoked")

	// Untouched: the app's bot token, and the other app's connection
	// (its next one is the second).
	nodetest.Call(t, c.API(app.BotToken), "auth.test", nil, nil)
	ws, _ := openSocket(t, c, other.AppToken)
	defer ws.CloseNow()
	if h := readFrame(t, ws); h["type"] != "hello" || h["num_connections"] != 2.0 {
		t.Fatalf("the other app's second connection: %v (its first was closed?)", h)
	}
}
