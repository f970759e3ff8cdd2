package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/apierror"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// session is one client websocket. Fields below mu are guarded by it.
//
// The session is the one writer of its connection: data frames, pongs
// and close frames all go through pushFrames and its writer, so no frame
// is ever written inside another. coder/websocket did the handshake
// only; frames are read with wsframe. A frame for a session with nothing
// queued is written at once by whoever pushes it, without blocking (a
// would-block write leaves the rest queued); a writer goroutine exists
// only while frames are queued, and writes the backlog with one writev.
type session struct {
	g     *gateway
	user  string
	token rtm.TokenID // the token the session's ticket came from
	// conn is the handshake's websocket.Conn, never used: it is kept
	// only because its finalizer would close the connection once it is
	// unreachable.
	conn     *websocket.Conn
	rd       *wsframe.Reader
	nc       net.Conn        // the hijacked connection
	raw      syscall.RawConn // nc's descriptor, for non-blocking writes
	inflight atomic.Int32
	shard    int    // the fan-out worker that writes this session's channel messages and acks
	slot     int32  // the session's number in its worker's round (the worker's own)
	flushFn  func() // s.flush, bound once so starting a writer does not allocate
	direct   directWrite
	directFn func(uintptr) bool // s.direct.write, bound once
	writers  sync.WaitGroup

	mu       sync.Mutex
	queue    net.Buffers        // frames to write, in order (the first may be a partly written one)
	spare    net.Buffers        // the writer's last batch, reused
	paused   bool               // before hello: queue but do not write
	writing  bool               // a writer goroutine runs
	ending   bool               // no more frames are accepted
	closeMsg []byte             // close frame to send last
	code     wsframe.StatusCode // the close code the session ended with (closeAbnormal: none)
	sent     int                // bytes written to the socket
	chans    []string
	typed    map[string]time.Time // channel -> last typing sent (reader goroutine only)

	// Limits, kept by the reader goroutine only (class is set from the
	// ticket before the session starts).
	class   limit.Class
	bot     *chat.More   // an app's bot's: its posts' More, with the app (nil: no app's bot)
	frames  limit.Bucket // every frame of this connection
	msgs    limit.Bucket // its messages
	refused int          // frames refused in a row
	// heard is when the client last sent anything (unix nanos): a
	// message, a ping or a pong. The gateway's sweep pings a silent
	// session and closes one silent for too long.
	heard atomic.Int64

	watched []string // users watched with presence_sub; guarded by presenceAgent.mu

	started  time.Time // when the handshake was done
	received int       // bytes of the client's frames' payloads (the reader goroutine's)
}

type gateway = Gateway

// newSession makes the session of a connection whose handshake is done;
// br is the connection's buffered reader from the handshake.
func newSession(g *Gateway, user string, conn *websocket.Conn, nc net.Conn, br *bufio.Reader) *session {
	s := &session{g: g, user: user, conn: conn, nc: nc, paused: true, shard: g.fan.shard(g.nextShard.Add(1)), started: time.Now()}
	s.raw = rawConn(nc)
	s.rd = wsframe.NewReader(br, rtm.MaxFrame)
	s.rd.OnPing = s.pingReceived
	s.rd.OnPong = s.alive
	s.alive()
	s.queue = append(s.queue, wsframe.Text(rtm.Hello))
	s.flushFn = s.flush
	s.directFn = s.direct.write
	return s
}

// alive records that the client just sent something.
func (s *session) alive() { s.heard.Store(time.Now().UnixNano()) }

// pingReceived answers a client's ping, which also says it is alive.
func (s *session) pingReceived(payload []byte) {
	s.alive()
	s.pong(payload)
}

// push sends a JSON payload to the client (one frame each call).
func (s *session) push(payload []byte) { s.pushFrame(wsframe.Text(payload)) }

// pong answers a client's ping.
func (s *session) pong(payload []byte) { s.pushFrame(wsframe.Frame(wsframe.OpPong, payload)) }

