package node

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/http/pprof"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/metrics"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/admin"
	"github.com/ringcast/ringcast/roles/apps"
	"github.com/ringcast/ringcast/roles/channel"
	"github.com/ringcast/ringcast/roles/gateway"
	"github.com/ringcast/ringcast/roles/presence"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/postgres"
	"github.com/ringcast/ringcast/store/sqlite"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/trust"
	"github.com/ringcast/ringcast/web"
)

// Node is one running process. Create it with New, serve with Run.
type Node struct {
	cfg     config.Config
	log     *slog.Logger
	version string

	Store    store.Store
	members  *ring.Membership
	inode    *internode.Server
	pool     *internode.Pool // request links (the gateway keeps its own for subscriptions)
	caller   *cluster.Caller // routes requests by the rings, over pool
	channels *cluster.Channels
	owner    *channel.Owner
	presence *presence.Server
	gateway  *gateway.Gateway
	api      *admin.API
	apps     *apps.Apps // with the admin role: Socket Mode and the Events API
	http     *http.Server
	httpLn   net.Listener
	team     admin.Team
	adminKey string
	// adminKeyCreated: this start generated the admin key (serve --dev
	// prints it then, and only then).
	adminKeyCreated bool
	key             []byte
	links           internode.Auth // how this node's internode links are authenticated

	dispatch *internode.Dispatcher // the internode server's handler
	// roleCtx is the roles' context: Run cancels it once no frame and no
	// request can reach them any more.
	roleCtx   context.Context
	stopRoles context.CancelFunc

	metrics *prometheus.Registry // this node's metrics (/metrics)
	traffic internode.Traffic    // the bytes of every internode link of this node
	running atomic.Bool          // Run has started the roles and not yet begun to stop
	// drained is closed by an operator's POST /drain (`ringcast drain`):
	// Run then stops as it does when its context ends.
	drained   chan struct{}
	drainOnce sync.Once
}

