package node_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store/sqlite"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/trust"
)

// revocationBound is how soon a revocation must take effect on every
// node, sessions closed included: issue 12 asks for a second. The nodes
// read the revocation log every 250 ms, which leaves room for a machine
// loaded by the race detector. The time measured is logged.
const revocationBound = time.Second

// closedWith reads r until the server closes it and checks the error
// event before the close (msg) and the close code.
func closedWith(t *testing.T, r *client.RTM, msg string, code websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sawError := false
	for {
		ev, err := r.Next(ctx)
		if err != nil {
			if got := websocket.CloseStatus(err); got != code || !sawError {
				t.Fatalf("session ended with %v (close %d, error event seen: %v), want the error %q then close %d", err, got, sawError, msg, code)
			}
			return
		}
		if ev.Type == "error" && ev.Error != nil && ev.Error.Msg == msg {
			sawError = true
		}
	}
}

// alive checks that r still answers a ping.
func alive(t *testing.T, r *client.RTM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := r.Send(ctx, map[string]any{"type": "ping"})
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	for {
		ev, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for pong: %v", err)
		}
		if ev.Type == "pong" && ev.ReplyTo != nil && *ev.ReplyTo == id {
			return
		}
	}
}

// twoNodes is a cluster of two nodes that both run the admin and
// gateway roles.
func twoNodes(t *testing.T) (*nodetest.Cluster, *client.API, *client.API) {
	c := nodetest.Start(t, nodetest.Spec{Name: "n1", Host: "127.0.22.1"},
		nodetest.Spec{Name: "n2", Host: "127.0.22.2", Roles: []ring.Role{ring.RoleAdmin, ring.RoleGateway}})
	return c, c.APIAt("n1", ""), c.APIAt("n2", "")
}

func as(api *client.API, tok string) *client.API { return &client.API{Base: api.Base, Token: tok} }

// TestAuthRevokeEverywhere: auth.revoke on one node makes the token
// token_revoked on the other within the bound, and closes every session
// opened with it, on both gateways; the user's other token and its
// session go on.
func TestAuthRevokeEverywhere(t *testing.T) {
	c, n1, n2 := twoNodes(t)
	_, _ = c.User("alice")
	t1, t2 := c.Token(t, "alice"), c.Token(t, "alice")
	nodetest.Call(t, as(n2, t1), "auth.test", nil, nil) // cached on n2
	s1 := nodetest.Connect(t, as(n1, t1), c.Node("n1").HTTPAddr(), nil)
	s2 := nodetest.Connect(t, as(n1, t1), c.Node("n2").HTTPAddr(), nil)
	other := nodetest.Connect(t, as(n1, t2), c.Node("n2").HTTPAddr(), nil)

	var res struct{ Revoked bool }
	nodetest.Call(t, as(n1, t1), "auth.revoke", url.Values{"test": {"1"}}, &res)
	if res.Revoked {
		t.Fatal("auth.revoke test=1 revoked")
	}
	nodetest.Call(t, as(n2, t1), "auth.test", nil, nil)
	start := time.Now()
	nodetest.Call(t, as(n1, t1), "auth.revoke", nil, &res)
	if !res.Revoked {
		t.Fatal("auth.revoke: revoked false")
	}
	if err := as(n1, t1).Call(context.Background(), "auth.test", nil, nil); !isCode(err, "token_revoked") {
		t.Fatalf("n1 at once: %v, want token_revoked", err)
	}
	nodetest.WaitFor(t, revocationBound, "n2 to refuse the revoked token", func() bool {
		return isCode(as(n2, t1).Call(context.Background(), "auth.test", nil, nil), "token_revoked")
	})
	t.Logf("revoked token refused by the other node after %v", time.Since(start))
	closedWith(t, s1, "token_revoked", websocket.StatusPolicyViolation)
	closedWith(t, s2, "token_revoked", websocket.StatusPolicyViolation)
	t.Logf("both sessions closed after %v", time.Since(start))
	if time.Since(start) > revocationBound {
		t.Fatalf("sessions closed after %v, over %v", time.Since(start), revocationBound)
	}
	alive(t, other)
	nodetest.Call(t, as(n2, t2), "auth.test", nil, nil)
	if err := as(n2, t1).Call(context.Background(), "rtm.connect", nil, nil); !isCode(err, "token_revoked") {
		t.Fatalf("rtm.connect with the revoked token: %v", err)
	}
}