// pushLater sends a complete websocket frame through the session's
// fan-out worker, which joins it with the session's other frames of its
// round into one write. For replies that come in bursts (acks).
func (s *session) pushLater(f []byte) {
	s.g.fan.workers[s.shard].add(fanJob{frame: f, one: s})
}

// pushFrame sends a complete websocket frame. It never blocks; a client
// whose queue is full is disconnected.
func (s *session) pushFrame(f []byte) {
	one := [1][]byte{f}
	s.pushFrames(one[:], nil)
}

// pushFrames sends complete websocket frames in order, with one write
// when nothing is queued before them; joined is scratch space for
// joining several. It never blocks; a client whose queue is full is
// disconnected. The frames are not modified and may be kept.
func (s *session) pushFrames(frames [][]byte, joined *[]byte) {
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	if len(s.queue) > 0 || s.writing || s.paused || s.raw == nil {
		if len(s.queue)+len(frames) > s.g.cfg.MaxQueue {
			s.mu.Unlock()
			s.end(wsframe.StatusPolicyViolation, errSlow.Error(), false)
			return
		}
		s.queue = append(s.queue, frames...)
		s.startWriterLocked()
		s.mu.Unlock()
		return
	}
	f, scratch := frames[0], false
	if len(frames) > 1 {
		b := (*joined)[:0]
		for _, fr := range frames {
			b = append(b, fr...)
		}
		*joined = b
		f, scratch = b, true
	}
	n, err := s.writeNow(f)
	s.sent += n
	switch {
	case n == len(f):
	case err != nil && !errors.Is(err, syscall.EAGAIN):
		s.ending, s.queue = true, nil
		s.mu.Unlock()
		s.nc.Close()
		return
	default: // the socket is full: the writer finishes the frames
		rest := f[n:]
		if scratch {
			rest = slices.Clone(rest)
		}
		s.queue = append(s.queue, rest)
		s.startWriterLocked()
	}
	s.mu.Unlock()
}

// writeNow writes f without waiting for the socket to become writable.
// s.mu must be held and nothing queued.
func (s *session) writeNow(f []byte) (n int, err error) {
	w := &s.direct
	w.f, w.n, w.err = f, 0, nil
	cerr := s.raw.Write(s.directFn)
	n, err = w.n, w.err
	w.f, w.err = nil, nil
	if err == nil {
		err = cerr
	}
	return n, err
}

// directWrite is the state of one writeNow, kept in the session (under
// s.mu) so that handing RawConn.Write its function allocates nothing:
// a closure over n and err cost three allocations per delivery.
type directWrite struct {
	f   []byte
	n   int
	err error
}

// write writes as much of w.f as the socket takes now.
func (w *directWrite) write(fd uintptr) bool {
	for w.n < len(w.f) {
		m, err := writeFD(fd, w.f[w.n:])
		if m > 0 {
			w.n += m
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			w.err = err
			break
		}
	}
	return true // never park: a full socket is the writer's job
}

// startWriterLocked starts the writer goroutine unless it runs or the
// session is paused. s.mu must be held.
func (s *session) startWriterLocked() {
	if s.writing || s.paused {
		return
	}
	s.writing = true
	s.writers.Add(1)
	go s.flushFn()
}

// resume lets writing start (after hello is due).
func (s *session) resume() {
	s.mu.Lock()
	s.paused = false
	if len(s.queue) > 0 || s.ending {
		s.startWriterLocked()
	}
	s.mu.Unlock()
}

// flush writes the queued frames, a batch per writev, until the queue is
// empty; then it exits (closing the connection when the session ends).
func (s *session) flush() {
	defer s.writers.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.writing = false
			closeMsg := s.closeMsg
			ending := s.ending
			s.closeMsg = nil
			// The deadline guards only the writer's blocking writes; left
			// set, it would fail the next non-blocking write later on.
			s.nc.SetWriteDeadline(time.Time{})
			s.mu.Unlock()
			if ending {
				s.nc.SetWriteDeadline(time.Now().Add(time.Second))
				if closeMsg != nil {
					s.nc.Write(closeMsg)
				}
				s.nc.Close()
			}
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		s.mu.Unlock()
		s.nc.SetWriteDeadline(time.Now().Add(stuckWrite))
		orig := batch
		n, err := batch.WriteTo(s.nc) // one writev; consumes batch
		clear(orig)
		if err != nil {
			s.mu.Lock()
			s.ending, s.writing, s.queue, s.closeMsg = true, false, nil, nil
			s.mu.Unlock()
			s.nc.Close()
			return
		}
		s.mu.Lock()
		s.sent += int(n)
		if s.spare == nil && cap(orig) <= 64 {
			s.spare = orig[:0]
		}
		s.mu.Unlock()
	}
}