// New opens the store and every listener and joins the cluster. The
// node serves nothing until Run.
func New(cfg config.Config, version string, logger *slog.Logger) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Lines about a remote peer (a bad packet, a failed handshake) are
	// throttled per source, so garbage cannot fill the disk.
	logger = slog.New(limit.Throttle(logger.Handler(), limit.LogRate))
	n := &Node{cfg: cfg, version: version, log: logger.With("node", cfg.Name), metrics: metrics.NewRegistry(),
		drained: make(chan struct{})}
	n.roleCtx, n.stopRoles = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()
	if !cfg.Postgres() {
		if err := secureDataDir(cfg.DataDir, cfg.StorePath(), n.log); err != nil {
			return nil, err
		}
	}
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	n.Store = st
	if err := n.loadCluster(); err != nil {
		return nil, err
	}
	n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("--http: %w", err)
	}
	tlsTrust, err := trust.New(trust.Config{Self: cfg.Name, Secrets: cfg.Secrets,
		CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CAFile: cfg.TLSCA})
	if err != nil {
		return nil, err
	}
	n.links = internode.Auth{Self: cfg.Name, Key: n.key, TLS: tlsTrust, Admit: n.admit, Own: internode.NewOwn(), Traffic: &n.traffic}
	n.pool = internode.NewPool(n.links, nil, nil, n.log)
	// The internode server starts before the gossip, so the address in
	// our metadata is live when others read it.
	n.dispatch = &internode.Dispatcher{Log: n.log} // the roles are set below, before Serve
	n.inode, err = internode.Listen(cfg.InternodeAddr, n.links, n.dispatch, n.log)
	if err != nil {
		return nil, fmt.Errorf("--internode: %w", err)
	}
	meta := ring.Meta{
		Roles:     cfg.Roles,
		HTTP:      advertise(n.httpLn.Addr().String(), cfg.Advertise),
		Internode: advertise(n.inode.Addr(), cfg.Advertise),
		Region:    cfg.Region,
		Version:   version,
		Epoch:     randomEpoch(),
	}
	n.members, err = ring.Start(ring.Options{
		Name: cfg.Name, Bind: cfg.GossipAddr, Advertise: cfg.Advertise, Join: cfg.Join,
		Secrets: cfg.Secrets, Gossip: cfg.Gossip, Meta: meta, Logger: n.log,
	})
	if err != nil {
		return nil, err
	}
	view := n.members.View
	n.caller = cluster.NewCaller(view, n.pool)
	pc := cluster.NewPresence(n.caller)
	if cfg.Has(ring.RoleChannel) {
		window := cfg.CommitWindow
		if window == 0 {
			window = -1 // the flag's 0 means none; the role's 0 means its default
		}
		n.owner, err = channel.New(channel.Config{Self: cfg.Name, Team: n.team.ID, Store: st, View: view, Logger: n.log,
			UserEvent: pc.UserEvent, CommitWindow: window, Metrics: n.metrics})
		if err != nil {
			return nil, err
		}
		n.dispatch.Channel = n.owner.Server()
		n.channels = cluster.NewChannels(n.caller, cfg.Name, n.owner)
	} else {
		n.channels = cluster.NewChannels(n.caller, cfg.Name, nil)
	}
	if cfg.Has(ring.RolePresence) {
		if n.presence, err = presence.New(presence.Config{Self: cfg.Name, View: view, Logger: n.log}); err != nil {
			return nil, err
		}
		n.dispatch.Presence = n.presence
	}
	// One count of a user's messages for the node, whether they come by
	// chat.postMessage or over RTM.
	messages := limit.New(cfg.Limits.Messages)
	if cfg.Has(ring.RoleGateway) {
		n.gateway, err = gateway.New(gateway.Config{Self: cfg.Name, Epoch: meta.Epoch, Links: n.links, Team: n.team.ID, Key: n.key, Store: st,
			View: view, Channels: n.channels, Presence: pc, Logger: n.log, Limits: cfg.Limits, Messages: messages,
			Metrics: n.metrics})
		if err != nil {
			return nil, err
		}
	}
	if cfg.Has(ring.RoleAdmin) {
		n.api, err = admin.New(admin.Config{Team: n.team, Region: cfg.Region, Key: n.key, AdminKey: n.adminKey,
			Store: st, View: view, Channels: n.channels, Presence: pc, Logger: n.log, Dev: cfg.Dev, Limits: cfg.Limits, Messages: messages,
			Metrics: n.metrics})
		if err != nil {
			return nil, err
		}
		n.apps, err = apps.New(apps.Config{Self: cfg.Name, Epoch: meta.Epoch, Key: n.key, Team: n.team.ID, Store: st,
			View: view, Logger: n.log, Links: n.links, AckTimeout: cfg.AppAckTimeout, Retention: cfg.AppRetention})
		if err != nil {
			return nil, err
		}
	}
	n.metrics.MustRegister(newNodeCollector(n))
	// A websocket is no longer a request once upgraded: net/http clears
	// these deadlines when the gateway hijacks the connection
	// (TestHTTPTimeouts holds it to that).
	l := cfg.Limits
	n.http = &http.Server{Handler: n.requests(n.mux()), ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
		ReadHeaderTimeout: min(10*time.Second, l.HTTPRead), ReadTimeout: l.HTTPRead, WriteTimeout: l.HTTPWrite,
		IdleTimeout: l.HTTPIdle, MaxHeaderBytes: 64 << 10}
	return n, nil
}

// admit says whether a node may open an internode link to this one: a
// live member of this node's view (not this node). A node that has just
// joined may be refused until gossip brings it here; its dialer retries.
func (n *Node) admit(name string) bool {
	if n.members == nil || name == n.cfg.Name {
		return false
	}
	_, ok := n.members.View().Members[name]
	return ok
}

// openStore opens the store the configuration names: PostgreSQL for a
// postgres:// URL, else the embedded SQLite under the data directory.
func openStore(cfg config.Config) (store.Store, error) {
	if !cfg.Postgres() {
		return sqlite.Open(cfg.StorePath())
	}
	st, err := postgres.Open(context.Background(), cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	return st, nil
}

// loadCluster reads (creating on first start) the settings every node on
// this store shares: the cluster key, the team and the admin key.
func (n *Node) loadCluster() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(key, def string) (string, error) { return n.Store.Meta(ctx, key, def) }
	keyHex, err := get("cluster_key", randomHex(32))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n.key, err = hex.DecodeString(keyHex); err != nil {
		return fmt.Errorf("store: corrupt cluster_key: %w", err)
	}
	if n.team.ID, err = get("team_id", chat.NewID('T')); err != nil {
		return err
	}
	if n.team.Name, err = get("team_name", "ringcast"); err != nil {
		return err
	}
	n.team.Domain = n.team.Name + ".local"
	n.adminKey = n.cfg.AdminKey
	if n.adminKey == "" {
		fresh := "xoxa-" + randomHex(24)
		if n.adminKey, err = get("admin_key", fresh); err != nil {
			return err
		}
		n.adminKeyCreated = n.adminKey == fresh
	}
	return nil
}

