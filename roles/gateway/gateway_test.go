package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/roles/gateway"
	"github.com/ringcast/ringcast/transport/rtm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

type env struct {
	t     *testing.T
	c     *nodetest.Cluster
	alice *client.API
	bob   *client.API
	bobID string
	ch    string // alice and bob are members
	base  uint64 // ch's last seq after setup: alice's join entry
	other string // only bob is a member
}

func setup(t *testing.T) *env {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	e := &env{t: t, c: c}
	e.alice, _ = c.User("alice")
	e.bob, e.bobID = c.User("bob")
	var res struct {
		Channel struct{ ID string } `json:"channel"`
	}
	e.call(e.bob, "conversations.create", url.Values{"name": {"general"}}, &res)
	e.ch = res.Channel.ID
	e.call(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	e.base = 1
	e.call(e.bob, "conversations.create", url.Values{"name": {"private-ish"}}, &res)
	e.other = res.Channel.ID
	return e
}

func (e *env) call(api *client.API, method string, args url.Values, out any) {
	e.t.Helper()
	nodetest.Call(e.t, api, method, args, out)
}

func (e *env) post(text string) {
	e.t.Helper()
	e.call(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {text}}, nil)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func dial(t *testing.T, api *client.API, resume map[string]uint64) *client.RTM {
	t.Helper()
	return nodetest.Connect(t, api, "", resume)
}

// nextOf skips frames until one of type typ.
func nextOf(t *testing.T, r *client.RTM, typ string) *client.Event {
	t.Helper()
	for {
		if ev := nodetest.Next(t, r); ev.Type == typ || (typ == "" && ev.Type == "") {
			return ev
		}
	}
}

func send(t *testing.T, r *client.RTM, v map[string]any) int64 {
	t.Helper()
	id, err := r.Send(ctx(t), v)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPingPong(t *testing.T) {
	e := setup(t)
	r := dial(t, e.alice, nil)
	send(t, r, map[string]any{"id": int64(7), "type": "ping", "timestamp": 1700000000})
	ev := nodetest.Next(t, r)
	var pong map[string]any
	json.Unmarshal(ev.Raw, &pong)
	if ev.Type != "pong" || *ev.ReplyTo != 7 || pong["timestamp"] != 1700000000.0 {
		t.Fatalf("pong = %s", ev.Raw)
	}
}

func TestSendMessageIsAckedAndDelivered(t *testing.T) {
	e := setup(t)
	a := dial(t, e.alice, nil)
	b := dial(t, e.bob, nil)
	id := send(t, a, map[string]any{"type": "message", "channel": e.ch, "text": "hi bob"})
	var ack, own *client.Event
	for ack == nil || own == nil {
		ev := nodetest.Next(t, a)
		switch {
		case ev.Type == "" && ev.ReplyTo != nil:
			ack = ev
		case ev.Type == "message":
			own = ev
		}
	}
	if !*ack.OK || *ack.ReplyTo != id || ack.TS == "" || ack.Error != nil {
		t.Fatalf("ack = %s", ack.Raw)
	}
	if strings.Contains(string(ack.Raw), `"error"`) || strings.Contains(string(ack.Raw), `"type"`) {
		t.Fatalf("ack carries an error or type key: %s", ack.Raw)
	}
	got := nextOf(t, b, "message")
	if got.Text != "hi bob" || got.TS != ack.TS || got.Seq != e.base+1 || got.ChannelID() != e.ch || own.TS != ack.TS {
		t.Fatalf("bob got %s, alice's ack %s", got.Raw, ack.Raw)
	}
}

// TestBadFramesKeepTheConnection: malformed JSON and unknown types get
// an error event and the session keeps working.
func TestBadFramesKeepTheConnection(t *testing.T) {
	e := setup(t)
	r := dial(t, e.alice, nil)
	bad := []struct {
		name string
		raw  string
		code int
	}{
		{"malformed", `{"type":`, rtm.CodeInvalidJSON},
		{"not an object", `[1,2,3]`, rtm.CodeInvalidJSON},
		{"no type", `{"id":1}`, rtm.CodeInvalidJSON},
		{"unknown type", `{"type":"launch_rockets"}`, rtm.CodeUnknownType},
		{"unknown type with id", `{"type":"launch_rockets","id":9}`, rtm.CodeUnknownType},
	}
	for _, b := range bad {
		if err := r.SendRaw(ctx(t), []byte(b.raw)); err != nil {
			t.Fatal(err)
		}
		ev := nodetest.Next(t, r)
		if ev.Error == nil || ev.Error.Code != b.code {
			t.Fatalf("%s: got %s, want error code %d", b.name, ev.Raw, b.code)
		}
	}
	if err := r.Conn.Write(ctx(t), websocket.MessageBinary, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if ev := nodetest.Next(t, r); ev.Type != "error" {
		t.Fatalf("binary frame: got %s", ev.Raw)
	}
	send(t, r, map[string]any{"type": "ping", "id": int64(42)})
	if ev := nodetest.Next(t, r); ev.Type != "pong" || *ev.ReplyTo != 42 {
		t.Fatalf("after bad frames: %s", ev.Raw)
	}
}

// TestBadSendsAreRejected: each bad message gets an error ack and writes
// nothing.
func TestBadSendsAreRejected(t *testing.T) {
	e := setup(t)
	var parent, reply struct{ TS string }
	e.call(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"parent"}}, &parent)
	e.call(e.bob, "chat.postMessage", url.Values{"channel": {e.ch}, "text": {"reply"}, "thread_ts": {parent.TS}}, &reply)
	r := dial(t, e.alice, nil)
	tests := []struct {
		name string
		msg  map[string]any
		code int
		text string // the error's msg, when checked
	}{
		{"not a member", map[string]any{"type": "message", "channel": e.other, "text": "x"}, rtm.CodeNotInChannel, "not_in_channel"},
		{"unknown channel", map[string]any{"type": "message", "channel": "CNOPE", "text": "x"}, rtm.CodeNotFound, "channel_not_found"},
		{"no text", map[string]any{"type": "message", "channel": e.ch}, rtm.CodeNoText, ""},
		{"empty text", map[string]any{"type": "message", "channel": e.ch, "text": ""}, rtm.CodeNoText, ""},
		{"no channel", map[string]any{"type": "message", "text": "x"}, rtm.CodeBadRequest, ""},
		{"too long", map[string]any{"type": "message", "channel": e.ch, "text": strings.Repeat("é", 4001)}, rtm.CodeMsgTooLong, ""},
		{"bad thread", map[string]any{"type": "message", "channel": e.ch, "text": "x", "thread_ts": "yesterday"}, rtm.CodeBadRequest, ""},
		{"client_msg_id over 64 bytes", map[string]any{"type": "message", "channel": e.ch, "text": "x", "client_msg_id": strings.Repeat("i", 65)}, rtm.CodeBadRequest, "invalid_arguments"},
		{"no such thread", map[string]any{"type": "message", "channel": e.ch, "text": "x", "thread_ts": "1700000000.000001"}, rtm.CodeNotFound, "thread_not_found"},
		{"thread of a reply", map[string]any{"type": "message", "channel": e.ch, "text": "x", "thread_ts": reply.TS}, rtm.CodeNotFound, "thread_not_found"},
		{"thread of the future", map[string]any{"type": "message", "channel": e.ch, "text": "x", "thread_ts": "9999999999.999999"}, rtm.CodeNotFound, "thread_not_found"},
		// A non-member learns nothing of the channel's threads.
		{"thread, not a member", map[string]any{"type": "message", "channel": e.other, "text": "x", "thread_ts": parent.TS}, rtm.CodeNotInChannel, "not_in_channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := send(t, r, tt.msg)
			ev := nodetest.Next(t, r)
			if ev.OK == nil || *ev.OK || ev.ReplyTo == nil || *ev.ReplyTo != id || ev.Error == nil || ev.Error.Code != tt.code ||
				tt.text != "" && ev.Error.Msg != tt.text {
				t.Fatalf("got %s, want error ack %d %q for id %d", ev.Raw, tt.code, tt.text, id)
			}
		})
	}
	// A reply to the parent is accepted.
	id := send(t, r, map[string]any{"type": "message", "channel": e.ch, "text": "a reply", "thread_ts": parent.TS})
	for acked, seen := false, false; !acked || !seen; {
		ev := nodetest.Next(t, r)
		if ev.ReplyTo != nil && *ev.ReplyTo == id {
			if ev.OK == nil || !*ev.OK {
				t.Fatalf("a reply to the parent: %s", ev.Raw)
			}
			acked = true
		}
		if ev.Type == "message" && ev.Text == "a reply" { // it names its parent's author (bob)
			var m struct {
				Parent string `json:"parent_user_id"`
			}
			json.Unmarshal(ev.Raw, &m)
			if m.Parent != e.bobID {
				t.Fatalf("an RTM reply's event: %s, want parent_user_id %s", ev.Raw, e.bobID)
			}
			seen = true
		}
	}
	for ch, want := range map[string]int{e.ch: 2, e.other: 0} { // alice's join and the parent (replies are in its thread)
		var hist struct{ Messages []any }
		e.call(e.bob, "conversations.history", url.Values{"channel": {ch}}, &hist)
		if len(hist.Messages) != want {
			t.Fatalf("channel %s has %d messages, want %d: rejected sends were written", ch, len(hist.Messages), want)
		}
	}
	var thread struct{ Messages []any }
	e.call(e.bob, "conversations.replies", url.Values{"channel": {e.ch}, "ts": {parent.TS}}, &thread)
	if len(thread.Messages) != 3 { // the parent, its reply and the RTM reply
		t.Fatalf("the thread has %d messages, want 3: rejected sends were written", len(thread.Messages))
	}
}