// end closes the session with code. Graceful: after what is queued has
// been written; otherwise at once, dropping the queue (and, if a frame
// is being written, the connection without a close frame: a close frame
// may only follow a whole frame).
func (s *session) end(code wsframe.StatusCode, reason string, graceful bool) {
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	s.ending, s.closeMsg, s.code = true, wsframe.Close(code, reason), code
	if code == wsframe.StatusPolicyViolation && reason == errSlow.Error() {
		s.g.met.slowClosed()
	}
	if !graceful {
		s.queue = nil
		if s.writing {
			// The writer may be blocked on this client: unblock it.
			s.nc.Close()
		}
	}
	s.paused = false
	s.startWriterLocked()
	s.mu.Unlock()
}

// ended reports a session that has ended: one debug line (user,
// gateway, duration, close code, bytes both ways) and the metrics.
// received may be read only once the reader has stopped.
func (s *session) ended() {
	s.mu.Lock()
	code, sent := s.code, s.sent
	s.mu.Unlock()
	s.g.met.ended(code)
	if s.g.log == nil {
		return // a Gateway put together by a test
	}
	s.g.log.Debug("session ended", "user", s.user, "gateway", s.g.cfg.Self, "duration", time.Since(s.started).Round(time.Millisecond),
		"code", int(code), "bytes_sent", sent, "bytes_received", s.received)
}

// queued is the number of bytes queued for the socket.
func (s *session) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.queue {
		n += len(b)
	}
	return n
}

