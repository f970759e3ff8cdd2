package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/node/proctest"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store/sqlite"
	"go.uber.org/goleak"
)

var (
	kills    = flag.Int("kills", 2, "SIGKILL/restart cycles of channel nodes")
	freezes  = flag.Int("freezes", 1, "SIGSTOP/SIGCONT cycles, each freezing a channel node and then a gateway until the others declare it dead")
	channels = flag.Int("channels", 24, "channels published to")
	rate     = flag.Float64("rate", 8, "publishes per second per channel")
	subsPer  = flag.Int("subs", 2, "subscriber sessions per gateway")
	rolling  = flag.Bool("rolling", true, "finish with a rolling SIGTERM restart of every node")
)

var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "ringcast-chaos")
	if err != nil {
		panic(err)
	}
	if bin, err = proctest.Build("..", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(nodetest.LeakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const adminKey = "xoxa-chaos-7Hq2mZ9vK4cR8tW1nB6yL3pF0sD5gJ"

type cluster struct {
	t     *testing.T
	data  string
	hosts []string // the loopback addresses of its processes, in start order
	join  string   // every host's gossip address
	procs []*proctest.Proc
	admin *proctest.Proc
}

// newCluster makes a cluster for n processes, on a block of loopback
// addresses of its own (proctest.Hosts: a concurrent make test or chaos
// run has another). Each node is given every node's gossip address, as a
// systemd deployment would be, so any of them can restart.
func newCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, data: t.TempDir(), hosts: proctest.Hosts(t, n)}
	gossip := make([]string, n)
	for i, h := range c.hosts {
		gossip[i] = h + ":7946"
	}
	c.join = strings.Join(gossip, ",")
	return c
}

// start launches a node on the cluster's next host.
func (c *cluster) start(name, roles string) *proctest.Proc {
	p := proctest.Start(c.t, bin, proctest.Options{Name: name, Host: c.hosts[len(c.procs)], Roles: roles, Join: c.join, Data: c.data,
		Extra: []string{"--admin-key", adminKey}})
	c.procs = append(c.procs, p)
	return p
}

// converged waits until every running node sees every running node.
func (c *cluster) converged(timeout time.Duration) { c.t.Helper(); c.convergedWithout("", timeout) }

