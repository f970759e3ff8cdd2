package node_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// logged returns the JSON log lines in l whose msg is msg.
func logged(l *lockedBuffer, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range l.lines(`"msg":"` + msg + `"`) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestRequestAndSessionLogs: every response has a request id, which a
// Web API error also carries in request_id and --log-requests logs with
// the request (an RTM ticket never reaches the log); at debug level a
// websocket session logs one line when it starts and one when it ends,
// with its user, gateway, duration, close code and bytes.
func TestRequestAndSessionLogs(t *testing.T) {
	var logs lockedBuffer
	c := nodetest.Start(t, nodetest.Spec{Name: "logged", Roles: ring.AllRoles, Host: "127.0.50.33",
		Log:  slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tune: func(cfg *config.Config) { cfg.LogRequests = true }})
	n := c.First()
	api, uid := c.User("logan")

	req, _ := http.NewRequest("POST", "http://"+n.HTTPAddr()+"/api/chat.postMessage", strings.NewReader("channel=CNOSUCH&text=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+api.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		OK        bool   `json:"ok"`
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	id := res.Header.Get("X-Request-Id")
	if len(id) != 16 || body.OK || body.Error != "channel_not_found" || body.RequestID != id {
		t.Fatalf("error answer %+v with X-Request-Id %q: want channel_not_found and the header's id", body, id)
	}
	res2, err := http.Get("http://" + n.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if id2 := res2.Header.Get("X-Request-Id"); id2 == "" || id2 == id {
		t.Fatalf("second request's id %q (first %q)", id2, id)
	}

	r := nodetest.Connect(t, api, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.Send(ctx, map[string]any{"type": "ping"}); err != nil {
		t.Fatal(err)
	}
	nodetest.Next(t, r) // the pong
	r.Close()

	var ended []map[string]any
	nodetest.WaitFor(t, 10*time.Second, "the session's end logged", func() bool {
		ended = logged(&logs, "session ended")
		return len(ended) == 1
	})
	e := ended[0]
	if e["user"] != uid || e["gateway"] != "logged" || e["code"] != float64(1000) || e["bytes_sent"].(float64) <= 0 ||
		e["bytes_received"].(float64) <= 0 || e["level"] != "DEBUG" || e["duration"] == nil {
		t.Fatalf("session ended line %v", e)
	}
	if started := logged(&logs, "session started"); len(started) != 1 || started[0]["user"] != uid {
		t.Fatalf("session started lines %v", started)
	}
	// The upgrade's line is written when its handler returns, which
	// races with the client's first frames.
	var post, upgrade map[string]any
	nodetest.WaitFor(t, 10*time.Second, "the upgrade's request line", func() bool {
		for _, l := range logged(&logs, "request") {
			switch {
			case l["request_id"] == id:
				post = l
			case strings.HasPrefix(l["path"].(string), "/rtm/"):
				upgrade = l
			}
		}
		return upgrade != nil
	})
	if post == nil || post["path"] != "/api/chat.postMessage" || post["status"] != float64(404) && post["status"] != float64(200) {
		t.Fatalf("the post's request line %v", post)
	}
	if upgrade == nil || upgrade["path"] != "/rtm/(ticket)" || upgrade["status"] != float64(101) {
		t.Fatalf("the websocket's request line %v", upgrade)
	}
	logs.mu.Lock()
	all := logs.b.String()
	logs.mu.Unlock()
	if strings.Contains(all, "/rtm/ey") || strings.Contains(all, api.Token) {
		t.Fatal("a ticket or a token is in the log")
	}
}
