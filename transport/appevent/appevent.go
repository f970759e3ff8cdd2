package appevent

import (
	"bytes"
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ringcast/ringcast/chat"
)

// Timeout is how long an Events API receiver has to answer (Slack: 3 s).
const Timeout = 3 * time.Second

// MaxAck bounds an ack frame from a Socket Mode client (Slack drops
// responses of 20 KB and more).
const MaxAck = 20 << 10

// Event is one event for an app: its payload fields besides the event
// itself.
type Event struct {
	ID   string // Ev…, the same on every redelivery
	Time int64  // unix seconds
	Body []byte // the event object, JSON
}

// Callback is the event_callback payload of e for app (the Socket Mode
// envelope's payload and the Events API's request body).
func Callback(team string, app *chat.App, e *Event) []byte {
	var b bytes.Buffer
	b.WriteString(`{"token":"","team_id":`)
	str(&b, team)
	b.WriteString(`,"api_app_id":`)
	str(&b, app.ID)
	b.WriteString(`,"event":`)
	b.Write(e.Body)
	b.WriteString(`,"type":"event_callback","event_id":`)
	str(&b, e.ID)
	fmt.Fprintf(&b, `,"event_time":%d,"authorizations":[{"enterprise_id":null,"team_id":`, e.Time)
	str(&b, team)
	b.WriteString(`,"user_id":`)
	str(&b, app.BotUser)
	b.WriteString(`,"is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false}`)
	return b.Bytes()
}

func str(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s)
	b.Write(j)
}

// Envelope is a Socket Mode events_api frame carrying payload.
func Envelope(envelopeID string, retryAttempt int, retryReason string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"envelope_id":`)
	str(&b, envelopeID)
	b.WriteString(`,"type":"events_api","accepts_response_payload":false,"retry_attempt":`)
	b.WriteString(strconv.Itoa(retryAttempt))
	b.WriteString(`,"retry_reason":`)
	str(&b, retryReason)
	b.WriteString(`,"payload":`)
	b.Write(payload)
	b.WriteByte('}')
	return b.Bytes()
}

// Hello is the first frame of a Socket Mode connection.
func Hello(numConnections int, appID, host string, connectionTime time.Duration) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": numConnections,
		"debug_info":      map[string]any{"host": host, "approximate_connection_time": int(connectionTime.Seconds())},
		"connection_info": map[string]any{"app_id": appID},
	})
	return b
}

// Disconnect reasons.
const (
	ReasonRefresh      = "refresh_requested" // the server closes this connection: open another
	ReasonWarning      = "warning"           // the server closes soon
	ReasonLinkDisabled = "link_disabled"
)

// Disconnect tells a client the server closes the connection; it opens
// a new one.
func Disconnect(reason, host string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": host}})
	return b
}

// ErrBadAck: a client frame that is not an ack.
var ErrBadAck = errors.New("not an envelope ack")

// ParseAck reads a client's ack, {"envelope_id":"…"} with an optional
// payload (ignored: events_api envelopes accept none).
func ParseAck(frame []byte) (envelopeID string, err error) {
	if len(frame) > MaxAck {
		return "", ErrBadAck
	}
	var a struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(frame, &a) != nil || a.EnvelopeID == "" {
		return "", ErrBadAck
	}
	return a.EnvelopeID, nil
}

// NewEnvelopeID is a random id in the UUID format Slack uses.
func NewEnvelopeID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Signature is Slack's X-Slack-Signature of body sent at timestamp:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
func Signature(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%d:", timestamp)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Retry reasons of the Events API (X-Slack-Retry-Reason).
const (
	RetryTimeout          = "http_timeout"
	RetryHTTPError        = "http_error"
	RetryConnectionFailed = "connection_failed"
)

// Post sends body to an app's request URL signed with secret, with the
// retry headers when retryNum > 0. It returns "" when the receiver
// answered 2xx within Timeout, else the retry reason.
func Post(ctx context.Context, c *http.Client, url, secret string, body []byte, retryNum int, retryReason string) string {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return RetryConnectionFailed
	}
	now := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
	req.Header.Set("X-Slack-Signature", Signature(secret, now, body))
	if retryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retryNum))
		req.Header.Set("X-Slack-Retry-Reason", retryReason)
	}
	resp, err := c.Do(req)
	switch {
	case err != nil && ctx.Err() != nil:
		return RetryTimeout
	case err != nil:
		return RetryConnectionFailed
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return RetryHTTPError
	}
	return ""
}

// VerifyURL sends the url_verification challenge to url, signed with
// secret, and checks the answer: the challenge, as plain text or as
// {"challenge":"…"}.
func VerifyURL(ctx context.Context, c *http.Client, url, secret string) error {
	challenge := NewEnvelopeID()
	body, _ := json.Marshal(map[string]string{"token": "", "challenge": challenge, "type": "url_verification"})
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
	req.Header.Set("X-Slack-Signature", Signature(secret, now, body))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return err
	}
	var obj struct{ Challenge string }
	if resp.StatusCode/100 == 2 && (strings.TrimSpace(string(got)) == challenge ||
		json.Unmarshal(got, &obj) == nil && obj.Challenge == challenge) {
		return nil
	}
	return fmt.Errorf("url_verification: status %d, the challenge not answered", resp.StatusCode)
}
