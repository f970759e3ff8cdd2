package ring

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Meta is what a node tells the cluster about itself. It travels in
// memberlist's node metadata, so its JSON must stay under 512 bytes.
type Meta struct {
	Roles     []Role `json:"r"`
	HTTP      string `json:"h"`
	Internode string `json:"i"`
	Region    string `json:"g,omitempty"`
	Version   string `json:"v,omitempty"`
	// Epoch is random per process start: an RTM ticket names its
	// gateway's epoch, so a ticket issued before a restart is refused
	// after it, used or not.
	Epoch uint64 `json:"e,omitempty"`
	// Draining: a gateway moving its clients off before it leaves;
	// rtm.connect hands it out no more.
	Draining bool `json:"d,omitempty"`
	// Leaving: the node is about to leave the cluster gracefully (set
	// just before memberlist's leave). The others drop it from their
	// Views on it, and count it as left rather than dead when the leave
	// comes (memberlist does not tell them which).
	Leaving bool `json:"l,omitempty"`
}

// Has reports whether the member runs role r.
func (m Meta) Has(r Role) bool { return slices.Contains(m.Roles, r) }

// Member is one live node of the cluster.
type Member struct {
	Name string
	Meta
}

// View is one immutable snapshot of the cluster: its live members and the
// rings built from them. Changed is closed once a newer View exists.
type View struct {
	Self    string
	Members map[string]Member
	rings   map[Role]*Ring
	changed chan struct{}
}

// ringRoles are the roles that own keys and therefore get a ring.
var ringRoles = []Role{RoleChannel, RolePresence}

// NewView builds a View of members as seen by self. Members that run a
// ring role join that role's ring.
func NewView(self string, members []Member) *View {
	v := &View{
		Self:    self,
		Members: make(map[string]Member, len(members)),
		rings:   make(map[Role]*Ring, len(ringRoles)),
		changed: make(chan struct{}),
	}
	byRole := map[Role][]string{}
	for _, m := range members {
		v.Members[m.Name] = m
		for _, r := range ringRoles {
			if m.Has(r) {
				byRole[r] = append(byRole[r], m.Name)
			}
		}
	}
	for _, r := range ringRoles {
		v.rings[r] = New(byRole[r], DefaultVNodes)
	}
	return v
}

// Ring returns the ring of a key-owning role (empty for other roles).
func (v *View) Ring(r Role) *Ring { return v.rings[r] }

// Owner returns the member that owns key in role r's ring.
func (v *View) Owner(r Role, key string) (Member, bool) {
	m, ok := v.Members[v.rings[r].Owner(key)]
	return m, ok
}

