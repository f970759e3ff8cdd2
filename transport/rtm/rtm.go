package rtm

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/ringcast/ringcast/chat"
)

// Limits of the client protocol.
const (
	// MaxFrame is the largest client frame; a bigger one closes the
	// connection with status 1009.
	MaxFrame = 16 << 10
	// MaxText is the longest message text, in characters.
	MaxText = 4000
)

// Error codes of error events and error acks. Slack's own: 1 (socket URL
// expired), 2 (message text is missing), -1 (rate limited); ringcast's
// additions follow Slack's Web API error strings in msg.
const (
	CodeRateLimited   = -1
	CodeURLExpired    = 1
	CodeNoText        = 2
	CodeInvalidJSON   = 3
	CodeUnknownType   = 4
	CodeBadRequest    = 5
	CodeNotFound      = 6
	CodeNotInChannel  = 7
	CodeMsgTooLong    = 8
	CodeUnavailable   = 9
	CodeResumeTooOld  = 10
	CodeTooManyIDs    = 11
	CodeInvalidAuth   = 12 // the session's token was revoked or its user deactivated
	CodeArchived      = 13
	CodeInternalError = 99
)

// Request is a frame a client sends. Fields unused by its type are empty.
type Request struct {
	Type        string            `json:"type"`
	ID          *int64            `json:"id"`
	Channel     string            `json:"channel"`
	Text        *string           `json:"text"`
	ThreadTS    string            `json:"thread_ts"`
	ClientMsgID string            `json:"client_msg_id"`
	IDs         []string          `json:"ids"`
	Channels    map[string]uint64 `json:"channels"` // resume: last seq seen per channel
	raw         []byte

	// Storage for ID and Text when parseFlat sets them, so that they cost
	// no allocations of their own.
	id   int64
	text string
}

// ErrInvalidJSON: the frame is not a JSON object with a string type.
var ErrInvalidJSON = errors.New("invalid json")

// ParseRequest decodes one client frame. The result refers to frame
// (Pong echoes from it): frame must not change while the result is used.
func ParseRequest(frame []byte) (*Request, error) {
	var r Request
	if !parseFlat(frame, &r) {
		r = Request{}
		if err := json.Unmarshal(frame, &r); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
	}
	if r.Type == "" {
		return nil, fmt.Errorf("%w: missing type", ErrInvalidJSON)
	}
	r.raw = frame
	return &r, nil
}

// ReplyTo is the request's id, or 0 when it sent none.
func (r *Request) ReplyTo() int64 {
	if r.ID == nil {
		return 0
	}
	return *r.ID
}

// Hello is the first frame of every connection.
var Hello = []byte(`{"type":"hello"}`)

// Goodbye tells a client the server is going away; it should reconnect.
var Goodbye = []byte(`{"type":"goodbye"}`)

// Pong answers a ping, echoing its flat scalar fields (slack-go sends a
// timestamp and matches on it).
func Pong(r *Request) []byte {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(r.raw, &fields)
	b := []byte(`{"type":"pong","reply_to":`)
	b = strconv.AppendInt(b, r.ReplyTo(), 10)
	for k, v := range fields {
		if k == "type" || k == "id" || k == "reply_to" || len(v) == 0 || v[0] == '{' || v[0] == '[' {
			continue
		}
		b = append(b, ',')
		b = AppendString(b, k)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}')
}

// AckSize is room enough for the ack of a message with this text unless
// the text needs many escapes.
func AckSize(text string) int { return 64 + len(text) + len(text)/8 }

// AppendAck appends the ack confirming sent message replyTo to b: no
// type key, no error key (clients read a type-less frame with reply_to
// as an ack).
func AppendAck(b []byte, replyTo int64, ts chat.TS, text string) []byte {
	b = append(b, `{"ok":true,"reply_to":`...)
	b = strconv.AppendInt(b, replyTo, 10)
	b = append(b, `,"ts":"`...)
	b = ts.Append(b)
	b = append(b, `","text":`...)
	b = AppendString(b, text)
	return append(b, '}')
}

// ErrorAck rejects request replyTo.
func ErrorAck(replyTo int64, code int, msg string) []byte {
	b := []byte(`{"ok":false,"reply_to":`)
	b = strconv.AppendInt(b, replyTo, 10)
	b = append(b, `,"error":`...)
	b = appendError(b, code, msg)
	return append(b, '}')
}