// TestOversizedFrameCloses1009: a frame over 16 KB ends the session with
// status 1009.
func TestOversizedFrameCloses1009(t *testing.T) {
	e := setup(t)
	r := dial(t, e.alice, nil)
	big := fmt.Sprintf(`{"type":"message","channel":%q,"text":%q}`, e.ch, strings.Repeat("x", rtm.MaxFrame))
	r.SendRaw(ctx(t), []byte(big))
	_, err := r.Next(ctx(t))
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v (err %v), want 1009", got, err)
	}
}

// TestTicketsAreSingleUseAndChecked: bad, reused and foreign tickets are
// refused before the upgrade with a JSON error.
func TestTicketsAreSingleUseAndChecked(t *testing.T) {
	e := setup(t)
	var res struct{ URL string }
	e.call(e.alice, "rtm.connect", nil, &res)
	r, err := client.Dial(ctx(t), res.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	base := res.URL[:strings.Index(res.URL, "/rtm/")]
	for name, u := range map[string]string{
		"reused":   res.URL,
		"forged":   base + "/rtm/AAAA.BBBB",
		"empty":    base + "/rtm/",
		"tampered": res.URL[:len(res.URL)-3] + "xyz",
		"bad resume": func() string {
			var r2 struct{ URL string }
			e.call(e.alice, "rtm.connect", nil, &r2)
			return r2.URL + "?resume=C1:notanumber"
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := websocket.Dial(ctx(t), u, nil)
			if err == nil {
				t.Fatal("upgrade accepted")
			}
			if resp == nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest) {
				t.Fatalf("refusal: %v %v", resp, err)
			}
		})
	}
}

