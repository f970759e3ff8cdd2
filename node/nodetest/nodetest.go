package nodetest

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/ring"
	"go.uber.org/goleak"
)

// Spec describes one node.
type Spec struct {
	Name   string
	Roles  []ring.Role // default: all
	Host   string      // default 127.0.0.1
	Region string
	Dev    bool // serve --dev: the dev.* sign-in methods
	// Tune, when set, changes the node's configuration last (limits,
	// secrets...).
	Tune func(*config.Config)
	// Log, when set, is the node's logger instead of the test's (for a
	// test of what a node logs).
	Log *slog.Logger
}

// Cluster is a set of in-process nodes sharing one store: the embedded
// one in Dir, or Store when set.
type Cluster struct {
	t     testing.TB
	Dir   string
	Store string // a postgres:// URL, or empty
	mu    sync.Mutex
	nodes map[string]*running
	log   *slog.Logger
}

type running struct {
	*node.Node
	cancel context.CancelFunc
	done   chan struct{}
}

// FastGossip is memberlist timing for tests on loopback.
func FastGossip() ring.Gossip {
	return ring.Gossip{
		ProbeInterval:  100 * time.Millisecond,
		ProbeTimeout:   80 * time.Millisecond,
		GossipInterval: 20 * time.Millisecond,
		SuspicionMult:  3,
		PushPull:       500 * time.Millisecond,
	}
}

// Start starts nodes from specs, each joining the first, and waits until
// every node sees all of them.
func Start(t testing.TB, specs ...Spec) *Cluster {
	t.Helper()
	return StartOn(t, "", specs...)
}

// StartOn is Start on the store at url (empty: the embedded one).
func StartOn(t testing.TB, url string, specs ...Spec) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Dir: t.TempDir(), Store: url, nodes: map[string]*running{}, log: Logger(t)}
	t.Cleanup(c.StopAll)
	for _, s := range specs {
		c.Add(s)
	}
	c.WaitConverged()
	return c
}

// Logger logs through t.Log at the level in $RINGCAST_TEST_LOG (default
// warn), and drops lines once the test is over.
func Logger(t testing.TB) *slog.Logger {
	lvl, err := config.ParseLevel(os.Getenv("RINGCAST_TEST_LOG"))
	if err != nil || os.Getenv("RINGCAST_TEST_LOG") == "" {
		lvl = slog.LevelWarn
	}
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(string(p[:len(p)-1]))
	}
	return len(p), nil
}

// Add starts one more node, joining the cluster.
func (c *Cluster) Add(s Spec) *node.Node {
	c.t.Helper()
	if s.Host == "" {
		s.Host = "127.0.0.1"
	}
	cfg := config.Default()
	cfg.Name = s.Name
	if len(s.Roles) > 0 {
		cfg.Roles = s.Roles
	}
	cfg.HTTPAddr = s.Host + ":0"
	cfg.GossipAddr = s.Host + ":0"
	cfg.DataDir = c.Dir
	cfg.Store = c.Store
	cfg.Region = s.Region
	cfg.Dev = s.Dev
	cfg.Gossip = FastGossip()
	cfg.DrainWindow = 0 // a test that drains sets its own
	if first := c.First(); first != nil {
		cfg.Join = []string{first.GossipAddr()}
	}
	if s.Tune != nil {
		s.Tune(&cfg)
	}
	log := c.log
	if s.Log != nil {
		log = s.Log
	}
	n, err := node.New(cfg, "test", log)
	if err != nil {
		c.t.Fatalf("start node %s: %v", s.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Node: n, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		n.Run(ctx)
	}()
	c.mu.Lock()
	c.nodes[s.Name] = r
	c.mu.Unlock()
	return n
}

// First returns some running node (the first started that still runs).
func (c *Cluster) First() *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *running
	for _, r := range c.nodes {
		if best == nil || r.Name() < best.Name() {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return best.Node
}

// Node returns the named node.
func (c *Cluster) Node(name string) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.nodes[name]; r != nil {
		return r.Node
	}
	return nil
}

// Nodes returns the running nodes.
func (c *Cluster) Nodes() []*node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node.Node
	for _, r := range c.nodes {
		out = append(out, r.Node)
	}
	return out
}

// WaitConverged waits until every running node sees exactly the running
// nodes.
func (c *Cluster) WaitConverged() {
	c.t.Helper()
	WaitFor(c.t, 10*time.Second, "cluster convergence", func() bool {
		nodes := c.Nodes()
		for _, n := range nodes {
			if len(n.View().Members) != len(nodes) {
				return false
			}
		}
		return true
	})
}

// Stop shuts a node down gracefully (as on SIGTERM) and waits.
func (c *Cluster) Stop(name string) {
	c.mu.Lock()
	r := c.nodes[name]
	delete(c.nodes, name)
	c.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		c.t.Errorf("node %s did not stop within 30s", name)
	}
}