// TestSetInactiveEverywhere: admin.users.setInactive refuses every token
// of the user on every node (account_inactive) and closes all their
// sessions; other users are not touched.
func TestSetInactiveEverywhere(t *testing.T) {
	c, n1, n2 := twoNodes(t)
	_, aliceID := c.User("alice")
	_, _ = c.User("bob")
	t1, t2, bob := c.Token(t, "alice"), c.Token(t, "alice"), c.Token(t, "bob")
	nodetest.Call(t, as(n2, t2), "auth.test", nil, nil)
	s1 := nodetest.Connect(t, as(n1, t1), c.Node("n1").HTTPAddr(), nil)
	s2 := nodetest.Connect(t, as(n1, t2), c.Node("n2").HTTPAddr(), nil)
	b := nodetest.Connect(t, as(n1, bob), c.Node("n2").HTTPAddr(), nil)
	admin := as(n1, c.First().AdminKey())
	if err := admin.Call(context.Background(), "admin.users.setInactive", url.Values{"user_id": {"UNOSUCH"}}, nil); !isCode(err, "user_not_found") {
		t.Fatalf("setInactive of nobody: %v", err)
	}
	start := time.Now()
	nodetest.Call(t, admin, "admin.users.setInactive", url.Values{"user_id": {aliceID}}, nil)
	nodetest.WaitFor(t, revocationBound, "n2 to refuse the inactive user", func() bool {
		return isCode(as(n2, t2).Call(context.Background(), "auth.test", nil, nil), "account_inactive")
	})
	closedWith(t, s1, "account_inactive", websocket.StatusPolicyViolation)
	closedWith(t, s2, "account_inactive", websocket.StatusPolicyViolation)
	t.Logf("inactive user refused and both sessions closed after %v", time.Since(start))
	if time.Since(start) > revocationBound {
		t.Fatalf("took %v, over %v", time.Since(start), revocationBound)
	}
	if err := as(n1, t1).Call(context.Background(), "auth.test", nil, nil); !isCode(err, "account_inactive") {
		t.Fatalf("n1: %v", err)
	}
	alive(t, b)
}

// TestRevokedTicketOpensNothing: an rtm.connect URL handed out before
// auth.revoke (or admin.users.setInactive) opens no session after it:
// the websocket gets the revocation's error event, no hello, and close
// 1008. Before, a ticket issued up to 30 s before the revocation opened
// a session that lived on with the revoked token.
func TestRevokedTicketOpensNothing(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.23.4"})
	api := c.APIAt("solo", "")
	_, aliceID := c.User("alice")
	_, _ = c.User("bob")
	for _, tt := range []struct {
		why    string
		revoke func(tok string)
	}{
		{"token_revoked", func(tok string) { nodetest.Call(t, as(api, tok), "auth.revoke", nil, nil) }},
		{"account_inactive", func(string) {
			nodetest.Call(t, as(api, c.First().AdminKey()), "admin.users.setInactive", url.Values{"user_id": {aliceID}}, nil)
		}},
	} {
		tok := c.Token(t, "alice")
		// A session of the token tells when the gateway has read the
		// revocation: it is closed then.
		watch := nodetest.Connect(t, as(api, tok), "", nil)
		ticket := rtmURL(t, as(api, tok))
		tt.revoke(tok)
		closedWith(t, watch, tt.why, websocket.StatusPolicyViolation)

		r, err := client.Dial(t.Context(), ticket, nil)
		if err != nil {
			t.Fatalf("%s: dial: %v", tt.why, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ev, err := r.Next(ctx)
		if err != nil || ev.Type != "error" || ev.Error == nil || ev.Error.Msg != tt.why || ev.Error.Code != 12 {
			t.Fatalf("%s: a ticket from before the revocation: first %v %v, want the error event", tt.why, ev, err)
		}
		_, err = r.Next(ctx)
		cancel()
		if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
			t.Fatalf("%s: then %v (close %d), want close 1008", tt.why, err, got)
		}
		nodetest.WaitFor(t, 10*time.Second, "no session open", func() bool { return sessions(t, c) == 0 })
	}
	// Other users connect as before.
	bob := as(api, c.Token(t, "bob"))
	alive(t, nodetest.Connect(t, bob, "", nil))
}

func isCode(err error, code string) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Code == code
}