// ErrorEvent reports a problem not tied to a request id.
func ErrorEvent(code int, msg string) []byte {
	b := []byte(`{"type":"error","error":`)
	b = appendError(b, code, msg)
	return append(b, '}')
}

// Reply answers request r with an error ack when it carried an id and an
// error event otherwise.
func Reply(r *Request, code int, msg string) []byte {
	if r != nil && r.ID != nil {
		return ErrorAck(*r.ID, code, msg)
	}
	return ErrorEvent(code, msg)
}

func appendError(b []byte, code int, msg string) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"msg":`...)
	b = AppendString(b, msg)
	return append(b, '}')
}

// AppendMessage appends the message event of m to b: the one encoding
// every recipient of m receives. seq is ringcast's addition.
func AppendMessage(b []byte, m *chat.Message, team string) []byte {
	if m.More != nil {
		return appendEntry(b, m, team)
	}
	n := 160 + len(m.Channel) + len(m.User) + len(m.Text) + len(m.Text)/8 + len(team) + len(m.ClientMsgID)
	b = slices.Grow(b, n) // grown once unless the text needs many escapes
	b = append(b, `{"type":"message","channel":`...)
	b = AppendString(b, m.Channel)
	b = append(b, `,"user":`...)
	b = AppendString(b, m.User)
	b = append(b, `,"text":`...)
	b = AppendString(b, m.Text)
	b = append(b, `,"ts":"`...)
	b = m.TS.Append(b)
	b = append(b, `","event_ts":"`...)
	b = m.TS.Append(b)
	b = append(b, `","team":`...)
	b = AppendString(b, team)
	if m.ThreadTS != 0 {
		b = append(b, `,"thread_ts":"`...)
		b = m.ThreadTS.Append(b)
		b = append(b, '"')
	}
	if m.ClientMsgID != "" {
		b = append(b, `,"client_msg_id":`...)
		b = AppendString(b, m.ClientMsgID)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	return append(b, '}')
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; U+2028 and U+2029 are escaped for JavaScript.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// parseFlat decodes the common frame, a flat object of the fields a
// message, typing or ping carries, without reflection: what
// encoding/json would make of it, at a fraction of the cost (it is on
// the path of every message a client sends). It reports false, leaving
// r partly filled, for anything else (other keys, nulls, escapes,
// numbers that are not plain integers, invalid UTF-8, bad syntax);
// ParseRequest then decodes with encoding/json, which decides. A fuzz
// test holds the two to the same results.
func parseFlat(b []byte, r *Request) bool {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := flatString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i == len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		if string(key) == "id" {
			id, j, ok := flatInt(b, i)
			if !ok {
				return false
			}
			r.id, i = id, j
			r.ID = &r.id
		} else {
			v, j, ok := flatString(b, i)
			if !ok {
				return false
			}
			switch string(key) {
			case "type":
				r.Type = typeName(v)
			case "channel":
				r.Channel = string(v)
			case "text":
				r.text = string(v)
				r.Text = &r.text
			case "thread_ts":
				r.ThreadTS = string(v)
			case "client_msg_id":
				r.ClientMsgID = string(v)
			default:
				return false
			}
			i = j
		}
		i = skipSpace(b, i)
		if i == len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// typeName returns the common frame types without allocating.
func typeName(v []byte) string {
	switch string(v) {
	case "message":
		return "message"
	case "typing":
		return "typing"
	case "ping":
		return "ping"
	}
	return string(v)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// flatString reads a JSON string at b[i] that needs no unescaping and is
// valid UTF-8; it returns its bytes and the index after it.
func flatString(b []byte, i int) ([]byte, int, bool) {
	if i == len(b) || b[i] != '"' {
		return nil, 0, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			v := b[i+1 : j]
			if !ascii && !utf8.Valid(v) {
				return nil, 0, false
			}
			return v, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

// flatInt reads a JSON integer (no fraction or exponent) that fits an
// int64; it returns it and the index after it.
func flatInt(b []byte, i int) (int64, int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == start || (b[start] == '0' && j > start+1) {
		return 0, 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(string(b[i:j]), 10, 64)
	return n, j, err == nil
}
