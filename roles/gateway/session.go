package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/roles/channel"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/rtm"
)

// session is one client websocket. Fields below mu are guarded by it.
type session struct {
	g          *gateway
	user       string
	conn       *websocket.Conn
	inflight   atomic.Int32
	writeStart atomic.Int64 // unix nanos while a write blocks, else 0
	flushFn    func()       // s.flush, bound once so starting a writer does not allocate
	writers    sync.WaitGroup

	mu        sync.Mutex
	queue     [][]byte // frames to write, in order
	spare     [][]byte // the writer's last batch, reused
	paused    bool     // before hello: queue but do not write
	writing   bool     // a writer goroutine runs
	ending    bool     // no more frames are accepted
	endCode   websocket.StatusCode
	endReason string
	graceful  bool // write what is queued before closing
	chans     []string
	typed     map[string]time.Time // channel -> last typing sent (reader goroutine only)

	watched []string // users watched with presence_sub; guarded by Gateway.presMu
}

type gateway = Gateway

func newSession(g *Gateway, user string, conn *websocket.Conn) *session {
	s := &session{g: g, user: user, conn: conn, paused: true}
	s.queue = append(s.queue, rtm.Hello)
	s.flushFn = s.flush
	return s
}

// push queues frame for the client. It never blocks; a client whose
// queue is full is disconnected.
func (s *session) push(frame []byte) {
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.g.cfg.MaxQueue {
		s.mu.Unlock()
		s.end(websocket.StatusPolicyViolation, errSlow.Error(), false)
		return
	}
	s.queue = append(s.queue, frame)
	start := !s.writing && !s.paused
	if start {
		s.writing = true
		s.writers.Add(1)
	}
	s.mu.Unlock()
	if start {
		go s.flushFn()
	}
}

// resume lets the writer start (after hello is due).
func (s *session) resume() {
	s.mu.Lock()
	s.paused = false
	start := !s.writing && (len(s.queue) > 0 || s.ending)
	if start {
		s.writing = true
		s.writers.Add(1)
	}
	s.mu.Unlock()
	if start {
		go s.flushFn()
	}
}

// flush writes queued frames until the queue is empty, then exits. Only
// one runs per session at a time.
func (s *session) flush() {
	defer s.writers.Done()
	ctx := context.Background() // writes are bounded by housekeep, not a context
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.writing = false
			ending, code, reason := s.ending, s.endCode, s.endReason
			s.mu.Unlock()
			if ending {
				s.conn.Close(code, reason)
			}
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		s.mu.Unlock()
		for i, f := range batch {
			s.writeStart.Store(time.Now().UnixNano())
			err := s.conn.Write(ctx, websocket.MessageText, f)
			s.writeStart.Store(0)
			if err != nil {
				s.mu.Lock()
				s.ending, s.writing, s.queue = true, false, nil
				s.mu.Unlock()
				s.conn.CloseNow()
				return
			}
			batch[i] = nil
		}
		s.mu.Lock()
		if s.spare == nil && cap(batch) <= 64 {
			s.spare = batch[:0]
		}
		s.mu.Unlock()
	}
}

// end closes the session with code. Graceful: after what is queued has
// been written; otherwise at once, dropping the queue.
func (s *session) end(code websocket.StatusCode, reason string, graceful bool) {
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	s.ending, s.endCode, s.endReason, s.graceful = true, code, reason, graceful
	if !graceful {
		s.queue = nil
	}
	start := !s.writing && graceful && !s.paused
	if start || !graceful {
		s.writers.Add(1)
	}
	if start {
		s.writing = true
	}
	s.mu.Unlock()
	switch {
	case start:
		go s.flushFn()
	case !graceful:
		// The writer may be blocked on this client: close from here.
		go func() {
			defer s.writers.Done()
			s.conn.Close(code, reason)
		}()
	}
}

func (s *session) close(err error) {
	code := websocket.StatusInternalError
	if errors.Is(err, errSlow) {
		code = websocket.StatusPolicyViolation
	}
	s.end(code, err.Error(), false)
}

func (s *session) addChan(id string) {
	s.mu.Lock()
	if !slices.Contains(s.chans, id) {
		s.chans = append(s.chans, id)
	}
	s.mu.Unlock()
}

func (s *session) removeChan(id string) {
	s.mu.Lock()
	s.chans = slices.DeleteFunc(s.chans, func(x string) bool { return x == id })
	s.mu.Unlock()
}

func (s *session) hasChan(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.chans, id)
}

// helloWait bounds how long a new session waits for its subscriptions
// before hello; past it, hello goes out and the rest catches up.
const helloWait = 5 * time.Second

// run serves the session until the client or the server ends it.
func (s *session) run(ctx context.Context, resume map[string]uint64) {
	g := s.g
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ids, err := g.cfg.Store.UserChannels(lctx, s.user)
	var u store.User
	if err == nil {
		u, err = g.cfg.Store.User(lctx, s.user)
	}
	cancel()
	if err != nil {
		g.log.Error("session: load channels", "user", s.user, "err", err)
		s.conn.Close(websocket.StatusInternalError, "store unavailable")
		return
	}
	readies := make([]<-chan struct{}, 0, len(ids))
	for _, id := range ids {
		seq, resuming := resume[id]
		readies = append(readies, g.attach(s, id, seq, resuming))
	}
	deadline := time.NewTimer(helloWait)
	for _, r := range readies {
		select {
		case <-r:
		case <-deadline.C:
		case <-ctx.Done():
		}
	}
	deadline.Stop()
	g.userUp(s, u.Away)
	s.resume()
	s.read(ctx)
	g.userDown(s)

	s.mu.Lock()
	chans := s.chans
	s.chans = nil
	s.mu.Unlock()
	for _, id := range chans {
		g.detach(s, id)
	}
	s.end(websocket.StatusNormalClosure, "", false)
	s.writers.Wait()
}

