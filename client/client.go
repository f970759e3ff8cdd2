package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/coder/websocket"
)

// APIError is a Web API answer with ok:false.
type APIError struct {
	Method string
	Code   string
}

func (e *APIError) Error() string { return e.Method + ": " + e.Code }

// API calls Web API methods with one token. Safe for concurrent use.
type API struct {
	Base  string // http://host:port
	Token string
	HTTP  *http.Client
}

// Call posts args as a form to a Web API method (or to a node's own
// endpoint, a path such as /status) and decodes the answer into out
// (which may be nil). An ok:false answer is an *APIError. It is the one
// HTTP helper of ringcast's clients and commands.
func (a *API) Call(ctx context.Context, method string, args url.Values, out any) error {
	if args == nil {
		args = url.Values{}
	}
	u := a.Base + "/api/" + method
	if strings.HasPrefix(method, "/") {
		u = a.Base + method
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(args.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: HTTP %d: %w", method, resp.StatusCode, err)
	}
	if !env.OK {
		return &APIError{Method: method, Code: env.Error}
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// Event is any frame the server sends on RTM, decoded loosely.
type Event struct {
	Type     string          `json:"type"`
	Subtype  string          `json:"subtype"`
	Channel  json.RawMessage `json:"channel"` // a string, or an object for channel_joined
	User     string          `json:"user"`
	Text     string          `json:"text"`
	TS       string          `json:"ts"`
	Seq      uint64          `json:"seq"`
	Presence string          `json:"presence"`
	ReplyTo  *int64          `json:"reply_to"`
	OK       *bool           `json:"ok"`
	Error    *RTMError       `json:"error"`
	Raw      []byte          `json:"-"`
}

// RTMError is the error object of an error event or error ack.
type RTMError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// ChannelID returns the channel of the event, whether given as an id or
// as a channel object.
func (e *Event) ChannelID() string {
	var s string
	if json.Unmarshal(e.Channel, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	json.Unmarshal(e.Channel, &o)
	return o.ID
}

// RTM is one websocket session. Send is safe for concurrent use; Next
// must be called from one goroutine.
type RTM struct {
	Conn   *websocket.Conn
	nextID atomic.Int64
}

// Connect calls rtm.connect and dials the URL it returns, adding resume
// (channel -> last seq seen) as the resume query parameter.
func (a *API) Connect(ctx context.Context, resume map[string]uint64) (*RTM, error) {
	return a.ConnectWith(ctx, resume, nil)
}

// ConnectWith is Connect with websocket dial options (for example an
// HTTP client that chooses the source address); opts may be nil.
func (a *API) ConnectWith(ctx context.Context, resume map[string]uint64, opts *websocket.DialOptions) (*RTM, error) {
	var res struct {
		URL string `json:"url"`
	}
	if err := a.Call(ctx, "rtm.connect", nil, &res); err != nil {
		return nil, err
	}
	return DialWith(ctx, res.URL, resume, opts)
}

// Dial opens an RTM websocket at url.
func Dial(ctx context.Context, u string, resume map[string]uint64) (*RTM, error) {
	return DialWith(ctx, u, resume, nil)
}

// DialWith is Dial with websocket dial options; opts may be nil.
func DialWith(ctx context.Context, u string, resume map[string]uint64, opts *websocket.DialOptions) (*RTM, error) {
	if len(resume) > 0 {
		var parts []string
		for ch, seq := range resume {
			parts = append(parts, ch+":"+strconv.FormatUint(seq, 10))
		}
		u += "?resume=" + url.QueryEscape(strings.Join(parts, ","))
	}
	c, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return &RTM{Conn: c}, nil
}

// Next reads the next frame.
func (r *RTM) Next(ctx context.Context) (*Event, error) {
	_, data, err := r.Conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("bad frame %q: %w", data, err)
	}
	e.Raw = data
	return &e, nil
}

// Send writes a frame. When v is a map without "id", an id is added and
// returned.
func (r *RTM) Send(ctx context.Context, v map[string]any) (int64, error) {
	id, ok := v["id"].(int64)
	if _, has := v["id"]; !has {
		id, ok = r.nextID.Add(1), true
		v["id"] = id
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	if !ok {
		id = 0
	}
	return id, r.Conn.Write(ctx, websocket.MessageText, b)
}

// SendRaw writes a frame as given.
func (r *RTM) SendRaw(ctx context.Context, b []byte) error {
	return r.Conn.Write(ctx, websocket.MessageText, b)
}

// Close closes the websocket normally.
func (r *RTM) Close() error { return r.Conn.Close(websocket.StatusNormalClosure, "") }