// TestTicketDiesWithRestart: an rtm.connect URL, used or not, is refused
// by its gateway once that gateway has restarted (the ticket names the
// process's epoch); before, the used-nonce set died with the process and
// a used ticket was accepted again.
func TestTicketDiesWithRestart(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "api", Host: "127.0.22.3", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}},
		nodetest.Spec{Name: "gw", Host: "127.0.22.4", Roles: []ring.Role{ring.RoleGateway}})
	alice, _ := c.User("alice")
	url1, url2 := rtmURL(t, alice), rtmURL(t, alice)
	r, err := client.Dial(t.Context(), url1, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Conn.CloseNow()
	if _, err := client.Dial(t.Context(), url1, nil); err == nil {
		t.Fatal("a used ticket was accepted twice")
	}
	gwHTTP := c.Node("gw").HTTPAddr()
	c.Stop("gw")
	c.Add(nodetest.Spec{Name: "gw", Host: "127.0.22.4", Roles: []ring.Role{ring.RoleGateway},
		Tune: func(cfg *config.Config) { cfg.HTTPAddr = gwHTTP }})
	c.WaitConverged()
	nodetest.WaitFor(t, 10*time.Second, "the restarted gateway's new epoch at the admin", func() bool {
		u := rtmURL(t, alice)
		r, err := client.Dial(t.Context(), u, nil)
		if err == nil {
			r.Conn.CloseNow()
		}
		return err == nil
	})
	for name, u := range map[string]string{"used": url1, "unused": url2} {
		if !strings.Contains(u, gwHTTP) {
			t.Fatalf("%s URL %s is not the gateway's %s", name, u, gwHTTP)
		}
		if r, err := client.Dial(t.Context(), u, nil); err == nil {
			r.Conn.CloseNow()
			t.Fatalf("the %s ticket from before the restart was accepted", name)
		} else if !strings.Contains(err.Error(), "401") {
			t.Fatalf("the %s ticket: %v, want HTTP 401", name, err)
		}
	}
}

func rtmURL(t *testing.T, api *client.API) string {
	t.Helper()
	var res struct{ URL string }
	nodetest.Call(t, api, "rtm.connect", nil, &res)
	return res.URL
}

// TestStatusNeedsAdminKey: /status lists every node's internal
// addresses, /debug/pprof/ (with --pprof) serves the process's insides;
// both answer only the admin key as a bearer token. /healthz stays open.
func TestStatusNeedsAdminKey(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.22.5", Tune: func(cfg *config.Config) { cfg.Pprof = true }})
	get := func(path, header string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+c.First().HTTPAddr()+path, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, path := range []string{"/status", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		for _, tt := range []struct{ header, code string }{{"", "not_authed"}, {"Bearer wrong", "invalid_auth"}, {"Basic " + c.First().AdminKey(), "not_authed"}} {
			resp, b := get(path, tt.header)
			var body map[string]any
			json.Unmarshal(b, &body)
			if resp.StatusCode != 401 || body["error"] != tt.code || len(body) != 2 {
				t.Fatalf("%s with %q: %d %.200s", path, tt.header, resp.StatusCode, b)
			}
		}
	}
	resp, b := get("/status", "Bearer "+c.First().AdminKey())
	var st struct{ Members []any }
	if err := json.Unmarshal(b, &st); resp.StatusCode != 200 || err != nil || len(st.Members) != 1 {
		t.Fatalf("/status with the key: %d %+v %v", resp.StatusCode, st, err)
	}
	if resp, b := get("/debug/pprof/goroutine?debug=1", "Bearer "+c.First().AdminKey()); resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine profile") {
		t.Fatalf("/debug/pprof/goroutine with the key: %d %.200s", resp.StatusCode, b)
	}
	if resp, b := get("/healthz", ""); resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, b)
	}
}