// convergedWithout waits until every running process but the one named
// skip (frozen: it answers nothing) sees exactly the running processes
// but skip as members.
func (c *cluster) convergedWithout(skip string, timeout time.Duration) {
	c.t.Helper()
	want := 0
	for _, p := range c.procs {
		if p.Running() && p.Name != skip {
			want++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, p := range c.procs {
		if !p.Running() || p.Name == skip {
			continue
		}
		err := proctest.WaitHTTPAuth(ctx, "http://"+p.HTTP+"/status", adminKey, func(r *http.Response) bool {
			var st node.Status
			return json.NewDecoder(r.Body).Decode(&st) == nil && len(st.Members) == want
		})
		if err != nil {
			c.t.Fatalf("%s never saw %d members: %v", p.Name, want, err)
		}
	}
}

func (c *cluster) api(tok string) *client.API {
	return &client.API{Base: "http://" + c.admin.HTTP, Token: tok, HTTP: &http.Client{Timeout: 20 * time.Second}}
}

func (c *cluster) user(name string) (*client.API, string) {
	c.t.Helper()
	var res struct {
		Token string
		User  struct{ ID string }
	}
	// Load, not people: the harness's users are not rate-limited.
	if err := c.api(adminKey).Call(context.Background(), "admin.users.create", url.Values{"name": {name}, "limit_class": {"unlimited"}}, &res); err != nil {
		c.t.Fatal(err)
	}
	return c.api(res.Token), res.User.ID
}

// retry calls f until it succeeds or ctx ends.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// subscriber keeps one RTM session up, resuming from what it has seen,
// and records every message in the ledger.
type subscriber struct {
	name     string
	apis     []*client.API // rtm.connect tries each in turn
	channels []string
	prefer   string // gateway host:port to connect to when it is up
	ledger   *Ledger
	goodbyes atomic.Int64
	restarts atomic.Int64 // closes with 1012
	conns    atomic.Int64
}

func (s *subscriber) run(ctx context.Context) {
	for ctx.Err() == nil {
		r, err := s.connect(ctx)
		if err != nil {
			continue
		}
		s.conns.Add(1)
		for {
			ev, err := r.Next(ctx)
			if err != nil {
				if websocket.CloseStatus(err) == websocket.StatusServiceRestart {
					s.restarts.Add(1)
				}
				r.Conn.CloseNow()
				break
			}
			switch {
			case ev.Seq != 0: // an entry of the channel's log
				s.ledger.Delivered(s.name, ev.ChannelID(), ev.Seq, entryKey(ev))
			case ev.Type == "goodbye":
				s.goodbyes.Add(1)
			}
		}
	}
}

func (s *subscriber) connect(ctx context.Context) (*client.RTM, error) {
	last := s.ledger.Last(s.name)
	resume := map[string]uint64{}
	for _, ch := range s.channels {
		resume[ch] = last[ch] // 0: from the first message
	}
	var u string
	for i := 0; ; i++ {
		var res struct{ URL string }
		err := s.apis[i%len(s.apis)].Call(ctx, "rtm.connect", nil, &res)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil && (strings.Contains(res.URL, "//"+s.prefer+"/") || i >= 6) {
			u = res.URL
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := client.Dial(dctx, u, resume)
	if err != nil {
		time.Sleep(50 * time.Millisecond)
		return nil, err
	}
	ev, err := r.Next(dctx)
	if err != nil || ev.Type != "hello" {
		r.Conn.CloseNow()
		return nil, errors.Join(err, errors.New("no hello"))
	}
	return r, nil
}

// entryKey is what the ledger compares of a log entry's event: a
// message's text; for a change, its kind and what it changed, as the
// publisher records it (changeKey).
func entryKey(ev *client.Event) string {
	var x struct {
		Message   struct{ Text string }
		DeletedTS string `json:"deleted_ts"`
		Reaction  string
		Item      struct{ TS string }
	}
	json.Unmarshal(ev.Raw, &x)
	switch {
	case ev.Subtype == "message_changed":
		return "edit:" + x.Message.Text
	case ev.Subtype == "message_deleted":
		return "delete:" + x.DeletedTS
	case ev.Type == "reaction_added":
		return "react+:" + x.Reaction + ":" + x.Item.TS
	case ev.Type == "reaction_removed":
		return "react-:" + x.Reaction + ":" + x.Item.TS
	}
	return ev.Text
}

// change makes the n-th tick's change, if any, to the messages the
// publisher posted (ts by tick): an edit, a reaction added then
// removed, a delete. It retries what failed without effect
// (service_unavailable and the like) and returns the entry's seq and the
// ledger's key for it; ok is false when the tick makes no change.
func change(ctx context.Context, apis []*client.API, ch string, n int, ts map[int]string) (seq uint64, key string, ok bool, err error) {
	var method string
	args := url.Values{"channel": {ch}}
	switch n % 10 {
	case 3: // edit the previous message
		method, key = "chat.update", fmt.Sprintf("edit:%s-%d edited", ch, n-1)
		args.Set("ts", ts[n-1])
		args.Set("text", fmt.Sprintf("%s-%d edited", ch, n-1))
	case 6: // react to the previous message ...
		method, key = "reactions.add", "react+:eyes:"+ts[n-1]
		args.Set("timestamp", ts[n-1])
		args.Set("name", "eyes")
	case 7: // ... and take it back
		method, key = "reactions.remove", "react-:eyes:"+ts[n-2]
		args.Set("timestamp", ts[n-2])
		args.Set("name", "eyes")
	case 9: // delete the previous message
		method, key = "chat.delete", "delete:"+ts[n-1]
		args.Set("ts", ts[n-1])
	default:
		return 0, "", false, nil
	}
	if args.Get("ts") == "" && args.Get("timestamp") == "" {
		return 0, "", false, nil // that message was never acked
	}
	var res struct{ Seq uint64 }
	for try := n; ; try++ {
		err = apis[try%len(apis)].Call(ctx, method, args, &res)
		var ae *client.APIError
		switch {
		case err == nil:
			return res.Seq, key, true, nil
		case errors.As(err, &ae) && ae.Code != "service_unavailable" && ae.Code != "internal_error" && ae.Code != "ratelimited":
			return 0, key, true, err // refused: retrying changes nothing
		}
		select {
		case <-ctx.Done():
			return 0, key, true, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// publisher posts to one channel at a steady rate, one message at a time,
// retrying each (same client_msg_id) until it is acked, and after some
// makes a change (change). With several admin endpoints, successive
// messages and retries take them in turn. It counts the messages and
// the changes it sent.
func publish(ctx context.Context, apis []*client.API, ch string, every time.Duration, l *Ledger, sent, changes *atomic.Int64) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	posted := map[int]string{} // tick -> ts of the message it posted
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		text := fmt.Sprintf("%s-%d", ch, n)
		args := url.Values{"channel": {ch}, "text": {text}, "client_msg_id": {text}}
		sentAt := time.Now()
		deadline, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		var res struct {
			TS      string
			Message struct{ Seq uint64 }
		}
		try := n
		err := retry(deadline, func() error {
			try++
			return apis[try%len(apis)].Call(deadline, "chat.postMessage", args, &res)
		})
		cancel()
		sent.Add(1)
		if err != nil {
			l.Failed()
			continue
		}
		l.Acked(ch, res.Message.Seq, text, sentAt, time.Now())
		posted[n] = res.TS
		delete(posted, n-10)
		changedAt := time.Now()
		deadline, cancel = context.WithTimeout(context.Background(), 60*time.Second)
		seq, key, ok, err := change(deadline, apis, ch, n, posted)
		cancel()
		switch {
		case !ok:
		case err != nil:
			l.Failed() // a change given up on, or refused after a retry whose first try went through
		default:
			changes.Add(1)
			l.Acked(ch, seq, key, changedAt, time.Now())
		}
	}
}

// TestChaos: publish steadily while channel nodes are SIGKILLed and
// restarted, then freeze channel nodes and gateways (SIGSTOP) until they
// are declared dead and let them run again with their stale state, then
// restart every node with SIGTERM; nothing
// acked may be lost, duplicated or reordered for any subscriber.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos runs processes for a minute")
	}
	c := newCluster(t, 6)
	c.admin = c.start("adm-1", "admin")
	gws := []*proctest.Proc{c.start("gw-1", "gateway"), c.start("gw-2", "gateway")}
	chs := []*proctest.Proc{
		c.start("ch-1", "channel"),
		c.start("ch-2", "channel"),
		c.start("ch-3", "channel"),
	}
	c.converged(30 * time.Second)

	pub, _ := c.user("publisher")
	ledger := NewLedger()
	var chans []string
	for i := range *channels {
		var res struct{ Channel struct{ ID string } }
		if err := pub.Call(context.Background(), "conversations.create", url.Values{"name": {fmt.Sprint("chaos-", i)}}, &res); err != nil {
			t.Fatal(err)
		}
		chans = append(chans, res.Channel.ID)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var subs []*subscriber
	var wg sync.WaitGroup
	for gi, gw := range gws {
		for i := range *subsPer {
			api, _ := c.user(fmt.Sprintf("sub-%d-%d", gi, i))
			for _, ch := range chans {
				if err := api.Call(context.Background(), "conversations.join", url.Values{"channel": {ch}}, nil); err != nil {
					t.Fatal(err)
				}
			}
			s := &subscriber{name: fmt.Sprintf("sub-%d-%d", gi, i), apis: []*client.API{api}, channels: chans, prefer: gw.HTTP, ledger: ledger}
			subs = append(subs, s)
			wg.Add(1)
			go func() { defer wg.Done(); s.run(ctx) }()
		}
	}
	var sent, changes atomic.Int64
	pubCtx, stopPub := context.WithCancel(ctx)
	var pubWG sync.WaitGroup
	for _, ch := range chans {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			publish(pubCtx, []*client.API{pub}, ch, time.Duration(float64(time.Second) / *rate), ledger, &sent, &changes)
		}()
	}
	time.Sleep(2 * time.Second)

	// SIGKILL a channel node, measure until every channel it owned has
	// an ack again, restart it under the same name and data.
	var failovers Durations
	for k := range *kills {
		victim := chs[k%len(chs)]
		var names []string
		for _, p := range chs {
			names = append(names, p.Name)
		}
		rg := ring.New(names, 0)
		var owned []string
		for _, ch := range chans {
			if rg.Owner(ch) == victim.Name {
				owned = append(owned, ch)
			}
		}
		t0 := time.Now()
		victim.Kill()
		var worst time.Duration
		for _, ch := range owned {
			for {
				if at, ok := ledger.FirstAckAfter(ch, t0); ok {
					worst = max(worst, at.Sub(t0))
					break
				}
				if time.Since(t0) > 30*time.Second {
					t.Fatalf("kill %d (%s): channel %s has no ack 30s after the kill", k, victim.Name, ch)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		failovers = append(failovers, worst)
		t.Logf("kill %d: %s (owned %d channels), traffic flowing again after %v", k, victim.Name, len(owned), worst.Round(time.Millisecond))
		if err := victim.Restart(); err != nil {
			t.Fatal(err)
		}
		c.converged(30 * time.Second)
		time.Sleep(time.Second)
	}

	// SIGSTOP a channel node until the others declare it dead and its
	// channels have moved (a VM pause, a long stall), then let it run:
	// it comes back believing it still owns them, with stale state.
	// Then the same for a gateway: its subscribers' sessions stay open
	// through the stall and must miss nothing.
	for k := range *freezes {
		for _, victim := range []*proctest.Proc{chs[(k+1)%len(chs)], gws[k%len(gws)]} {
			t0 := time.Now()
			if err := victim.Freeze(); err != nil {
				t.Fatal(err)
			}
			c.convergedWithout(victim.Name, 30*time.Second)
			t.Logf("freeze %d: %s declared dead after %v", k, victim.Name, time.Since(t0).Round(time.Millisecond))
			time.Sleep(time.Second) // traffic flows on without it
			if err := victim.Thaw(); err != nil {
				t.Fatal(err)
			}
			c.converged(30 * time.Second)
			time.Sleep(2 * time.Second)
		}
	}

	if *rolling {
		for _, p := range c.procs {
			if err := p.Stop(30 * time.Second); err != nil {
				t.Fatalf("SIGTERM %s: %v", p.Name, err)
			}
			if err := p.Restart(); err != nil {
				t.Fatal(err)
			}
			c.converged(30 * time.Second)
			time.Sleep(500 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	stopPub()
	pubWG.Wait()

	// Drain: every subscriber catches up to every acked message.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := ledger.Check()
		if r.OK() || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	r := ledger.Check()
	var goodbyes, restarts, conns int64
	for _, s := range subs {
		goodbyes += s.goodbyes.Load()
		restarts += s.restarts.Load()
		conns += s.conns.Load()
	}
	t.Logf("chaos: %d kills, %d freezes, rolling restart %v, messages sent %d, changes acked %d (edits, reactions added and removed, deletes)",
		*kills, *freezes, *rolling, sent.Load(), changes.Load())
	t.Logf("chaos: %v", r)
	t.Logf("chaos: subscriber connections %d, goodbyes %d, closes with 1012 %d", conns, goodbyes, restarts)
	t.Logf("chaos: failover (kill -> every owned channel acked again): %v", failovers)
	for _, p := range r.Problems {
		t.Log(p)
	}
	if !r.OK() {
		t.Fatal("delivery guarantees violated")
	}
	if r.Acked == 0 || r.Delivered == 0 {
		t.Fatal("nothing was published or delivered")
	}
	if *rolling && (goodbyes == 0 || restarts == 0) {
		t.Fatalf("rolling restart of gateways produced %d goodbyes and %d 1012 closes", goodbyes, restarts)
	}
	for _, p := range c.procs {
		if strings.Contains(p.Log(), "onflicting address") {
			t.Fatalf("%s logged a conflicting address after a restart", p.Name)
		}
	}

	// Nothing unacked appears twice: every message text is in the log at most once.
	for _, p := range c.procs {
		p.Stop(30 * time.Second)
	}
	st, err := sqlite.Open(filepath.Join(c.data, "ringcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkStoredLog(t, st, chans)
}