// randomEpoch is a process's epoch (ring.Meta.Epoch): random, never 0.
func randomEpoch() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// advertise replaces a wildcard or explicit host in addr by host when set.
func advertise(addr, host string) string {
	h, p, _ := net.SplitHostPort(addr)
	if host != "" {
		h = host
	} else if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, p)
}

// HTTPAddr is where the node serves clients.
func (n *Node) HTTPAddr() string { return n.httpLn.Addr().String() }

// GossipAddr is where the node gossips (for --join).
func (n *Node) GossipAddr() string { return n.members.Addr() }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// AdminKey is the key for admin.* methods.
func (n *Node) AdminKey() string { return n.adminKey }

// AdminKeyCreated reports whether this start generated the admin key.
func (n *Node) AdminKeyCreated() bool { return n.adminKeyCreated }

// View is the node's current view of the cluster.
func (n *Node) View() *ring.View { return n.members.View() }

// Members is the node's gossip membership.
func (n *Node) Members() *ring.Membership { return n.members }

// Run serves until ctx ends (or an operator's POST /drain), then shuts
// down gracefully: a gateway tells the cluster it drains and moves its
// clients off over --drain-window with goodbye and 1012 while it is
// still a member; then the node leaves the gossip (owners move at once),
// commits what is queued, closes the internode links (no frame reaches
// a role after this), stops the roles, and closes the rest.
func (n *Node) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(n.roleCtx); err != nil {
				n.log.Error("role stopped", "err", err)
			}
		}()
	}
	run(n.retainLinks)
	if n.owner != nil {
		run(n.owner.Run)
	}
	if n.presence != nil {
		run(n.presence.Run)
	}
	if n.gateway != nil {
		run(n.gateway.Run)
	}
	if n.apps != nil {
		run(n.apps.Run)
	}
	if n.api != nil || n.gateway != nil {
		run(n.followRevocations)
	}
	wg.Add(2)
	go func() { defer wg.Done(); n.inode.Serve() }()
	httpErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		if err := n.http.Serve(n.httpLn); !errors.Is(err, http.ErrServerClosed) {
			httpErr <- err
		}
	}()
	n.running.Store(true)
	n.log.Info("node started", "roles", n.cfg.Roles, "http", n.HTTPAddr(), "gossip", n.GossipAddr(),
		"internode", n.inode.Addr(), "region", n.cfg.Region, "version", n.version)

	var err error
	select {
	case <-ctx.Done():
	case <-n.drained:
		n.log.Info("an operator asked this node to drain")
	case err = <-httpErr:
		n.log.Error("http server failed", "err", err)
	}
	n.running.Store(false)
	if n.gateway != nil {
		// Still a member: the clients' channels keep flowing while they
		// are moved off, and rtm.connect hands this gateway out no more.
		n.log.Info("shutting down: draining the gateway", "window", n.cfg.DrainWindow, "sessions", n.gateway.Sessions())
		if derr := n.members.SetDraining(2 * time.Second); derr != nil {
			n.log.Warn("gossip: tell the cluster this gateway drains", "err", derr)
		}
		dctx, cancel := context.WithTimeout(context.Background(), n.cfg.DrainWindow+10*time.Second)
		n.gateway.Drain(dctx, n.cfg.DrainWindow)
		cancel()
	}
	n.log.Info("shutting down: leaving the cluster")
	if n.owner != nil {
		// Hand the channels over: out of this node's own view first (it
		// sequences nothing more; callers retry, and reach the new owner
		// as soon as their view has this node gone), then what it took
		// commits, and only then do the others move its channels, loading
		// them from the store with every message it acked.
		n.members.StepOut()
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n.owner.Quiesce(dctx)
		cancel()
	}
	if lerr := n.members.Leave(2 * time.Second); lerr != nil {
		n.log.Warn("gossip leave", "err", lerr)
	}
	if n.apps != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n.apps.Drain(dctx)
		cancel()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	n.http.Shutdown(sctx)
	cancel()
	// Links first: a frame that arrives after this finds no link, not a
	// stopped role that would take a request and never answer it.
	n.inode.Close()
	n.stopRoles()
	wg.Wait()
	n.closeAll()
	n.log.Info("node stopped")
	return err
}

// revocationPoll is how often a node reads the store's revocation log:
// a revoked token, or a deactivated user, stops working on every node
// (cached lookups dropped, websockets closed) within about this long.
// Polling the store, rather than telling the nodes, needs nothing to
// reach every node: one that was cut off catches up when it reads.
const revocationPoll = 250 * time.Millisecond

