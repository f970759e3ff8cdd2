package apps

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/apierror"
	"github.com/ringcast/ringcast/transport/appevent"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Config configures the apps role. Zero durations take the defaults
// named after them.
type Config struct {
	Self   string // this node's name
	Epoch  uint64 // this process's (ring.Meta.Epoch): tickets of another are refused
	Key    []byte // cluster key: verifies tickets
	Team   string
	Store  store.Store
	View   func() *ring.View
	Logger *slog.Logger
	// Links authenticates the links on which the role subscribes at the
	// channels' owners for wake-ups; without them (zero) dispatchers
	// only poll.
	Links internode.Auth

	// Poll is how often a dispatcher reads its channels' logs for new
	// entries besides its wake-ups (DefaultPoll).
	Poll time.Duration
	// AckTimeout is how long a Socket Mode envelope waits for its ack
	// before it is sent again (DefaultAckTimeout).
	AckTimeout time.Duration
	// Retries is how many times an event is sent again before it is
	// given up (Slack: 3); negative: none.
	Retries int
	// HTTPRetryDelays are the waits before each Events API retry
	// (DefaultHTTPRetryDelays, Slack's: at once, 1 min, 5 min).
	HTTPRetryDelays []time.Duration
	// FailingPause is how long an app whose request URL failed
	// failingAfter requests in a row waits before the next
	// (DefaultFailingPause).
	FailingPause time.Duration
	// Retention: entries older than this are not delivered to an app
	// that comes back (DefaultRetention).
	Retention time.Duration
	// PingEvery is how often a Socket Mode connection is pinged
	// (DefaultPingEvery; clients expect one at least every 30 s).
	PingEvery time.Duration
	// HTTP posts Events API requests (a client with appevent.Timeout when
	// nil).
	HTTP *http.Client
}

// Defaults.
const (
	DefaultPoll       = 250 * time.Millisecond
	DefaultAckTimeout = 10 * time.Second
	DefaultRetention  = 24 * time.Hour
	DefaultPingEvery  = 10 * time.Second
	// DefaultFailingPause: see Config.FailingPause.
	DefaultFailingPause = time.Minute
	// listEvery is how often a dispatcher lists its bot's channels, and
	// the role the apps it hosts.
	listEvery = time.Second
	// window bounds the events of one channel in flight to an app.
	window = 64
	// MaxConnections bounds an app's Socket Mode connections (Slack's
	// limit): one more is closed with 1013, with no hello.
	MaxConnections = 10
	// outQueue bounds the frames waiting for one connection's writer; a
	// connection that falls that far behind is closed.
	outQueue = 256
)

// DefaultHTTPRetryDelays are Slack's.
var DefaultHTTPRetryDelays = []time.Duration{0, time.Minute, 5 * time.Minute}

// Apps is the apps role. Safe for concurrent use.
type Apps struct {
	cfg  Config
	log  *slog.Logger
	life *lifecycle.Group
	wake *waker     // nil without Config.Links
	bots store.Bots // authors' apps

	mu          sync.Mutex // guards dispatchers, tickets, revoked, draining and hosts
	draining    bool
	hosts       cluster.AppHosts // of the last view hosted asked about
	dispatchers map[string]*dispatcher
	tickets     rtm.Used    // tickets that opened a connection
	revoked     rtm.Revoked // revocations learnt, until the tickets issued before them expire
}