// read handles client frames until the connection ends.
func (s *session) read(ctx context.Context) {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.push(rtm.ErrorEvent(rtm.CodeInvalidJSON, "binary frames are not supported"))
			continue
		}
		req, err := rtm.ParseRequest(data)
		if err != nil {
			s.push(rtm.ErrorEvent(rtm.CodeInvalidJSON, err.Error()))
			continue
		}
		s.handle(req)
	}
}

func (s *session) handle(req *rtm.Request) {
	switch req.Type {
	case "ping":
		s.push(rtm.Pong(req))
	case "message":
		s.send(req)
	case "typing":
		s.typing(req)
	case "presence_sub":
		if ids, ok := s.presenceIDs(req); ok {
			s.g.setWatches(s, ids)
		}
	case "presence_query":
		if ids, ok := s.presenceIDs(req); ok {
			s.g.query(s, ids)
		}
	case "resume":
		for id, seq := range req.Channels {
			if !s.g.reattach(s, id, seq) {
				s.push(rtm.Reply(req, rtm.CodeNotInChannel, "not_in_channel: "+id))
				return
			}
		}
	default:
		s.push(rtm.Reply(req, rtm.CodeUnknownType, "unknown type: "+req.Type))
	}
}

// typing passes the user's typing on, at most once per channel every
// TypingEvery from this session (the owner limits per user too).
func (s *session) typing(req *rtm.Request) {
	if req.Channel == "" {
		s.push(rtm.Reply(req, rtm.CodeBadRequest, "channel is required"))
		return
	}
	if !s.hasChan(req.Channel) {
		s.push(rtm.Reply(req, rtm.CodeNotInChannel, "not_in_channel"))
		return
	}
	now := time.Now()
	if now.Sub(s.typed[req.Channel]) < channel.TypingEvery {
		return
	}
	if s.typed == nil {
		s.typed = map[string]time.Time{}
	}
	s.typed[req.Channel] = now
	s.g.cfg.Router.Typing(req.Channel, s.user)
}

// presenceIDs checks the ids of a presence_sub or presence_query: at
// most MaxPresenceIDs, each an existing user. On error it answers the
// client and returns false; nothing changes.
func (s *session) presenceIDs(req *rtm.Request) ([]string, bool) {
	ids := slices.Compact(slices.Sorted(slices.Values(req.IDs)))
	if len(ids) > MaxPresenceIDs {
		s.push(rtm.Reply(req, rtm.CodeTooManyIDs, fmt.Sprintf("too many ids: %d, at most %d", len(ids), MaxPresenceIDs)))
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range ids {
		if _, err := s.g.cfg.Store.User(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				s.push(rtm.Reply(req, rtm.CodeNotFound, "user_not_found: "+id))
			} else {
				s.push(rtm.Reply(req, rtm.CodeUnavailable, "service_unavailable"))
			}
			return nil, false
		}
	}
	return ids, true
}

// send publishes a client's message and acks it once it is committed.
func (s *session) send(req *rtm.Request) {
	id := req.ReplyTo()
	text := ""
	if req.Text != nil {
		text = *req.Text
	}
	if req.Channel == "" {
		s.push(rtm.Reply(req, rtm.CodeBadRequest, "channel is required"))
		return
	}
	var thread store.TS
	if req.ThreadTS != "" {
		ts, err := store.ParseTS(req.ThreadTS)
		if err != nil {
			s.push(rtm.Reply(req, rtm.CodeBadRequest, "invalid thread_ts"))
			return
		}
		thread = ts
	}
	if int(s.inflight.Add(1)) > s.g.cfg.MaxInflight {
		s.inflight.Add(-1)
		s.push(rtm.Reply(req, rtm.CodeRateLimited, "slow down, too many messages..."))
		return
	}
	p := channel.Post{Channel: req.Channel, User: s.user, Text: text, ThreadTS: thread, ClientMsgID: req.ClientMsgID}
	s.g.cfg.Router.Go(p, func(m store.Message, err error) {
		s.inflight.Add(-1)
		if err != nil {
			code, msg := rtmError(err)
			if req.ID == nil {
				s.push(rtm.ErrorEvent(code, msg))
			} else {
				s.push(rtm.ErrorAck(id, code, msg))
			}
			return
		}
		if req.ID != nil {
			s.push(rtm.Ack(id, m.TS, m.Text))
		}
	})
}

// rtmError maps a channel error to an RTM error code and message.
func rtmError(err error) (int, string) {
	switch err {
	case channel.ErrNoText:
		return rtm.CodeNoText, "message text is missing"
	case channel.ErrMsgTooLong:
		return rtm.CodeMsgTooLong, "msg_too_long"
	case channel.ErrNotInChannel:
		return rtm.CodeNotInChannel, "not_in_channel"
	case channel.ErrChannelNotFound:
		return rtm.CodeNotFound, "channel_not_found"
	case channel.ErrUnavailable:
		return rtm.CodeUnavailable, "service_unavailable"
	case channel.ErrBadRequest:
		return rtm.CodeBadRequest, "invalid_arguments"
	}
	return rtm.CodeInternalError, "internal_error"
}