// followRevocations applies the revocation log to the node's API,
// gateway and apps role until ctx ends. It starts from the beginning of the log (a
// day of entries at most): applying an old entry to a fresh process
// changes nothing.
func (n *Node) followRevocations(ctx context.Context) error {
	const page = 1000
	var after int64
	t := time.NewTicker(revocationPoll)
	defer t.Stop()
	for {
		revs, err := n.Store.Revocations(ctx, after, page)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("read the revocation log", "err", err)
		}
		for _, r := range revs {
			if n.api != nil {
				n.api.Revoked(r)
			}
			if n.gateway != nil {
				n.gateway.Revoked(r)
			}
			if n.apps != nil {
				n.apps.Revoked(r)
			}
			after = r.ID
		}
		if len(revs) == page {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// retainLinks ends the request links to nodes that leave the view, so
// that requests waiting on a node cut off by the network fail over when
// it is declared dead rather than when they time out (10 s and more).
func (n *Node) retainLinks(ctx context.Context) error {
	for {
		v := n.members.View()
		select {
		case <-ctx.Done():
			return nil
		case <-v.Changed():
		}
		now := n.members.View()
		n.pool.Retain(func(peer string) bool {
			_, ok := now.Members[peer]
			return ok
		})
	}
}

// closeAll releases everything New opened, in the order Run stops it:
// listeners, internode links, roles, then the links and store the roles
// used. Every Close is idempotent, so it is safe on a partly built node
// and after Run.
func (n *Node) closeAll() {
	n.stopRoles()
	if n.http != nil {
		n.http.Close()
	}
	if n.httpLn != nil {
		n.httpLn.Close()
	}
	if n.inode != nil {
		n.inode.Close()
	}
	if n.gateway != nil {
		n.gateway.Close()
	}
	if n.apps != nil {
		n.apps.Close()
	}
	if n.presence != nil {
		n.presence.Close()
	}
	if n.owner != nil {
		n.owner.Close()
	}
	if n.caller != nil {
		n.caller.Close()
	}
	if n.pool != nil {
		n.pool.Close()
	}
	if n.members != nil {
		n.members.Close()
	}
	if n.Store != nil {
		n.Store.Close()
	}
}

func (n *Node) mux() http.Handler {
	m := http.NewServeMux()
	notHere := func(role string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method",
				"detail": "this node does not run the " + role + " role"})
		})
	}
	if n.api != nil {
		m.Handle("/api/", n.api)
		m.Handle("/apps/socket/", n.apps)
	} else if n.gateway != nil {
		// The page is served here too, and calls /api/ on its own origin.
		m.Handle("/api/", n.apiProxy())
	} else {
		m.Handle("/api/", notHere("admin"))
	}
	if n.gateway != nil {
		m.Handle("/rtm/", n.gateway)
	} else {
		m.Handle("/rtm/", notHere("gateway"))
	}
	m.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	m.HandleFunc("/readyz", n.serveReady)
	m.Handle("/metrics", n.operator(metrics.Handler(n.metrics).ServeHTTP))
	if n.cfg.Pprof {
		m.Handle("/debug/pprof/", n.operator(pprof.Index))
		m.Handle("/debug/pprof/profile", n.operator(pprof.Profile))
		m.Handle("/debug/pprof/symbol", n.operator(pprof.Symbol))
		m.Handle("/debug/pprof/trace", n.operator(pprof.Trace))
	}
	m.Handle("/status", n.operator(n.serveStatus))
	m.Handle("/status/channel", n.operator(n.serveChannelStatus))
	m.Handle("/drain", n.operator(n.serveDrain))
	if n.api != nil || n.gateway != nil {
		m.Handle("/", web.Handler())
	}
	return m
}

// apiProxy serves the Web API on a gateway-only node by passing each
// request on to a node with the admin role (this region's first when
// there is one), so that the chat page this node serves works like one
// served by an admin node. The admin node authenticates and limits the
// request as if it came straight to it; nothing is added to it.
func (n *Node) apiProxy() http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: pr.In.Context().Value(proxyTarget{}).(string)})
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			n.log.Warn("web api proxy", "err", err)
			unavailable(w)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admins := n.members.View().WithRole(ring.RoleAdmin)
		if len(admins) == 0 {
			unavailable(w)
			return
		}
		to := admins[0]
		for _, m := range admins {
			if m.Region == n.cfg.Region {
				to = m
				break
			}
		}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyTarget{}, to.HTTP)))
	})
}

// proxyTarget carries the admin node apiProxy chose to its Rewrite.
type proxyTarget struct{}