// WithRole returns the members that run role r, sorted by name.
func (v *View) WithRole(r Role) []Member {
	var out []Member
	for _, m := range v.Members {
		if m.Has(r) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Changed is closed when this View has been replaced by a newer one.
func (v *View) Changed() <-chan struct{} { return v.changed }

// Options configure a Membership.
type Options struct {
	Name      string
	Bind      string // gossip host:port; port 0 picks one
	Advertise string // IP to advertise instead of the bind host
	Join      []string
	// Secrets encrypt gossip: every one is accepted, the first is used
	// to send (a key rotation runs with the new and the old).
	Secrets []string
	Gossip  Gossip
	Meta    Meta
	Logger  *slog.Logger
}

// Membership runs memberlist and publishes a new View on every change.
// Its methods are safe for concurrent use.
type Membership struct {
	ml     *memberlist.Memberlist
	meta   *metaDelegate
	join   []string // the other members' gossip addresses; read-only after Start
	events *eventDelegate
	self   string
	logger *slog.Logger
	wake   chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex // guards view, leaving, closed
	view    *View
	leaving bool
	closed  bool // memberlist is shut down: it panics on a Leave

	closeOnce sync.Once
}

// Start creates the memberlist, joins the given members and starts the
// goroutine that keeps the View current.
func Start(opts Options) (*Membership, error) {
	host, portStr, err := net.SplitHostPort(opts.Bind)
	if err != nil {
		return nil, fmt.Errorf("gossip address: %w", err)
	}
	port, _ := strconv.Atoi(portStr)
	meta, err := json.Marshal(opts.Meta)
	if err != nil {
		return nil, err
	}
	if len(meta) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("node metadata is %d bytes, over memberlist's %d", len(meta), memberlist.MetaMaxSize)
	}
	m := &Membership{
		self:   opts.Name,
		logger: opts.Logger,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	conf := memberlist.DefaultLANConfig()
	conf.Name = opts.Name
	conf.BindAddr = host
	conf.BindPort = port
	if opts.Advertise != "" {
		conf.AdvertiseAddr = opts.Advertise
		conf.AdvertisePort = port
	}
	g := opts.Gossip
	conf.ProbeInterval, conf.ProbeTimeout = g.ProbeInterval, g.ProbeTimeout
	conf.GossipInterval, conf.SuspicionMult = g.GossipInterval, g.SuspicionMult
	conf.PushPullInterval = g.PushPull
	conf.TCPTimeout = 2 * time.Second
	// A node restarted under the same name but a new address (a new VM,
	// an ephemeral port) may take its name back once it is dead.
	conf.DeadNodeReclaimTime = time.Second
	if len(opts.Secrets) > 0 {
		keys := make([][]byte, len(opts.Secrets))
		for i, s := range opts.Secrets {
			k := sha256.Sum256([]byte(s)) // AES-256
			keys[i] = k[:]
		}
		if conf.Keyring, err = memberlist.NewKeyring(keys, keys[0]); err != nil {
			return nil, fmt.Errorf("gossip keys: %w", err)
		}
	}
	m.meta = &metaDelegate{meta: meta, value: opts.Meta}
	conf.Delegate = m.meta
	m.events = &eventDelegate{wake: m.wake, nodes: map[string][]byte{}, addrs: map[string]bool{}, addr: map[string]string{},
		states: newGossipStates(conf.GossipToTheDeadTime)}
	conf.Events = m.events
	conf.Ping = m.events.states
	conf.Logger = log.New(&logWriter{logger: opts.Logger, suspect: m.events.suspected}, "", 0)
	m.view = NewView(opts.Name, nil)

	ml, err := memberlist.Create(conf)
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", opts.Bind, err)
	}
	m.ml = ml
	m.refresh()
	// The join list may name this node too (one list for every node of a
	// cluster); joining oneself is skipped.
	for _, j := range opts.Join {
		if j != opts.Bind && j != m.Addr() {
			m.join = append(m.join, j)
		}
	}
	if len(m.join) > 0 && !m.tryJoin() {
		m.logger.Warn("no member to join is reachable yet: running alone and retrying every second",
			"join", strings.Join(m.join, ","))
	}
	m.wg.Add(1)
	go m.loop()
	return m, nil
}

// tryJoin contacts addrs; true once at least one member answered.
func (m *Membership) tryJoin(addrs ...string) bool {
	if len(addrs) == 0 {
		addrs = m.join
	}
	n, err := m.ml.Join(addrs)
	if err != nil || n == 0 {
		m.logger.Debug("join attempt failed", "err", err)
		return false
	}
	return true
}

// absent returns the join-list addresses that are not live members
// (from the events: memberlist's own *Node values change under it).
func (m *Membership) absent() []string {
	var out []string
	for _, j := range m.join {
		if !m.events.live(j) {
			out = append(out, j)
		}
	}
	return out
}

// View returns the current snapshot.
func (m *Membership) View() *View {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view
}

// Addr is the gossip address this node actually listens on.
func (m *Membership) Addr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// rejoinEvery is how often a node that is not alone contacts the
// join-list members it does not see (alone, it tries every second).
const rejoinEvery = 5 * time.Second

// loop rebuilds the View on every membership event and contacts the
// join-list members it does not see: nodes of a cluster may start in any
// order (systemd), and two that started alone merge when they meet. The
// same holds after a partition heals: memberlist never contacts a node
// it declared dead again once GossipToTheDeadTime passed, so both sides
// would stay apart for good; a join exchanges state, each side learns
// the other declared it dead, refutes, and the two merge. The attempts
// run on one goroutine at a time (a join to a dead address waits for
// TCPTimeout), so that events are never held up.
func (m *Membership) loop() {
	defer m.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last time.Time
	joining := false
	joined := make(chan bool, 1)
	for {
		select {
		case <-m.done:
			if joining {
				<-joined
			}
			return
		case <-m.wake:
			m.refresh()
		case ok := <-joined:
			joining = false
			if ok && len(m.View().Members) > 1 {
				m.logger.Debug("join-list members contacted")
			}
		case <-tick.C:
			alone := len(m.View().Members) <= 1
			if len(m.join) == 0 || joining || (!alone && time.Since(last) < rejoinEvery) {
				continue
			}
			addrs := m.absent()
			if len(addrs) == 0 {
				continue
			}
			joining, last = true, time.Now()
			go func() {
				ok := m.tryJoin(addrs...)
				if ok && alone {
					m.logger.Info("joined the cluster")
				}
				joined <- ok
			}()
		}
	}
}

// refresh rebuilds the View from the live nodes the events recorded.
func (m *Membership) refresh() {
	nodes := m.events.snapshot()
	members := make([]Member, 0, len(nodes))
	m.mu.Lock()
	leaving := m.leaving
	m.mu.Unlock()
	for name, raw := range nodes {
		if leaving && name == m.self {
			continue
		}
		var meta Meta
		if err := json.Unmarshal(raw, &meta); err != nil {
			m.logger.Warn("ignoring member with unreadable metadata", "member", name, "err", err)
			continue
		}
		if meta.Leaving {
			continue // as good as gone: its leave follows
		}
		members = append(members, Member{Name: name, Meta: meta})
	}
	v := NewView(m.self, members)
	m.mu.Lock()
	old := m.view
	if sameMembers(old, v) {
		m.mu.Unlock()
		return
	}
	m.view = v
	m.mu.Unlock()
	close(old.changed)
	m.logger.Info("membership changed", "members", len(v.Members),
		"channel_ring", v.Ring(RoleChannel).String(), "presence_ring", v.Ring(RolePresence).String())
}

func sameMembers(a, b *View) bool {
	if len(a.Members) != len(b.Members) {
		return false
	}
	for name, x := range a.Members {
		y, ok := b.Members[name]
		if !ok || !slices.Equal(x.Roles, y.Roles) || x.HTTP != y.HTTP ||
			x.Internode != y.Internode || x.Region != y.Region || x.Version != y.Version || x.Draining != y.Draining {
			return false
		}
	}
	return true
}

// GossipState reports the members by state as this node's memberlist
// has them (see gossipStates for how they are known), memberlist's
// health score, and the suspicions and departures since the start.
func (m *Membership) GossipState() GossipState {
	g := m.events.states.read(time.Now())
	g.Health = m.ml.GetHealthScore()
	return g
}

// Suspect reports whether this node suspects member name: its last
// probe of the member went unanswered (see GossipState).
func (m *Membership) Suspect(name string) bool { return m.events.states.suspected(name) }

// StepOut takes this node out of its own View: its roles own no keys
// from now on (a channel owner sequences nothing more; callers retry at
// the new owner once their View has this node gone), while the others
// still see it. Leave then tells them. Safe to call more than once.
func (m *Membership) StepOut() {
	m.mu.Lock()
	m.leaving = true
	m.mu.Unlock()
	m.refresh()
}

// Leave takes this node out of its own View (StepOut) and tells the
// cluster it leaves, so owners move without waiting for a failure
// timeout: first by its metadata (Meta.Leaving: the others drop it from
// their Views at once, and count it as left rather than dead), then by
// memberlist's leave. The gossip keeps running until Close.
func (m *Membership) Leave(timeout time.Duration) error {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return errors.New("gossip already stopped")
	}
	m.StepOut()
	if err := m.updateMeta(func(v *Meta) { v.Leaving = true }, timeout); err != nil {
		m.logger.Debug("gossip: tell the cluster this node leaves", "err", err)
	}
	return m.ml.Leave(timeout)
}