// TestHTTPTimeouts: a request whose body never comes and an idle
// keep-alive connection are closed after their timeouts; a websocket
// lives on past them.
func TestHTTPTimeouts(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.22.6", Tune: func(cfg *config.Config) {
		cfg.Limits.HTTPRead, cfg.Limits.HTTPWrite, cfg.Limits.HTTPIdle = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	}})
	addr := c.First().HTTPAddr()
	closes := func(what, send string) {
		t.Helper()
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte(send))
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%s: the server kept the connection open", what)
				}
				return // closed by the server
			}
			_ = line
		}
	}
	closes("a body that never comes", "POST /api/auth.test HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntoken=")
	closes("headers that never end", "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	closes("an idle keep-alive connection", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

	alice, _ := c.User("alice")
	r := nodetest.Connect(t, alice, "", nil)
	time.Sleep(time.Second) // three times every HTTP timeout: nothing to poll for
	alive(t, r)
}

// TestDataDirIsPrivate: a new data directory and database are private
// (0700, 0600); ones an older ringcast left readable by every local user
// are made private at start.
func TestDataDirIsPrivate(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.22.7"})
	modes := func(when string) {
		t.Helper()
		for p, want := range map[string]os.FileMode{c.Dir: 0o700, c.StorePath(): 0o600, c.StorePath() + "-wal": 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: %s mode %04o, want %04o", when, filepath.Base(p), fi.Mode().Perm(), want)
			}
		}
	}
	modes("new")
	c.Stop("solo")
	for _, p := range []string{c.Dir, c.StorePath()} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(c.StorePath(), 0o644)
	c.Add(nodetest.Spec{Name: "solo", Host: "127.0.22.7"})
	c.WaitConverged()
	modes("narrowed")
}

// TestTwoClustersDifferentSecrets: two clusters on one machine, each with
// its own secret. A node of one told to join the other cannot (gossip
// is encrypted with the secret), and neither ever lists the other's
// nodes; a node with the right secret joins at once.
func TestTwoClustersDifferentSecrets(t *testing.T) {
	const secretA, secretB = "cluster-A-5Jq8Xz2Lm7Rv4Tn1Wc9Pb6Hs3Kd0Fg=", "cluster-B-8Ny3Qa6Ve1Zk9Mu4Rj7Tc2Lw5Hp0Sb="
	withSecret := func(s string, join ...string) func(*config.Config) {
		return func(c *config.Config) {
			c.Secret = s
			if len(join) > 0 {
				c.Join = join
			}
		}
	}
	a := nodetest.Start(t, nodetest.Spec{Name: "a-1", Host: "127.0.22.21", Tune: withSecret(secretA)})
	b := nodetest.Start(t, nodetest.Spec{Name: "b-1", Host: "127.0.22.22", Tune: withSecret(secretB, a.First().GossipAddr())})
	// The join happens while b-1 starts; gossip would spread a member
	// within a few rounds (20 ms here): watch for a while.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if n, m := len(a.First().View().Members), len(b.First().View().Members); n != 1 || m != 1 {
			t.Fatalf("the clusters see each other: %d and %d members", n, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.Add(nodetest.Spec{Name: "a-2", Host: "127.0.22.23", Tune: withSecret(secretA)})
	a.WaitConverged()
	if _, ok := b.First().View().Members["a-2"]; ok {
		t.Fatal("cluster B sees a-2")
	}
}

// secrets sets a node's cluster secrets (the primary first), in a key
// file as an operator would.
func secrets(t *testing.T, keys ...string) func(*config.Config) {
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) { c.SecretFile = f }
}