// unavailable is the Web API's answer when no admin node can take a call.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": string(chat.ErrUnavailable)})
}

// operator serves h only to a caller with the admin key (a bearer
// token): /status lists every node's internal addresses, and profiles
// show what a node holds.
func (n *Node) operator(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(n.adminKey)) != 1 {
			code := "invalid_auth"
			if !ok {
				code = "not_authed"
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("WWW-Authenticate", `Bearer realm="ringcast operator (the admin key)"`)
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
			return
		}
		h(w, r)
	})
}

// Status is what /status reports and `ringcast status` prints. It
// carries ok:true like a Web API answer, so that client.API.Call reads it.
type Status struct {
	OK       bool           `json:"ok"`
	Node     string         `json:"node"`
	Version  string         `json:"version"`
	Roles    []ring.Role    `json:"roles"`
	Region   string         `json:"region,omitempty"`
	Members  []MemberStatus `json:"members"`
	Sessions int            `json:"sessions"`
	Channels int            `json:"loaded_channels"`
	Users    int            `json:"presence_users"`
	Ready    bool           `json:"ready"`
}

// MemberStatus is one member as this node sees it.
type MemberStatus struct {
	Name         string      `json:"name"`
	Roles        []ring.Role `json:"roles"`
	HTTP         string      `json:"http"`
	Internode    string      `json:"internode"`
	Region       string      `json:"region,omitempty"`
	Version      string      `json:"version,omitempty"`
	ChannelShare float64     `json:"channel_share"` // rounded to 0.1%
	// State is the member's gossip state as this node sees it: alive,
	// draining (a gateway moving its clients off), or suspect (this
	// node's last probe of it went unanswered).
	State string `json:"state"`
	// What the member reports of itself (its own /status): sessions,
	// channels loaded, ready; Error when it could not be asked.
	Sessions       int    `json:"sessions"`
	LoadedChannels int    `json:"loaded_channels"`
	Ready          bool   `json:"ready"`
	Error          string `json:"error,omitempty"`
}

// serveDrain starts the node's graceful stop (POST only): a gateway
// moves its clients off over --drain-window, then the node leaves the
// cluster and the process ends as on SIGTERM.
func (n *Node) serveDrain(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "method_not_allowed"})
		return
	}
	n.drainOnce.Do(func() { close(n.drained) })
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "node": n.cfg.Name, "window": n.cfg.DrainWindow.String()})
}

func (n *Node) serveStatus(w http.ResponseWriter, r *http.Request) {
	v := n.members.View()
	shares := v.Ring(ring.RoleChannel).Shares()
	st := Status{OK: true, Node: n.cfg.Name, Version: n.version, Roles: n.cfg.Roles, Region: n.cfg.Region, Ready: n.Readiness().Ready}
	if r.URL.Query().Get("local") == "" { // not another node asking for this one's own part
		for _, name := range slices.Sorted(maps.Keys(v.Members)) {
			m := v.Members[name]
			state := "alive"
			switch {
			case n.members.Suspect(m.Name):
				state = "suspect" // this node's last probe of it went unanswered
			case m.Draining:
				state = "draining"
			}
			st.Members = append(st.Members, MemberStatus{Name: m.Name, Roles: m.Roles, HTTP: m.HTTP,
				Internode: m.Internode, Region: m.Region, Version: m.Version, ChannelShare: math.Round(shares[m.Name]*1000) / 1000,
				State: state})
		}
		n.askMembers(r.Context(), st.Members)
	}
	if n.gateway != nil {
		st.Sessions = n.gateway.Sessions()
	}
	if n.owner != nil {
		st.Channels = n.owner.Loaded()
	}
	if n.presence != nil {
		st.Users = n.presence.Tracked()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// DevUser makes sure a user named "dev" exists and returns it with a
// fresh token, for `serve --dev`.
func (n *Node) DevUser(ctx context.Context) (chat.User, string, error) {
	u, err := n.Store.UserByName(ctx, "dev")
	if errors.Is(err, store.ErrNotFound) {
		u = chat.User{ID: chat.NewID('U'), Name: "dev", RealName: "Dev User", Created: time.Now().Unix()}
		if err = n.Store.CreateUser(ctx, u); errors.Is(err, store.ErrNameTaken) {
			u, err = n.Store.UserByName(ctx, "dev") // another node made it first
		}
	}
	if err != nil {
		return chat.User{}, "", err
	}
	tok, hash := admin.NewToken()
	if err := n.Store.PutToken(ctx, hash, u.ID); err != nil {
		return chat.User{}, "", err
	}
	return u, tok, nil
}
