package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeServer is a minimal ringcast for what a real one will not do on
// demand: never acknowledge, never answer a close, lose an answer, hang.
// It speaks the Web API methods and the RTM frames the bench uses, on
// 127.0.0.1 and port 0, and stops with the test.
type fakeServer struct {
	srv  *httptest.Server
	opts fakeOpts

	mu       sync.Mutex
	users    map[string]string // name -> id
	tokens   map[string]string // token -> user id
	byName   map[string]*fakeChan
	byID     map[string]*fakeChan
	sessions map[*fakeSession]bool
	creates  int // conversations.create calls
	dropped  bool

	frames atomic.Int64 // message frames read from websockets
	done   chan struct{}
	wg     sync.WaitGroup // websocket handlers
}

type fakeOpts struct {
	noAck      bool          // RTM messages are neither acknowledged nor committed
	silent     bool          // after hello a websocket is never read, so close handshakes go unanswered
	noDeliver  bool          // committed messages are not sent to anyone
	ackDelay   time.Duration // acks and chat.postMessage answers come this long after the delivery
	postHang   bool          // chat.postMessage never answers
	loseCreate int           // this many conversations.create calls create the channel and lose the answer
	dropUser   string        // the first websocket of this user to get a delivery is closed instead
}

type fakeChan struct {
	id, name, creator string
	members           map[string]bool
	seq               uint64
}

type fakeSession struct {
	user string
	c    *websocket.Conn
}

func newFakeServer(t *testing.T, opts fakeOpts) *fakeServer {
	t.Helper()
	f := &fakeServer{opts: opts, users: map[string]string{}, tokens: map[string]string{},
		byName: map[string]*fakeChan{}, byID: map[string]*fakeChan{}, sessions: map[*fakeSession]bool{},
		done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", f.api)
	mux.HandleFunc("/ws", f.ws)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) close() {
	f.mu.Lock()
	close(f.done)
	for s := range f.sessions {
		s.c.CloseNow()
	}
	f.mu.Unlock()
	f.wg.Wait()
	f.srv.Close()
}

// config is a run against f.
func (f *fakeServer) config(scenario string) Config {
	return Config{URL: f.srv.URL, AdminKey: "admin", Scenario: scenario, Drain: 100 * time.Millisecond}
}

func (f *fakeServer) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	r.ParseForm()
	arg := r.PostForm.Get
	reply := func(v map[string]any) {
		v["ok"] = true
		json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code}) }
	f.mu.Lock()
	caller := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !strings.HasPrefix(method, "admin.") && caller == "" {
		f.mu.Unlock()
		fail("invalid_auth")
		return
	}
	switch method {
	case "admin.users.setLimitClass":
		f.mu.Unlock()
		if arg("class") != "unlimited" {
			fail("invalid_limit_class")
			return
		}
		reply(map[string]any{})
	case "admin.users.create", "admin.users.createToken":
		if method == "admin.users.create" && arg("limit_class") != "unlimited" {
			// The load tool's users must not be limited like people.
			f.mu.Unlock()
			fail("invalid_limit_class")
			return
		}
		name := arg("name")
		id, ok := f.users[name]
		if ok == (method == "admin.users.create") {
			f.mu.Unlock()
			fail(map[bool]string{true: "name_taken", false: "user_not_found"}[ok])
			return
		}
		if !ok {
			id = fmt.Sprintf("U%d", len(f.users)+1)
			f.users[name] = id
		}
		tok := fmt.Sprintf("t-%s-%d", id, len(f.tokens))
		f.tokens[tok] = id
		f.mu.Unlock()
		reply(map[string]any{"token": tok, "user": map[string]any{"id": id, "name": name}})
	case "conversations.create":
		name := arg("name")
		if f.byName[name] != nil {
			f.mu.Unlock()
			fail("name_taken")
			return
		}
		ch := &fakeChan{id: fmt.Sprintf("C%d", len(f.byID)+1), name: name, creator: caller, members: map[string]bool{caller: true}}
		f.byName[name], f.byID[ch.id] = ch, ch
		f.creates++
		lose := f.creates <= f.opts.loseCreate
		f.mu.Unlock()
		if lose { // created, but the answer is lost with the connection
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		reply(map[string]any{"channel": ch.object()})
	case "conversations.info", "conversations.join", "conversations.leave", "chat.postMessage":
		ch := f.byID[arg("channel")]
		if ch == nil {
			ch = f.byName[arg("channel")]
		}
		if ch == nil {
			f.mu.Unlock()
			fail("channel_not_found")
			return
		}
		switch method {
		case "conversations.info":
			f.mu.Unlock()
			reply(map[string]any{"channel": ch.object()})
		case "conversations.join", "conversations.leave":
			ch.members[caller] = method == "conversations.join"
			f.mu.Unlock()
			reply(map[string]any{})
		case "chat.postMessage":
			f.mu.Unlock()
			if f.opts.postHang {
				select {
				case <-r.Context().Done():
				case <-f.done:
				}
				return
			}
			seq := f.commit(ch.id, caller, arg("text"))
			f.pause()
			reply(map[string]any{"channel": ch.id, "ts": "1.000001", "message": map[string]any{"seq": seq}})
		}
	case "rtm.connect":
		f.mu.Unlock()
		reply(map[string]any{"url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws?user=" + caller})
	default:
		f.mu.Unlock()
		fail("unknown_method")
	}
}