// delivers checks that a message posted on the channel node reaches a
// session on the gateway node: both directions of internode links work
// (the gateway's subscription, the admin's publish).
func delivers(t *testing.T, c *nodetest.Cluster, gw string, step string) {
	t.Helper()
	c.WaitConverged()
	alice, _ := c.UserWith(url.Values{"name": {"alice-" + step}, "limit_class": {"unlimited"}})
	var res struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.create", url.Values{"name": {"room-" + step}}, &res)
	r := nodetest.Connect(t, alice, c.Node(gw).HTTPAddr(), nil)
	nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {res.Channel.ID}, "text": {"hello " + step}}, nil)
	for {
		ev := nodetest.Next(t, r)
		if ev.Type == "message" && ev.Text == "hello "+step {
			return
		}
	}
}

const (
	oldSecret = "old-cluster-secret-6Tq1Zm8Vx3Rk5Nc2Bw9Ly4Hs7Pd0="
	newSecret = "new-cluster-secret-2Jd7Wm4Qa1Zr9Vt6Nc3Bx8Ly5Hs0="
)

// TestKeyRotation: the documented rotation, with a node on one step and
// a node on the next talking at every step: add the new key second
// everywhere, move it first, drop the old one (docs/SECURITY.md).
func TestKeyRotation(t *testing.T) {
	core := func(keys ...string) nodetest.Spec {
		return nodetest.Spec{Name: "core", Host: "127.0.22.31", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}, Tune: secrets(t, keys...)}
	}
	gw := func(keys ...string) nodetest.Spec {
		return nodetest.Spec{Name: "gw", Host: "127.0.22.32", Roles: []ring.Role{ring.RoleGateway}, Tune: secrets(t, keys...)}
	}
	specs := map[string]func(keys ...string) nodetest.Spec{"core": core, "gw": gw}
	c := nodetest.Start(t, core(oldSecret), gw(oldSecret))
	delivers(t, c, "gw", "0")
	for i, keys := range [][]string{
		{oldSecret, newSecret}, // 1. the new key second
		{newSecret, oldSecret}, // 2. the new key first
		{newSecret},            // 3. the old key dropped
	} {
		for _, name := range []string{"gw", "core"} { // one node at a time
			c.Stop(name)
			c.Add(specs[name](keys...))
			delivers(t, c, "gw", fmt.Sprint(i+1, name))
		}
	}
}

