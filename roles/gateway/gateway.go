package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/metrics"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/apierror"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// Config configures a Gateway.
type Config struct {
	Self  string
	Epoch uint64 // this process's (ring.Meta.Epoch): tickets of another are refused
	Team  string
	Key   []byte         // cluster key: verifies tickets
	Links internode.Auth // how its subscription links authenticate (the node's)
	Store store.Store
	View  func() *ring.View
	// Channels publishes and passes typing on; Presence answers
	// presence_query for users nobody here watches.
	Channels *cluster.Channels
	Presence *cluster.Presence
	Logger   *slog.Logger
	// MaxQueue bounds a session's outgoing frames. Default 4096.
	MaxQueue int
	// MaxInflight bounds a session's unacknowledged sends. Default 256.
	MaxInflight int
	// Limits: the websocket's rates, the sockets per user and per
	// gateway, the ping interval (limit.Default when zero). Messages is
	// the per-user message limiter, shared with the node's Web API (nil:
	// the gateway's own).
	Limits   limit.Config
	Messages *limit.Limiter
	// Metrics is where the gateway registers its metrics (nil: nowhere).
	Metrics prometheus.Registerer
}

// Gateway is the gateway role. Safe for concurrent use.
//
// It is three parts, each with its own lock: the registry of sessions
// (registry.go), the channel subscriptions (subs.go) and the presence
// agent (presence.go); the sessions (session.go) and the fan-out workers
// (fanout.go) they share are the gateway's.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	pool      *internode.Pool // subscription and presence links
	fan       *fanout         // the workers that write a message to many sessions
	nextShard atomic.Uint64
	frames    sync.Pool        // *[]byte read buffers, held only while a frame is handled
	life      *lifecycle.Group // every goroutine: loops, fan-out workers, sessions, fills, replays
	closeOnce sync.Once

	reg  *registry
	subs *subscriptions
	pres *presenceAgent
	met  *gatewayMetrics
}

// Errors a session ends with.
var (
	errSlow     = errors.New("slow consumer")
	errStore    = errors.New("store unavailable")
	errBadReply = errors.New("malformed reply")
)

// New makes a Gateway; Run starts it.
func New(cfg Config) (*Gateway, error) {
	if cfg.Store == nil || cfg.View == nil || cfg.Channels == nil || cfg.Presence == nil || cfg.Self == "" {
		return nil, errors.New("gateway: Self, Store, View, Channels and Presence are required")
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 4096
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 256
	}
	if cfg.Limits == (limit.Config{}) {
		cfg.Limits = limit.Default()
	}
	if cfg.Messages == nil {
		cfg.Messages = limit.New(cfg.Limits.Messages)
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger.With("role", "gateway"), fan: newFanout(), life: lifecycle.NewGroup()}
	g.pool = internode.NewPool(cfg.Links, internode.EventHandler(receiver{g}, g.log), g.linkDown, g.log)
	g.reg = newRegistry(g.life, cfg.Limits.SocketsPerGateway)
	g.subs = newSubscriptions(cfg.Team, cfg.Store, cfg.View, g.pool, g.fan, g.life, g.log)
	g.pres = newPresenceAgent(cfg.View, g.pool, cfg.Presence, g.subs)
	g.frames.New = func() any { return new([]byte) }
	g.met = newGatewayMetrics(metrics.Registerer(cfg.Metrics), g)
	g.fan.instrument(g.met)
	return g, nil
}

// Run starts the fan-out workers and keeps subscriptions where the ring
// says until ctx ends or Close; then it shuts down as Close does.
func (g *Gateway) Run(ctx context.Context) error {
	g.fan.start(g.life)
	g.life.Go(g.subs.subscriber)
	g.life.Go(g.subs.followView)
	g.life.Go(g.reg.expire)
	g.life.Go(func(ctx context.Context) { g.reg.sweep(ctx, g.cfg.Limits.RTMPing) })
	g.life.Go(g.pres.run)
	g.life.Wait(ctx)
	return g.Close()
}

