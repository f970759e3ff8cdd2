package appevent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSignatureAsSlackGoVerifies: slack-go's SecretsVerifier (Slack's
// published algorithm) accepts what Post signs, and refuses it under
// another secret.
func TestSignatureAsSlackGoVerifies(t *testing.T) {
	body := []byte(`{"type":"event_callback"}`)
	ts := time.Now().Unix()
	for _, tt := range []struct {
		secret string
		ok     bool
	}{{"s3cret", true}, {"other", false}} {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		h.Set("X-Slack-Signature", Signature("s3cret", ts, body))
		v, err := slack.NewSecretsVerifier(h, tt.secret)
		if err != nil {
			t.Fatal(err)
		}
		v.Write(body)
		if err := v.Ensure(); (err == nil) != tt.ok {
			t.Fatalf("secret %q: Ensure = %v", tt.secret, err)
		}
	}
}

// TestFramesParse: slack-go's parser reads the payload and envelope.
func TestFramesParse(t *testing.T) {
	app := &chat.App{ID: "A1", BotUser: "U1"}
	payload := Callback("T1", app, &Event{ID: "Ev1", Time: 1700000000,
		Body: []byte(`{"type":"app_mention","user":"U2","text":"<@U1> hi","ts":"1700000000.000100","channel":"C1"}`)})
	ev, err := slackevents.ParseEvent(payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", payload, err)
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	am, ok2 := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || !ok2 || cb.EventID != "Ev1" || cb.APIAppID != "A1" || am.Text != "<@U1> hi" || ev.TeamID != "T1" {
		t.Fatalf("parsed %+v %+v %+v", ev, cb, am)
	}
	var raw struct {
		Type           string `json:"type"`
		EventTime      int64  `json:"event_time"`
		Authorizations []struct {
			TeamID              string `json:"team_id"`
			UserID              string `json:"user_id"`
			IsBot               bool   `json:"is_bot"`
			IsEnterpriseInstall *bool  `json:"is_enterprise_install"`
		} `json:"authorizations"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil || raw.Type != "event_callback" || raw.EventTime != 1700000000 ||
		len(raw.Authorizations) != 1 || raw.Authorizations[0].UserID != "U1" || !raw.Authorizations[0].IsBot ||
		raw.Authorizations[0].TeamID != "T1" || raw.Authorizations[0].IsEnterpriseInstall == nil {
		t.Fatalf("payload %s: %+v, %v", payload, raw, err)
	}
	var env struct {
		EnvelopeID     string          `json:"envelope_id"`
		Type           string          `json:"type"`
		AcceptsPayload *bool           `json:"accepts_response_payload"`
		RetryAttempt   int             `json:"retry_attempt"`
		RetryReason    string          `json:"retry_reason"`
		Payload        json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(Envelope("e-1", 2, "timeout", payload), &env); err != nil || env.EnvelopeID != "e-1" ||
		env.Type != "events_api" || env.AcceptsPayload == nil || *env.AcceptsPayload || env.RetryAttempt != 2 ||
		env.RetryReason != "timeout" || string(env.Payload) != string(payload) {
		t.Fatalf("envelope %+v, %v", env, err)
	}
	var hello struct {
		Type           string `json:"type"`
		NumConnections int    `json:"num_connections"`
		DebugInfo      struct {
			Host                      string `json:"host"`
			ApproximateConnectionTime int    `json:"approximate_connection_time"`
		} `json:"debug_info"`
		ConnectionInfo struct {
			AppID string `json:"app_id"`
		} `json:"connection_info"`
	}
	if err := json.Unmarshal(Hello(3, "A1", "n1", time.Hour), &hello); err != nil || hello.Type != "hello" || hello.NumConnections != 3 ||
		hello.DebugInfo.Host != "n1" || hello.DebugInfo.ApproximateConnectionTime != 3600 || hello.ConnectionInfo.AppID != "A1" {
		t.Fatalf("hello %+v, %v", hello, err)
	}
	var bye struct{ Type, Reason string }
	if err := json.Unmarshal(Disconnect(ReasonLinkDisabled, "n1"), &bye); err != nil || bye.Type != "disconnect" || bye.Reason != "link_disabled" {
		t.Fatalf("disconnect %+v, %v", bye, err)
	}
	for _, tt := range []struct {
		frame string
		id    string
	}{
		{`{"envelope_id":"e-1"}`, "e-1"},
		{`{"envelope_id":"e-1","payload":{"text":"x"}}`, "e-1"},
		{`{"envelope_id":""}`, ""},
		{`{"type":"hello"}`, ""},
		{`not json`, ""},
		{`["e-1"]`, ""},
	} {
		id, err := ParseAck([]byte(tt.frame))
		if id != tt.id || (err == nil) != (tt.id != "") {
			t.Errorf("ParseAck(%s) = %q, %v", tt.frame, id, err)
		}
	}
}

// TestPostRetryReasons: a 2xx is delivered; an error status, a slow
// receiver and no receiver give Slack's retry reasons; retries carry
// the retry headers.
func TestPostRetryReasons(t *testing.T) {
	var lastNum, lastReason string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		lastNum, lastReason = r.Header.Get("X-Slack-Retry-Num"), r.Header.Get("X-Slack-Retry-Reason")
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(Timeout + time.Second):
			}
		}
	}))
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()
	if r := Post(ctx, c, srv.URL+"/ok", "s", []byte(`{}`), 0, ""); r != "" || lastNum != "" {
		t.Fatalf("ok: %q, retry num %q", r, lastNum)
	}
	if r := Post(ctx, c, srv.URL+"/fail", "s", []byte(`{}`), 2, RetryHTTPError); r != RetryHTTPError || lastNum != "2" || lastReason != RetryHTTPError {
		t.Fatalf("fail: %q, headers %q %q", r, lastNum, lastReason)
	}
	if r := Post(ctx, c, srv.URL+"/slow", "s", []byte(`{}`), 0, ""); r != RetryTimeout {
		t.Fatalf("slow: %q", r)
	}
	if r := Post(ctx, c, "http://127.0.0.1:1/", "s", []byte(`{}`), 0, ""); r != RetryConnectionFailed {
		t.Fatalf("nothing listening: %q", r)
	}
}