// TestInternodeNeedsTheSecret: with a secret, internode links are TLS.
// Someone who read the cluster key from the store but has no secret, or
// another cluster's secret, cannot open a link; neither can a holder of
// the secret under a name that is not a live member. (finding 1: a
// replayed hello was accepted as a node, received a private channel's
// messages and posted as another user.)
func TestInternodeNeedsTheSecret(t *testing.T) {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "core", Host: "127.0.22.33", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}, Tune: secrets(t, oldSecret)},
		nodetest.Spec{Name: "gw", Host: "127.0.22.34", Roles: []ring.Role{ring.RoleGateway}, Tune: secrets(t, oldSecret)})
	delivers(t, c, "gw", "tls")
	st, err := sqlite.Open(c.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hexKey, err := st.Meta(t.Context(), "cluster_key", "")
	if err != nil || hexKey == "" {
		t.Fatalf("cluster key: %q %v", hexKey, err)
	}
	clusterKey, _ := hex.DecodeString(hexKey)
	addr := c.Node("core").View().Members["core"].Internode
	tlsOf := func(name, secret string) *trust.Trust {
		tr, err := trust.New(trust.Config{Self: name, Secrets: []string{secret}})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	for what, a := range map[string]internode.Auth{
		"the cluster key, no TLS":         {Self: "gw", Key: clusterKey},
		"the cluster key, another secret": {Self: "gw", Key: clusterKey, TLS: tlsOf("gw", newSecret)},
		"the secret, not a member":        {Self: "intruder", Key: clusterKey, TLS: tlsOf("intruder", oldSecret)},
		"the secret, the node's own name": {Self: "core", Key: clusterKey, TLS: tlsOf("core", oldSecret)},
		"the secret, a wrong key":         {Self: "gw", Key: []byte("guess"), TLS: tlsOf("gw", oldSecret)},
	} {
		if l, err := internode.Dial(t.Context(), addr, internode.DialOptions{Auth: a, Peer: "core"}); err == nil {
			l.Shutdown()
			t.Errorf("%s: a link was opened", what)
		}
	}
}

// lockedBuffer is a log destination that tests read while the node
// writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the lines that contain s.
func (l *lockedBuffer) lines(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// TestBadPeersAreThrottledInTheLog: a host without the secret sending
// gossip packets that do not decrypt, or opening internode connections
// that fail their handshake, gets a few log lines, then nothing until a
// line that counts what was held back; not a line per packet (finding 5:
// every bad gossip packet or internode connection logged a line). Other
// hosts still get theirs.
func TestBadPeersAreThrottledInTheLog(t *testing.T) {
	var logs lockedBuffer
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.23.1", Tune: secrets(t, oldSecret),
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	n := c.First()
	gossip, err := net.ResolveUDPAddr("udp", n.GossipAddr())
	if err != nil {
		t.Fatal(err)
	}
	const packets, conns = 300, 40
	garbage := []byte(strings.Repeat("not a memberlist packet ", 8))
	udpFrom := func(host string, count int) {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		for range count {
			if _, err := pc.WriteToUDP(garbage, gossip); err != nil {
				t.Fatal(err)
			}
		}
	}
	udpFrom("127.0.23.9", packets)
	// memberlist reads its packets in order on one goroutine: once the
	// line about the next host's packet is out, the flood was handled.
	udpFrom("127.0.23.11", 1)
	nodetest.WaitFor(t, 10*time.Second, "the line about 127.0.23.11's packet", func() bool {
		return len(logs.lines("remote=127.0.23.11")) == 1
	})

	internodeAddr := n.View().Members["solo"].Internode
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.23.10")}, Timeout: 5 * time.Second}
	for range conns {
		nc, err := d.Dial("tcp", internodeAddr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(garbage)
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, nc); err != nil { // until the node closes it, after its line
			t.Fatalf("the node kept a garbage connection open: %v", err)
		}
		nc.Close()
	}

	for host, sent := range map[string]int{"127.0.23.9": packets, "127.0.23.10": conns} {
		got := logs.lines("remote=" + host)
		t.Logf("%s: %d bad packets or connections, %d lines", host, sent, len(got))
		if len(got) == 0 || len(got) > limit.LogRate.N {
			t.Fatalf("%d lines about %s, want 1 to %d:\n%s", len(got), host, limit.LogRate.N, strings.Join(got, "\n"))
		}
	}
	// The node is none the worse: it still serves.
	alice, _ := c.User("alice")
	nodetest.Call(t, alice, "auth.test", nil, nil)
}

// TestHTTPWriteTimeout: a client that asks for a large response and
// does not read it holds the connection only until --http-write-timeout;
// the response is cut there, not written for as long as the client
// likes.
func TestHTTPWriteTimeout(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.23.6", Tune: func(cfg *config.Config) {
		cfg.Limits.HTTPWrite = 300 * time.Millisecond
		cfg.Limits.MaxResponse = 16 << 20
	}})
	alice, _ := c.UserWith(url.Values{"name": {"alice"}, "limit_class": {"unlimited"}})
	ch := createChannel(t, alice, "big")
	worst := strings.Repeat("<", 4000) // \u003c each: 24 000 bytes of JSON
	for range 300 {
		nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {ch}, "text": {worst}}, nil)
	}
	// A reader with a small window, and a response of 7.2 MB: more than
	// the socket buffers hold (the server's grows to 4 MB, ~2.8 MB of
	// data, with Linux's default net.ipv4.tcp_wmem).
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	nc, err := d.Dial("tcp", c.First().HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "GET /api/conversations.history?channel=%s&limit=999 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", ch, alice.Token)
	time.Sleep(time.Second) // the client reads nothing for three write timeouts: nothing to poll for
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		return // cut before the headers were read: also fine
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("the whole %d-byte response was written to a client that did not read for %v", n, time.Second)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open: %v", err)
	}
	t.Logf("cut after %d bytes: %v", n, err)
}