// StopAll stops every node.
func (c *Cluster) StopAll() {
	for _, n := range c.Nodes() {
		c.Stop(n.Name())
	}
}

// API returns a Web API client of the first admin node with token tok.
func (c *Cluster) API(tok string) *client.API {
	for _, n := range c.Nodes() {
		if n.Members().View().Members[n.Name()].Has(ring.RoleAdmin) {
			return &client.API{Base: "http://" + n.HTTPAddr(), Token: tok}
		}
	}
	c.t.Fatal("no admin node")
	return nil
}

// APIAt returns a Web API client of node name with token tok.
func (c *Cluster) APIAt(name, tok string) *client.API {
	return &client.API{Base: "http://" + c.Node(name).HTTPAddr(), Token: tok}
}

// User provisions a user (a person: the default limits apply) and
// returns a client with its token and its id.
func (c *Cluster) User(name string) (*client.API, string) {
	c.t.Helper()
	return c.UserWith(url.Values{"name": {name}})
}

// UserWith provisions a user with admin.users.create's arguments (name,
// is_bot, limit_class...).
func (c *Cluster) UserWith(args url.Values) (*client.API, string) {
	c.t.Helper()
	n := c.First()
	admin := c.API(n.AdminKey())
	var res struct {
		Token string `json:"token"`
		User  struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := admin.Call(context.Background(), "admin.users.create", args, &res); err != nil {
		c.t.Fatalf("create user %v: %v", args, err)
	}
	api := c.API(res.Token)
	return api, res.User.ID
}

// Token issues another token for an existing user.
func (c *Cluster) Token(t testing.TB, name string) string {
	t.Helper()
	var res struct {
		Token string `json:"token"`
	}
	if err := c.API(c.First().AdminKey()).Call(context.Background(), "admin.users.createToken", url.Values{"name": {name}}, &res); err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return res.Token
}

// Owner returns the node that owns channel id, as n sees it.
func Owner(n *node.Node, id string) string {
	return n.View().Ring(ring.RoleChannel).Owner(id)
}

// WaitFor polls cond until it holds or timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// StorePath is the cluster's shared database file.
func (c *Cluster) StorePath() string { return filepath.Join(c.Dir, "ringcast.db") }

// Names is a helper for specs: n nodes named prefix-0.. with roles.
func Names(prefix string, n int, roles ...ring.Role) []Spec {
	out := make([]Spec, n)
	for i := range out {
		out[i] = Spec{Name: fmt.Sprintf("%s-%d", prefix, i), Roles: roles, Host: fmt.Sprintf("127.0.0.%d", 1+i%250)}
	}
	return out
}

// Call calls a Web API method and fails t on error (or after 10 s).
func Call(t testing.TB, api *client.API, method string, args url.Values, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Call(ctx, method, args, out); err != nil {
		t.Fatalf("%s %v: %v", method, args, err)
	}
}

// Next reads r's next event and fails t unless one comes within 10 s.
func Next(t testing.TB, r *client.RTM) *client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return ev
}

// Connect opens an RTM session for api, on the gateway at gatewayHTTP
// (any gateway when ""), resuming from resume, and fails t unless hello
// comes first. t.Cleanup closes it.
func Connect(t testing.TB, api *client.API, gatewayHTTP string, resume map[string]uint64) *client.RTM {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 200 {
		var res struct{ URL string }
		if err := api.Call(ctx, "rtm.connect", nil, &res); err != nil {
			t.Fatalf("rtm.connect: %v", err)
		}
		if gatewayHTTP != "" && !strings.Contains(res.URL, "//"+gatewayHTTP+"/") {
			continue // rtm.connect picks a gateway at random
		}
		r, err := client.Dial(ctx, res.URL, resume)
		if err != nil {
			t.Fatalf("dial %s: %v", res.URL, err)
		}
		t.Cleanup(func() { r.Conn.CloseNow() })
		ev, err := r.Next(ctx)
		if err != nil || ev.Type != "hello" {
			t.Fatalf("first frame %v (%v), want hello", ev, err)
		}
		return r
	}
	t.Fatalf("rtm.connect never chose gateway %s", gatewayHTTP)
	return nil
}

// LeakOptions are the goroutines goleak may find after a package's tests
// that started nodes: memberlist's handlers linger a moment after its
// Shutdown, and database/sql's connection opener until the pool's Close
// returns. Nothing of ringcast's own.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).packetHandler"),
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).streamListen"),
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	}
}

// Scrape reads n's /metrics with the admin key: every sample's value, by
// its name and labels as written (`name{a="x",b="y"}`).
func Scrape(t testing.TB, n *node.Node) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+n.AdminKey())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