// Close stops gossip without a leave message (others see a failure).
// Safe to call twice.
func (m *Membership) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.done)
		m.wg.Wait()
		err = m.ml.Shutdown()
	})
	return err
}

// metaDelegate serves this node's metadata and ignores user messages.
type metaDelegate struct {
	mu    sync.Mutex // guards meta, value
	meta  []byte     // value, encoded
	value Meta
}

func (d *metaDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meta
}
func (d *metaDelegate) NotifyMsg([]byte)                           {}
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *metaDelegate) LocalState(join bool) []byte                { return nil }
func (d *metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// SetDraining tells the cluster this node is draining (Meta.Draining),
// waiting up to timeout for the update to be gossiped.
func (m *Membership) SetDraining(timeout time.Duration) error {
	return m.updateMeta(func(v *Meta) { v.Draining = true }, timeout)
}

// updateMeta changes this node's metadata and gossips it, waiting up to
// timeout for the update to be sent.
func (m *Membership) updateMeta(change func(*Meta), timeout time.Duration) error {
	m.meta.mu.Lock()
	change(&m.meta.value)
	b, err := json.Marshal(m.meta.value)
	if err == nil {
		m.meta.meta = b
	}
	m.meta.mu.Unlock()
	if err != nil {
		return err
	}
	return m.ml.UpdateNode(timeout)
}

// eventDelegate records each live node's metadata and wakes the refresh
// loop: it never blocks and never calls memberlist back. memberlist calls
// it with its node lock held, which makes this the one place where a
// Node may be read safely (Members() hands out nodes it keeps mutating).
type eventDelegate struct {
	wake  chan struct{}
	mu    sync.Mutex
	nodes map[string][]byte // name -> metadata
	addrs map[string]bool   // gossip addresses of the live nodes
	addr  map[string]string // name -> its gossip address
	// states counts the members by state; its own lock, taken under mu.
	states *gossipStates
}

// set records an event. memberlist calls it holding its node lock, the
// only time a *Node's fields may be read (they change under it later).
func (e *eventDelegate) set(n *memberlist.Node, alive bool) {
	e.mu.Lock()
	delete(e.addrs, e.addr[n.Name])
	if alive {
		e.nodes[n.Name] = slices.Clone(n.Meta)
		e.addr[n.Name] = n.Address()
		e.addrs[n.Address()] = true
		e.states.alive(n.Name)
	} else {
		// memberlist's Node.State is always StateAlive here (hashicorp/
		// memberlist#293): whether the member left is read from the
		// Leaving flag of its last metadata.
		var meta Meta
		json.Unmarshal(e.nodes[n.Name], &meta)
		e.states.departed(n.Name, meta.Leaving, time.Now())
		delete(e.nodes, n.Name)
		delete(e.addr, n.Name)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// live reports whether a live node gossips at addr.
func (e *eventDelegate) live(addr string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addrs[addr]
}

func (e *eventDelegate) snapshot() map[string][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.nodes)
}

// suspected records that this node's probe of the live member name
// failed (memberlist's log line; it has marked the member suspect).
func (e *eventDelegate) suspected(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, live := e.nodes[name]; live {
		e.states.suspect(name)
	}
}

func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { e.set(n, true) }
func (e *eventDelegate) NotifyLeave(n *memberlist.Node)  { e.set(n, false) }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { e.set(n, true) }

// logWriter routes memberlist's "[LEVEL] memberlist: msg" lines into slog
// with their level kept, and the address a line is about ("from=...")
// as the "remote" attribute, by which the node throttles them per
// source (limit.Throttle): a peer without the key sending packets makes
// a line now and then, not one per packet.
//
// A line saying this node's probe of a member failed ("Suspect NAME has
// failed, no acks received": memberlist marks it suspect) is also passed
// to suspect, when set.
type logWriter struct {
	logger  *slog.Logger
	suspect func(name string)
}

var _ io.Writer = (*logWriter)(nil)

func (w *logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for _, l := range []struct {
		tag   string
		level slog.Level
	}{{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo}, {"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError}} {
		if rest, ok := strings.CutPrefix(line, l.tag); ok {
			level, line = l.level, strings.TrimSpace(rest)
			break
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	if name, ok := suspectLine(line); ok && w.suspect != nil {
		w.suspect(name)
	}
	attrs := []any{"component", "memberlist"}
	if _, from, ok := strings.Cut(line, "from="); ok {
		from, _, _ = strings.Cut(from, " ")
		attrs = append(attrs, "remote", strings.TrimRight(from, ",:;"))
	}
	w.logger.Log(context.Background(), level, line, attrs...)
	return len(p), nil
}