func (s *session) close(err error) {
	code := wsframe.StatusInternalError
	if errors.Is(err, errSlow) {
		code = wsframe.StatusPolicyViolation
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

// reportWait bounds how long a new session waits for its presence node
// to have its report (an unreachable one is not waited for longer).
const reportWait = time.Second

// start reports the session to presence, loads its channels, subscribes
// them and queues hello once they are live (or helloWait passed). It
// runs on the HTTP handler's goroutine; false when the session could not
// start (the client was told). away is the user's away flag as the
// ticket carried it (the presence node corrects it if it changed since).
//
// The report comes first: a channel the user joins while the session
// starts is either in the channels read after the presence node has the
// report, or its channel_joined, sent after the join, finds this session
// through the presence node.
func (s *session) start(resume map[string]uint64, away bool) bool {
	g := s.g
	if s.class == limit.Bot {
		// An app's bot's messages carry its app in their live event
		// (chat.More.Bot): read once here, not per message, and only for
		// a bot (an app's bot user is of class bot unless an operator
		// changed it).
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		app, err := g.cfg.Store.AppByBot(lctx, s.user)
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			g.log.Error("session: read the bot's app", "user", s.user, "err", err)
			s.end(wsframe.StatusInternalError, "store unavailable", true)
			return false
		}
		if err == nil {
			bot := app.Bot()
			s.bot = &chat.More{Bot: &bot}
		}
	}
	if !g.reg.admitUser(s, g.cfg.Limits.SocketsPerUser) {
		g.met.refuse(limitSocketsUser)
		s.end(wsframe.StatusTryAgainLater, "too many connections for this user", false) // no hello: the close alone
		return false
	}
	reported := g.pres.userUp(s, away)
	wait := time.NewTimer(reportWait)
	select {
	case <-reported:
	case <-wait.C:
	case <-g.life.Done():
	}
	wait.Stop()
	read := time.Now()
	lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	ids, err := g.cfg.Store.UserChannels(lctx, s.user)
	cancel()
	if err != nil {
		g.pres.userDown(s)
		g.log.Error("session: load channels", "user", s.user, "err", err)
		s.end(wsframe.StatusInternalError, "store unavailable", true)
		return false
	}
	readies := make([]<-chan struct{}, 0, len(ids))
	for _, id := range ids {
		seq, resuming := resume[id]
		readies = append(readies, g.subs.attach(s, id, seq, resuming, false, read))
	}
	deadline := time.NewTimer(helloWait)
	for _, r := range readies {
		select {
		case <-r:
		case <-deadline.C:
		case <-g.life.Done():
		}
	}
	deadline.Stop()
	s.resume()
	return true
}

// serve reads the client's frames until the connection ends, then takes
// the session apart. It runs on a goroutine of its own, started fresh
// so that its stack is only as deep as reading needs, while net/http
// forgets the request that opened the connection.
func (s *session) serve() {
	g := s.g
	s.read()
	s.mu.Lock()
	if !s.ending { // neither side sent a close frame: the connection just ended
		s.ending, s.code = true, closeAbnormal
	}
	s.mu.Unlock()
	g.pres.userDown(s)
	s.mu.Lock()
	chans := s.chans
	s.chans = nil
	s.mu.Unlock()
	for _, id := range chans {
		g.subs.detach(s, id)
	}
	s.end(wsframe.StatusNormalClosure, "", false)
	s.writers.Wait()
}

// read handles client messages until the connection ends. Reads take no
// deadline or context (that would cost an allocation per read): a
// session is stopped by closing its connection. A close frame from the
// client is echoed, and a frame the protocol forbids answered with its
// close status, after what is queued.
func (s *session) read() {
	for {
		bp := s.g.frames.Get().(*[]byte)
		op, data, err := s.rd.Next((*bp)[:0])
		if err != nil {
			var ce *wsframe.CloseError
			if errors.As(err, &ce) {
				reason := ce.Reason
				if ce.Echo {
					reason = ""
				}
				s.end(ce.Code, reason, true)
			}
			return
		}
		s.received += len(data)
		s.frame(op, data)
		if cap(data) <= pooledFrame {
			*bp = data
			s.g.frames.Put(bp)
		}
	}
}

// pooledFrame is the largest read buffer returned to the pool.
const pooledFrame = 4 << 10

// frame handles one client message. Nothing it starts keeps data, which
// the reader reuses.
func (s *session) frame(op wsframe.Opcode, data []byte) {
	now := time.Now()
	s.heard.Store(now.UnixNano())
	if op != wsframe.OpText {
		s.push(rtm.ErrorEvent(rtm.CodeInvalidJSON, "binary frames are not supported"))
		return
	}
	req, err := rtm.ParseRequest(data)
	if err != nil {
		s.push(rtm.ErrorEvent(rtm.CodeInvalidJSON, err.Error()))
		return
	}
	if !s.allow(req, now) {
		return
	}
	s.handle(req)
}

// slowDown is Slack's answer to a client over its rate: slack-go turns
// the error ack (code -1) into its rate-limit event.
const slowDown = "slow down, too many messages..."

// maxRefused is how many frames in a row a client may send over its
// limits, each answered, before it is disconnected (1008).
const maxRefused = 100

// allow applies the connection's and the user's limits to a frame: every
// frame counts against --limit-rtm-frames, a message also against
// --limit-rtm-messages and the user's --limit-messages. A frame over a
// limit is answered (error ack -1, or an error event without an id) and
// not handled; nothing is ever dropped silently.
func (s *session) allow(req *rtm.Request, now time.Time) bool {
	l := &s.g.cfg.Limits
	by := limitRTMFrames
	ok, _ := s.frames.Allow(l.RTMFrames, s.class, now)
	if ok && req.Type == "message" {
		by = limitRTMMessages
		if ok, _ = s.msgs.Allow(l.RTMMessages, s.class, now); ok {
			by = limitUserMessages
			ok, _ = s.g.cfg.Messages.Allow(s.user, s.class, now)
		}
	}
	if ok {
		s.refused = 0
		return true
	}
	s.g.met.refuse(by)
	s.push(rtm.Reply(req, rtm.CodeRateLimited, slowDown))
	if s.refused++; s.refused >= maxRefused {
		s.end(wsframe.StatusPolicyViolation, "too many messages", true)
	}
	return false
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
			s.g.pres.setWatches(s, ids)
		}
	case "presence_query":
		if ids, ok := s.presenceIDs(req); ok {
			s.g.pres.query(s, ids)
		}
	case "resume":
		for id, seq := range req.Channels {
			if !s.g.subs.reattach(s, id, seq) {
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
	if now.Sub(s.typed[req.Channel]) < cluster.TypingEvery {
		return
	}
	if s.typed == nil {
		s.typed = map[string]time.Time{}
	}
	s.typed[req.Channel] = now
	s.g.cfg.Channels.Typing(req.Channel, s.user)
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
	var thread chat.TS
	var parent string // a reply's parent's author
	if req.ThreadTS != "" {
		ts, err := chat.ParseTS(req.ThreadTS)
		if err != nil {
			s.push(rtm.Reply(req, rtm.CodeBadRequest, "invalid thread_ts"))
			return
		}
		thread = ts
		if parent, err = s.threadParent(req.Channel, thread); err != nil {
			p, _ := apierror.Of(err)
			s.push(rtm.Reply(req, p.RTM, p.Msg))
			return
		}
	}
	if int(s.inflight.Add(1)) > s.g.cfg.MaxInflight {
		s.inflight.Add(-1)
		s.g.met.refuse(limitInflight)
		s.push(rtm.Reply(req, rtm.CodeRateLimited, slowDown))
		return
	}
	p := cluster.Post{Channel: req.Channel, User: s.user, Text: text, ThreadTS: thread, ClientMsgID: req.ClientMsgID, More: s.bot}
	if parent != "" {
		x := chat.More{Author: parent} // a reply's parent_user_id
		if s.bot != nil {
			x = *s.bot // shared by the session's posts: copied
			x.Author = parent
		}
		p.More = &x
	}
	acked := req.ID != nil // the callback keeps no reference to req (nor to its frame)
	s.g.cfg.Channels.Go(p, func(m chat.Message, err error) {
		s.inflight.Add(-1)
		if err != nil {
			p, known := apierror.Of(err)
			if !known {
				s.g.log.Error("publish failed", "user", s.user, "err", err)
			}
			if !acked {
				s.pushLater(wsframe.Text(rtm.ErrorEvent(p.RTM, p.Msg)))
			} else {
				s.pushLater(wsframe.Text(rtm.ErrorAck(id, p.RTM, p.Msg)))
			}
			return
		}
		if acked {
			s.pushLater(ackFrame(id, m.TS, m.Text))
		}
	})
}

// threadParent checks a reply's thread_ts as chat.postMessage does: it
// must name an existing top-level message of the channel
// (thread_not_found), whose author it returns. Only a member is told:
// for anyone else it answers "", nil and the channel's owner refuses the
// post (channel_not_found or not_in_channel), so a non-member learns
// nothing of the channel.
// Replies are rare; the store reads here hold this session's reader,
// which also keeps the client's sends in order.
func (s *session) threadParent(channel string, ts chat.TS) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !s.hasChan(channel) {
		member, err := s.g.cfg.Store.IsMember(ctx, channel, s.user)
		if err != nil {
			return "", chat.ErrUnavailable
		}
		if !member {
			return "", nil
		}
	}
	parent, err := store.ThreadParent(ctx, s.g.cfg.Store, channel, ts)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", chat.ErrThreadNotFound
	case err != nil:
		return "", chat.ErrUnavailable
	}
	return parent.User, nil
}

// ackFrame is the frame of an ack, built in place: one allocation.
func ackFrame(id int64, ts chat.TS, text string) []byte {
	b := make([]byte, wsframe.Headroom, wsframe.Headroom+rtm.AckSize(text))
	return wsframe.Framed(rtm.AppendAck(b, id, ts, text))
}