// New validates cfg and makes the role; Run starts it.
func New(cfg Config) (*Apps, error) {
	if cfg.Store == nil || cfg.View == nil || len(cfg.Key) == 0 || cfg.Self == "" {
		return nil, errors.New("apps: Self, Key, Store and View are required")
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.HTTPRetryDelays == nil {
		cfg.HTTPRetryDelays = DefaultHTTPRetryDelays
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.FailingPause == 0 {
		cfg.FailingPause = DefaultFailingPause
	}
	if cfg.PingEvery == 0 {
		cfg.PingEvery = DefaultPingEvery
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: appevent.Timeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Apps{cfg: cfg, log: cfg.Logger.With("role", "apps"), life: lifecycle.NewGroup(),
		dispatchers: map[string]*dispatcher{}, tickets: rtm.Used{}, revoked: rtm.Revoked{}}
	if cfg.Links.Self != "" {
		a.wake = newWaker(a)
	}
	return a, nil
}

// Run hosts the apps this node owns until ctx ends or Close, then
// closes.
func (a *Apps) Run(ctx context.Context) error {
	a.life.Go(a.supervise)
	if a.wake != nil {
		a.life.Go(a.wake.maintain)
	}
	a.life.Wait(ctx)
	a.Close()
	return nil
}

// Close tells every connection to reconnect (disconnect,
// refresh_requested), stops the dispatchers and waits for them. Safe to
// call twice.
func (a *Apps) Close() error {
	a.life.Close()
	if a.wake != nil {
		a.wake.pool.Close()
	}
	return nil
}

// Drain tells every connection to reconnect (disconnect,
// refresh_requested: to another node once this one left the view),
// stores the apps' positions and waits for the dispatchers until ctx
// ends.
func (a *Apps) Drain(ctx context.Context) {
	a.mu.Lock()
	a.draining = true
	var ds []*dispatcher
	for id, d := range a.dispatchers {
		delete(a.dispatchers, id)
		d.stop()
		ds = append(ds, d)
	}
	a.mu.Unlock()
	for _, d := range ds {
		select {
		case <-d.done:
		case <-ctx.Done():
			return
		}
	}
}

// hosted reports whether this node hosts app in the current view.
func (a *Apps) hosted(app string) bool {
	v := a.cfg.View()
	a.mu.Lock()
	if a.hosts.View() != v {
		a.hosts = cluster.NewAppHosts(v) // once per view
	}
	hosts := a.hosts
	a.mu.Unlock()
	m, ok := hosts.Host(app)
	return ok && m.Name == a.cfg.Self
}

// supervise starts a dispatcher for every app this node hosts (one
// with a request URL delivers even with no connection) and stops those
// of apps it no longer hosts.
func (a *Apps) supervise(ctx context.Context) {
	t := time.NewTicker(listEvery)
	defer t.Stop()
	for {
		a.reconcile(ctx)
		v := a.cfg.View()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-v.Changed():
		}
	}
}

func (a *Apps) reconcile(ctx context.Context) {
	keep := map[string]bool{}
	for after := ""; ; {
		list, err := a.cfg.Store.ListApps(ctx, after, 500)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("list apps", "err", err)
			}
			return
		}
		for _, app := range list {
			if a.hosted(app.ID) {
				keep[app.ID] = true
				a.changed(a.dispatcher(app), app)
			}
		}
		if len(list) < 500 {
			break
		}
		after = list[len(list)-1].ID
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, d := range a.dispatchers {
		if !keep[id] {
			delete(a.dispatchers, id)
			d.stop()
		}
	}
	a.tickets.Forget(time.Now())
	a.revoked.Forget(time.Now())
}

// changed gives d the app as listed when it changed (admin.apps.update):
// a new name or events in place; a new request URL by a new dispatcher,
// which reads from the stored positions (what was in flight is sent
// again, with its event ids).
func (a *Apps) changed(d *dispatcher, app chat.App) {
	if d == nil || (d.listed.Name == app.Name && slices.Equal(d.listed.Events, app.Events) && d.listed.RequestURL == app.RequestURL) {
		return
	}
	if d.listed.RequestURL == app.RequestURL {
		d.listed = app
		d.update(app)
		return
	}
	a.mu.Lock()
	if a.dispatchers[app.ID] == d {
		delete(a.dispatchers, app.ID)
		d.stop()
	}
	a.mu.Unlock()
	<-d.done // its positions stored
	a.dispatcher(app)
}

// dispatcher returns the running dispatcher of app, starting it first;
// nil once the role is closing.
func (a *Apps) dispatcher(app chat.App) *dispatcher {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := a.dispatchers[app.ID]; d != nil || a.draining {
		return d
	}
	d := newDispatcher(a, app)
	if !a.life.Go(d.run) {
		return nil
	}
	a.dispatchers[app.ID] = d
	return d
}

// claim marks a ticket used; false when it was.
func (a *Apps) claim(tk rtm.Ticket) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tickets.Claim(tk)
}

// Revoked closes the Socket Mode connections a revocation names: those
// opened with a revoked app-level token (the token id their ticket
// carried; an app's token is the app's own, so the revocation's user is
// the app's id). Each is told disconnect, link_disabled, and closed with
// 1008, within the revocation log's polling interval; a URL that
// apps.connections.open returned before the revocation opens nothing
// after it. The node calls it for every entry of the store's revocation
// log.
func (a *Apps) Revoked(r store.Revocation) {
	rv := rtm.Revocation{User: r.User, Token: rtm.TokenIDOf(r.Token), All: r.Token == nil}
	a.mu.Lock()
	a.revoked.Add(rv, time.Now())
	d := a.dispatchers[r.User]
	a.mu.Unlock()
	if d == nil {
		return
	}
	d.revoke(rv)
	if rv.All {
		// Every token of the app: admin.apps.delete. Its deliveries stop
		// now (the role's next listing leaves it out).
		a.mu.Lock()
		if a.dispatchers[r.User] == d {
			delete(a.dispatchers, r.User)
			d.stop()
		}
		a.mu.Unlock()
	}
}

// stopped reports whether a revocation learnt since tk was issued stops
// it.
func (a *Apps) stopped(tk rtm.Ticket) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.revoked.Stops(tk)
	return ok
}

// ServeHTTP accepts a Socket Mode websocket at /apps/socket/<ticket>.
func (a *Apps) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tk, err := rtm.ParseTicket(strings.TrimPrefix(r.URL.Path, "/apps/socket/"), a.cfg.Key, time.Now())
	if err == nil && (tk.Gateway != a.cfg.Self || tk.Epoch != a.cfg.Epoch || !a.claim(tk)) {
		err = rtm.ErrBadTicket // for another node, of an earlier process, or reused
	}
	if err != nil {
		apierror.Refuse(w, http.StatusUnauthorized, "invalid_auth")
		return
	}
	if a.stopped(tk) {
		apierror.Refuse(w, http.StatusUnauthorized, string(chat.ErrTokenRevoked))
		return
	}
	app, err := a.cfg.Store.App(r.Context(), tk.User)
	if err == nil && app.Deleted {
		err = store.ErrNotFound
	}
	if err != nil {
		apierror.Refuse(w, http.StatusUnauthorized, "invalid_auth")
		return
	}
	if !a.hosted(app.ID) {
		apierror.Refuse(w, http.StatusServiceUnavailable, "service_unavailable") // the client opens a new URL
		return
	}
	if !a.life.Enter() {
		apierror.Refuse(w, http.StatusServiceUnavailable, "service_unavailable")
		return
	}
	defer a.life.Leave()
	d := a.dispatcher(app)
	if d == nil {
		apierror.Refuse(w, http.StatusServiceUnavailable, "service_unavailable")
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // slack-go sends Origin: https://api.slack.com
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept wrote the error response
	}
	ws.SetReadLimit(appevent.MaxAck)
	c := newConn(a, d, ws, tk)
	c.serve(a.life.Context())
}