func (ch *fakeChan) object() map[string]any {
	return map[string]any{"id": ch.id, "name": ch.name, "creator": ch.creator}
}

// pause waits opts.ackDelay (or until the server stops).
func (f *fakeServer) pause() {
	if f.opts.ackDelay > 0 {
		select {
		case <-time.After(f.opts.ackDelay):
		case <-f.done:
		}
	}
}

// commit gives the message the channel's next seq and sends it to the
// members' websockets.
func (f *fakeServer) commit(chID, user, text string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.byID[chID]
	ch.seq++
	if f.opts.noDeliver {
		return ch.seq
	}
	t, _ := json.Marshal(text)
	frame := fmt.Appendf(nil, `{"type":"message","channel":"%s","user":"%s","text":%s,"ts":"1.%06d","seq":%d}`, ch.id, user, t, ch.seq, ch.seq)
	for s := range f.sessions {
		if !ch.members[s.user] {
			continue
		}
		if f.opts.dropUser != "" && s.user == f.users[f.opts.dropUser] && !f.dropped {
			f.dropped = true
			s.c.CloseNow()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.c.Write(ctx, websocket.MessageText, frame)
		cancel()
	}
	return ch.seq
}

// ws serves one RTM websocket.
func (f *fakeServer) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	s := &fakeSession{user: r.URL.Query().Get("user"), c: c}
	f.mu.Lock()
	select {
	case <-f.done:
		f.mu.Unlock()
		c.CloseNow()
		return
	default:
	}
	f.wg.Add(1) // under mu, so before close's Wait
	f.sessions[s] = true
	f.mu.Unlock()
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.sessions, s)
		f.mu.Unlock()
		c.CloseNow()
	}()
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err != nil {
		return
	}
	if f.opts.silent {
		<-f.done
		return
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Type, Channel, Text string
			ID                  int64
		}
		if json.Unmarshal(data, &m) != nil || m.Type != "message" {
			continue
		}
		f.frames.Add(1)
		if f.opts.noAck {
			continue
		}
		f.mu.Lock()
		ok := f.byID[m.Channel] != nil
		f.mu.Unlock()
		if !ok {
			c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"ok":false,"reply_to":%d,"error":{"code":4,"msg":"not_in_channel"}}`, m.ID))
			continue
		}
		f.commit(m.Channel, s.user, m.Text)
		f.pause()
		c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"ok":true,"reply_to":%d,"ts":"1.000001","text":"x"}`, m.ID))
	}
}