// TestResumeFromURL: a client that saw up to seq 2 gets 3..5 replayed,
// in order and once, then live messages.
func TestResumeFromURL(t *testing.T) {
	e := setup(t)
	live := dial(t, e.bob, nil) // keeps the gateway subscribed throughout
	for i := 1; i <= 5; i++ {
		e.post(fmt.Sprint("m", i))
	}
	for i := 1; i <= 5; i++ {
		nextOf(t, live, "message")
	}
	r := dial(t, e.alice, map[string]uint64{e.ch: e.base + 2})
	e.post("m6")
	for want := uint64(3); want <= 6; want++ {
		ev := nextOf(t, r, "message")
		if ev.Seq != e.base+want || ev.Text != fmt.Sprint("m", want) {
			t.Fatalf("got seq %d %q, want %d", ev.Seq, ev.Text, want)
		}
	}
}

// TestResumeRequest: the RTM resume request replays mid-session.
func TestResumeRequest(t *testing.T) {
	e := setup(t)
	r := dial(t, e.alice, nil)
	for i := 1; i <= 3; i++ {
		e.post(fmt.Sprint("m", i))
	}
	for i := 1; i <= 3; i++ {
		nextOf(t, r, "message")
	}
	send(t, r, map[string]any{"type": "resume", "channels": map[string]uint64{e.ch: e.base + 1}})
	for want := e.base + 2; want <= e.base+3; want++ {
		if ev := nextOf(t, r, "message"); ev.Seq != want {
			t.Fatalf("replayed seq %d, want %d", ev.Seq, want)
		}
	}
	send(t, r, map[string]any{"type": "resume", "channels": map[string]uint64{e.other: 0}})
	if ev := nodetest.Next(t, r); ev.Error == nil || ev.Error.Code != rtm.CodeNotInChannel {
		t.Fatalf("resume of a channel not joined: %s", ev.Raw)
	}
}