// Close stops the gateway: new connections are refused, every session is
// closed (without goodbye; see Drain), every goroutine is waited for and
// the subscription links are closed. Safe to call more than once, with
// or without Run.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.reg.stop(func(s *session) { s.end(wsframe.StatusGoingAway, "server stopping", false) })
		g.life.Close()
		g.pool.Close()
	})
	return nil
}

// drainStep is the time between two slices of a drain.
const drainStep = 50 * time.Millisecond

// Drain refuses new connections, then moves the sessions off over
// window: a slice of them every drainStep gets goodbye and is closed
// with 1012 (service restart), so that their reconnects to other
// gateways spread evenly over the window instead of arriving at once.
// The first slice goes at once, the last at the window's end. It returns
// when the sessions are gone or ctx ends (what is left then gets the
// same goodbye at once).
func (g *Gateway) Drain(ctx context.Context, window time.Duration) {
	bye := func(s *session) {
		s.push(rtm.Goodbye)
		s.end(wsframe.StatusServiceRestart, "server restart", true)
	}
	all := g.reg.drain()
	steps := max(1, min(len(all), int(window/drainStep)))
	start := time.Now()
	tick := time.NewTimer(0)
	defer tick.Stop()
	for i := range steps {
		if i > 0 {
			tick.Reset(time.Until(start.Add(window * time.Duration(i) / time.Duration(steps-1))))
			select {
			case <-ctx.Done():
				for _, s := range all[i*len(all)/steps:] {
					bye(s)
				}
				return
			case <-tick.C:
			}
		}
		for _, s := range all[i*len(all)/steps : (i+1)*len(all)/steps] {
			bye(s)
		}
	}
	for {
		if g.reg.count() == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Sessions is the number of connected clients.
func (g *Gateway) Sessions() int { return g.reg.count() }

// stuckWrite is how long the writer may wait on a client that does not
// read (a full socket) before the session is closed. A variable only so
// that a test can shorten it.
var stuckWrite = 20 * time.Second

// ServeHTTP accepts an RTM websocket at /rtm/<ticket>[?resume=C1:5,C2:9].
// A bad ticket or resume argument is refused before the upgrade with a
// Slack-style JSON error.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tk, err := rtm.ParseTicket(strings.TrimPrefix(r.URL.Path, "/rtm/"), g.cfg.Key, time.Now())
	if err == nil && (tk.Gateway != g.cfg.Self || tk.Epoch != g.cfg.Epoch) {
		err = rtm.ErrBadTicket // for another gateway, or issued before this process started
	}
	if err == nil && !g.reg.claim(tk) {
		err = rtm.ErrBadTicket // reused
	}
	if err != nil {
		apierror.Refuse(w, http.StatusUnauthorized, "invalid_auth")
		return
	}
	resume, err := parseResume(r.URL.Query().Get("resume"))
	if err != nil {
		apierror.Refuse(w, http.StatusBadRequest, "invalid_arguments")
		return
	}
	if !g.reg.accepting() {
		g.met.refuse(limitDraining)
		apierror.Refuse(w, http.StatusServiceUnavailable, "migration_in_progress")
		return
	}
	// coder/websocket does the handshake and nothing else: from here on
	// the session reads frames with wsframe and is the one writer of
	// the socket.
	hc := &hijackCapture{ResponseWriter: w}
	conn, err := websocket.Accept(hc, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // slack-go sends Origin: https://api.slack.com
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept wrote the error response
	}
	s := newSession(g, tk.User, conn, hc.nc, hc.br)
	s.token = tk.Token
	s.class, _ = limit.ParseClass(tk.Class) // a name this build does not know: a person's
	if resume != nil {
		g.met.reconnected()
	}
	if err := g.reg.register(s, tk); err != nil {
		var revoked chat.Error
		switch {
		case errors.As(err, &revoked):
			s.refuseNew(revoked) // as if it had been open when the revocation came
		case err == errFull:
			g.met.refuse(limitSocketsGateway)
			s.end(wsframe.StatusTryAgainLater, err.Error(), false) // no hello: the close alone
		default:
			g.met.refuse(limitDraining)
			s.end(wsframe.StatusServiceRestart, err.Error(), true)
		}
		s.writers.Wait()
		return
	}
	if !s.start(resume, tk.Away) {
		s.writers.Wait()
		g.reg.unregister(s)
		return
	}
	g.log.Debug("session started", "user", s.user, "gateway", g.cfg.Self, "remote", r.RemoteAddr, "resume", len(resume))
	// The handler returns: net/http lets go of the request and its
	// buffers, and the session lives on its own goroutine.
	go func() {
		s.serve()
		g.reg.unregister(s)
	}()
}

// hijackCapture keeps the connection websocket.Accept hijacks, and the
// buffered reader it hands it, so that the session reads and writes the
// connection itself.
type hijackCapture struct {
	http.ResponseWriter
	nc net.Conn
	br *bufio.Reader
}

// Hijack hands coder/websocket small buffers instead of net/http's 4 KB
// ones: the session reads client frames (small) through a 512-byte
// buffer, and nothing but the handshake's 101 response is written
// through the 128-byte writer. Bytes the client sent early, already in
// net/http's buffer, are moved over.
func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("gateway: connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.nc, h.br = nc, brw.Reader
	n := brw.Reader.Buffered()
	if n > smallReadBuffer {
		return nc, brw, nil // rare: keep the big buffer
	}
	early, _ := brw.Reader.Peek(n)
	rd := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc), smallReadBuffer)
	if n > 0 {
		if _, err := rd.Peek(n); err != nil {
			return nil, nil, err
		}
	}
	h.br = rd
	return nc, bufio.NewReadWriter(rd, bufio.NewWriterSize(nc, 128)), nil
}

// smallReadBuffer is the read buffer of a websocket.
const smallReadBuffer = 512

// parseResume reads "C1:5,C2:9": the last seq the client saw per channel.
func parseResume(s string) (map[string]uint64, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]uint64{}
	for _, part := range strings.Split(s, ",") {
		id, seq, ok := strings.Cut(part, ":")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || id == "" || err != nil || len(out) >= 10_000 {
			return nil, errors.New("resume: want channel:seq[,channel:seq...]")
		}
		out[id] = n
	}
	return out, nil
}

// receiver takes the events channel owners and presence nodes push, on
// each link's reader goroutine, for the part that handles them.
type receiver struct{ g *Gateway }

func (r receiver) Posted(from *internode.Client, m internode.Posted) { r.g.subs.posted(from, m) }
func (r receiver) PostedMember(from *internode.Client, m internode.PostedMember) {
	r.g.subs.postedMember(from, m)
}
func (r receiver) Resubscribe(from *internode.Client, m internode.Resubscribe) {
	r.g.subs.resubscribed(from, m)
}
func (r receiver) ChannelEvent(from *internode.Client, m internode.ChannelEvent) {
	r.g.subs.channelEvent(from, m)
}
func (r receiver) PresenceChange(from *internode.Client, m internode.PresenceChange) {
	r.g.pres.changed(from, m)
}
func (r receiver) UserNotice(_ *internode.Client, m internode.UserNotice) { r.g.pres.onUserNotice(m) }
func (r receiver) AwayChange(_ *internode.Client, m internode.AwayChange) { r.g.pres.onAwayChange(m) }
func (r receiver) Resync(*internode.Client)                               { r.g.pres.reReport() }

// linkDown re-subscribes the channels that were subscribed at peer and
// re-sends what went to it as a presence node.
func (g *Gateway) linkDown(peer string) {
	g.pres.down(peer)
	g.subs.linkDown(peer)
}

// Draining reports whether the gateway refuses new sessions (it drains
// or has stopped).
func (g *Gateway) Draining() bool { return !g.reg.accepting() }