// TestResumeFreshGateway: resuming on a gateway that has no subscription
// to the channel yet replays from the store; resuming from 0 replays
// everything.
func TestResumeFreshGateway(t *testing.T) {
	e := setup(t)
	for i := 1; i <= 4; i++ {
		e.post(fmt.Sprint("m", i))
	}
	for _, from := range []uint64{1, 0} {
		r := dial(t, e.alice, map[string]uint64{e.ch: from})
		for want := from + 1; want <= 4; want++ {
			if ev := nextOf(t, r, "message"); ev.Seq != want {
				t.Fatalf("resume from %d: seq %d, want %d", from, ev.Seq, want)
			}
		}
		r.Conn.CloseNow()
	}
}

func TestNoTokenNoSocket(t *testing.T) {
	e := setup(t)
	var apiErr *client.APIError
	noTok := &client.API{Base: e.alice.Base}
	if _, err := noTok.Connect(ctx(t), nil); !errors.As(err, &apiErr) || apiErr.Code != "not_authed" {
		t.Fatalf("rtm.connect without token: %v", err)
	}
	badTok := &client.API{Base: e.alice.Base, Token: "xoxp-nope"}
	if _, err := badTok.Connect(ctx(t), nil); !errors.As(err, &apiErr) || apiErr.Code != "invalid_auth" {
		t.Fatalf("rtm.connect with a bad token: %v", err)
	}
}

// TestDrainSaysGoodbye: a node told to stop sends goodbye, then closes
// every websocket with 1012 so that clients reconnect elsewhere.
func TestDrainSaysGoodbye(t *testing.T) {
	e := setup(t)
	r := dial(t, e.alice, nil)
	go e.c.Stop("solo")
	ev := nextOf(t, r, "goodbye")
	if ev.Type != "goodbye" {
		t.Fatalf("got %s", ev.Raw)
	}
	_, err := r.Next(ctx(t))
	if got := websocket.CloseStatus(err); got != websocket.StatusServiceRestart {
		t.Fatalf("close status %v (%v), want 1012", got, err)
	}
}

// TestWebsocketPing: a websocket-level ping is answered (the session
// writes the pong itself, in line with its other frames).
func TestWebsocketPing(t *testing.T) {
	e := setup(t)
	r := dial(t, e.alice, nil)
	go func() {
		for {
			if _, err := r.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	for range 3 {
		if err := r.Conn.Ping(ctx(t)); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
}

// TestSessionOutlivesWriterDeadline: a session whose frames went through
// the writer goroutine (hello does) keeps working long after the writer's
// write deadline would have passed.
func TestSessionOutlivesWriterDeadline(t *testing.T) {
	old := gateway.StuckWrite(50 * time.Millisecond)
	defer gateway.StuckWrite(old)
	e := setup(t)
	r := dial(t, e.alice, nil)
	time.Sleep(150 * time.Millisecond) // past the writer's deadline
	e.post("still here")
	if ev := nextOf(t, r, "message"); ev.Text != "still here" {
		t.Fatalf("got %s", ev.Raw)
	}
}

// TestFramesSentWithTheHandshake: a client that pipelines a frame right
// behind its upgrade request (before the 101) still has it read.
func TestFramesSentWithTheHandshake(t *testing.T) {
	e := setup(t)
	var res struct{ URL string }
	e.call(e.alice, "rtm.connect", nil, &res)
	u, _ := url.Parse(res.URL)
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	payload := []byte(`{"type":"ping","id":77}`)
	mask := [4]byte{1, 2, 3, 4}
	fr := append([]byte{0x81, 0x80 | byte(len(payload))}, mask[:]...)
	for i, b := range payload {
		fr = append(fr, b^mask[i%4])
	}
	if _, err := nc.Write(append([]byte(req), fr...)); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(`"reply_to":77`)) {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("read: %v; got %q", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Contains(got, []byte("101 Switching Protocols")) || !bytes.Contains(got, []byte(`{"type":"hello"}`)) {
		t.Fatalf("response %q", got)
	}
}
