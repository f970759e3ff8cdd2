package chaos

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringcast/ringcast/bench"
	"github.com/ringcast/ringcast/chaos/netlab"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/proctest"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/postgres"
	"github.com/ringcast/ringcast/store/postgres/pgtest"
)

var hosts = flag.Bool("hosts", false, "run the multi-host tests: hosts in network namespaces on a bridge, PostgreSQL on one of them (make test-hosts, make bench-hosts; root, iproute2, nftables, postgresql)")

// The lab's names and addresses: every namespace, bridge and veth
// starts with labPrefix, and the hosts live in labNet.0/16.
const (
	labPrefix = "rc13"
	labNet    = "10.13.0"
	labSecret = "hosts-9fK2qLm7Xc4Vb8Nz1Rt6Yw3Pd5Gh0Js"
)

// hostSpec is one ringcast host: its name and roles, and whether its
// client port is reached through a relay that can delay it.
type hostSpec struct {
	name, roles string
	relay       bool
	env         []string // more environment for its process
}

// hostLab is a PostgreSQL host and ringcast hosts, one process each.
type hostLab struct {
	*cluster
	lab    *netlab.Lab
	url    string // the database, reached over the bridge
	host   map[string]*netlab.Host
	proc   map[string]*proctest.Proc
	relay  map[string]*netlab.Relay
	join   string
	tokens string
}

// startHostLab builds the lab: a database host, then one host per spec
// in order, the first running of them each running one ringcast process
// from the built binary with its own data directory (no file is shared
// between hosts), all on one PostgreSQL database reached across the
// bridge.
func startHostLab(t *testing.T, specs []hostSpec, running int) *hostLab {
	t.Helper()
	if !*hosts {
		t.Skip("skipped: the multi-host tests run with make test-hosts (-hosts)")
	}
	netlab.Require(t)
	if _, err := pgtest.Binaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, and %v", err)
		}
		t.Skipf("skipped: %v", err)
	}
	lab := netlab.New(t, labPrefix, labNet)
	db := lab.AddHost("db")
	l := &hostLab{cluster: &cluster{t: t}, lab: lab, host: map[string]*netlab.Host{},
		proc: map[string]*proctest.Proc{}, relay: map[string]*netlab.Relay{}}
	var gossip []string
	for _, s := range specs {
		h := lab.AddHost(s.name)
		l.host[s.name] = h
		gossip = append(gossip, h.IP+":7946")
	}
	l.join = strings.Join(gossip, ",")
	srv, err := pgtest.Start(pgtest.Options{Listen: db.IP, Wrap: db.Wrap()})
	if err != nil {
		t.Fatalf("PostgreSQL on host db: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if l.url, _, err = pgtest.CreateDB(ctx, srv.URL("postgres")); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs[:running] {
		l.start(s)
	}
	l.converged(60 * time.Second)
	return l
}

// start launches the host's process.
func (l *hostLab) start(s hostSpec, env ...string) *proctest.Proc {
	l.t.Helper()
	h := l.host[s.name]
	// Hosts bind non-loopback addresses, so the cluster needs its secret;
	// it goes in the environment, not argv.
	o := proctest.Options{Name: s.name, Host: h.IP, Roles: s.roles, Join: l.join, Data: l.t.TempDir(), Wrap: h.Wrap(),
		Extra: []string{"--store", l.url, "--admin-key", adminKey},
		Env:   append(append([]string{"RINGCAST_SECRET=" + labSecret}, s.env...), env...)}
	if s.relay {
		// The node serves on its loopback; the address it advertises (and
		// rtm.connect hands out) is a relay on the host's interface.
		r, err := netlab.NewRelay(h, h.IP+":8080", "127.0.0.1:8080")
		if err != nil {
			l.t.Fatal(err)
		}
		l.t.Cleanup(func() { r.Close() })
		l.relay[s.name] = r
		o.HTTPBind = "127.0.0.1:8080"
		o.Extra = append(o.Extra, "--advertise", h.IP)
	}
	p := proctest.Start(l.t, bin, o)
	l.procs = append(l.procs, p)
	l.proc[s.name] = p
	if l.admin == nil && strings.Contains(s.roles, "admin") {
		l.admin = p
	}
	return p
}

// apis returns a client of the Web API on each named host, with token.
func (l *hostLab) apis(token string, names ...string) []*client.API {
	var out []*client.API
	for _, n := range names {
		api := l.api(token)
		api.Base = "http://" + l.proc[n].HTTP
		out = append(out, api)
	}
	return out
}

// waitFor polls cond until it is true, failing the test after timeout;
// it returns how long it took from since.
func waitFor(t *testing.T, since time.Time, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s", what, timeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fault is what one fault cost.
type fault struct {
	name, injected       string
	failover, converge   time.Duration // fault -> traffic flowing again; heal -> every node sees every node
	live                 time.Duration // heal -> every client has what was published after it
	failoverWhat, detail string
}

// TestHosts: five ringcast hosts (2 gateway+admin, 2 channel+presence,
// 1 admin+channel) and a PostgreSQL host, each a network namespace on a
// bridge, under steady publishing and resuming subscribers that reach
// them across the bridge, through four faults: a channel host cut off
// completely; the admin+channel host cut off from its peers but not from
// PostgreSQL or clients (a split brain: it goes on writing as the owner
// of every channel, and so do the others); a gateway's links degraded
// (5% loss, 50±20 ms); a gateway and a channel host SIGKILLed together
// and restarted. Nothing acked may be lost, duplicated or reordered,
// every client must be live again after each, and the stored log must be
// dense.
func TestHosts(t *testing.T) {
	l := startHostLab(t, []hostSpec{
		{name: "gw1", roles: "gateway,admin", relay: true},
		{name: "gw2", roles: "gateway,admin"},
		{name: "ch1", roles: "channel,presence"},
		{name: "ch2", roles: "channel,presence"},
		{name: "ad1", roles: "admin,channel"},
	}, 5)
	pub, _ := l.user("publisher")
	pubs := l.apis(pub.Token, "gw1", "gw2", "ad1")
	ledger := NewLedger()
	var chans []string
	for i := range *channels {
		var res struct{ Channel struct{ ID string } }
		if err := pub.Call(context.Background(), "conversations.create", url.Values{"name": {fmt.Sprint("hosts-", i)}}, &res); err != nil {
			t.Fatal(err)
		}
		chans = append(chans, res.Channel.ID)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var subs []*subscriber
	var wg sync.WaitGroup
	for _, gw := range []string{"gw1", "gw2"} {
		for i := range *subsPer {
			name := fmt.Sprintf("sub-%s-%d", gw, i)
			api, _ := l.user(name)
			for _, ch := range chans {
				if err := api.Call(context.Background(), "conversations.join", url.Values{"channel": {ch}}, nil); err != nil {
					t.Fatal(err)
				}
			}
			s := &subscriber{name: name, apis: l.apis(api.Token, gw, "gw1", "gw2"), channels: chans,
				prefer: l.proc[gw].HTTP, ledger: ledger}
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
			publish(pubCtx, pubs, ch, time.Duration(float64(time.Second) / *rate), ledger, &sent, &changes)
		}()
	}
	t0 := time.Now()
	waitFor(t, t0, 60*time.Second, "every subscriber receives", func() (bool, string) {
		lag := ledger.Lagging(t0)
		return len(lag) == 0 && ledger.Check().Delivered > 0, strings.Join(lag, "; ")
	})

	// owned lists the channels the named node owns while every channel
	// node is up (the ring is computed as the nodes compute it).
	owned := func(name string) []string {
		rg := ring.New([]string{"ch1", "ch2", "ad1"}, 0)
		var out []string
		for _, ch := range chans {
			if rg.Owner(ch) == name {
				out = append(out, ch)
			}
		}
		return out
	}
	// flowing waits until each of chs has an ack for a publish sent
	// after t0.
	flowing := func(t0 time.Time, chs []string) time.Duration {
		var worst time.Duration
		for _, ch := range chs {
			waitFor(t, t0, 60*time.Second, "acks on "+ch, func() (bool, string) {
				_, ok := ledger.FirstAckAfter(ch, t0)
				return ok, "no ack"
			})
			at, _ := ledger.FirstAckAfter(ch, t0)
			worst = max(worst, at.Sub(t0))
		}
		return worst
	}
	live := func(t1 time.Time) time.Duration {
		return waitFor(t, t1, 90*time.Second, "every client live again", func() (bool, string) {
			lag := ledger.Lagging(t1)
			if len(lag) > 3 {
				lag = append(lag[:3], fmt.Sprintf("and %d more", len(lag)-3))
			}
			return len(lag) == 0, strings.Join(lag, "; ")
		})
	}
	converge := func(t1 time.Time) time.Duration {
		l.converged(60 * time.Second)
		return time.Since(t1)
	}
	var faults []fault

	// 1. A channel host cut off completely.
	{
		f := fault{name: "ch1 cut off", injected: "ip link set eth0 down in ch1's namespace", failoverWhat: fmt.Sprintf("its %d channels acked again", len(owned("ch1")))}
		t0 := time.Now()
		if err := l.host["ch1"].LinkDown(); err != nil {
			t.Fatal(err)
		}
		f.failover = flowing(t0, owned("ch1"))
		time.Sleep(2 * time.Second)
		t1 := time.Now()
		if err := l.host["ch1"].LinkUp(); err != nil {
			t.Fatal(err)
		}
		f.converge, f.live = converge(t1), live(t1)
		faults = append(faults, f)
	}

	// 2. Split brain: ad1 (admin+channel) cut off from its peers while it
	// still reaches PostgreSQL and the clients. It declares the others
	// dead and owns every channel; they declare it dead and own its
	// channels; publishers post through both sides.
	fencedBefore := countLog(l, "fenced: another node wrote this channel")
	{
		f := fault{name: "ad1 split brain", injected: "nftables in ad1's namespace drops packets to and from the other ringcast hosts (not db, not the test)",
			failoverWhat: "the others declare ad1 dead"}
		t0 := time.Now()
		if err := l.host["ad1"].Isolate(l.lab.Hosts()[0].IP); err != nil {
			t.Fatal(err)
		}
		l.convergedWithout("ad1", 60*time.Second)
		f.failover = time.Since(t0)
		time.Sleep(5 * time.Second) // both sides write
		t1 := time.Now()
		if err := l.host["ad1"].Heal(); err != nil {
			t.Fatal(err)
		}
		f.converge, f.live = converge(t1), live(t1)
		f.detail = fmt.Sprintf("%d appends fenced by the store", countLog(l, "fenced: another node wrote this channel")-fencedBefore)
		faults = append(faults, f)
	}
	if countLog(l, "fenced: another node wrote this channel") == fencedBefore {
		t.Error("the split brain wrote no seq that the store had to refuse: fencing was not exercised")
	}

	// 3. A gateway's links degraded.
	{
		f := fault{name: "gw1 degraded", failoverWhat: "every client live under it: has what was published after it began",
			injected: "nftables numgen drops 5% of gw1's packets in and out (all traffic); its clients' TCP streams go through a relay holding each chunk 50±20 ms each way"}
		t0 := time.Now()
		if err := l.host["gw1"].Loss(5); err != nil {
			t.Fatal(err)
		}
		l.relay["gw1"].SetDelay(50*time.Millisecond, 20*time.Millisecond)
		f.failover = live(t0)
		time.Sleep(time.Until(t0.Add(10 * time.Second)))
		t1 := time.Now()
		l.relay["gw1"].SetDelay(0, 0)
		if err := l.host["gw1"].Heal(); err != nil {
			t.Fatal(err)
		}
		p50, p99 := ledger.AckLatency(t0, t1)
		f.detail = fmt.Sprintf("ack p50 %v p99 %v during", p50.Round(time.Millisecond), p99.Round(time.Millisecond))
		f.converge, f.live = converge(t1), live(t1)
		faults = append(faults, f)
	}

	// 4. A gateway and a channel host SIGKILLed together, then restarted.
	{
		f := fault{name: "gw2+ch2 SIGKILL", injected: "SIGKILL to the ringcast processes of gw2 and ch2, both restarted once every client was live again without them",
			failoverWhat: fmt.Sprintf("ch2's %d channels acked again", len(owned("ch2")))}
		t0 := time.Now()
		l.proc["gw2"].Kill()
		l.proc["ch2"].Kill()
		f.failover = flowing(t0, owned("ch2"))
		moved := live(t0) // gw2's clients on gw1, ch2's channels on their new owners
		f.detail = fmt.Sprintf("every client live again %v after the kill, before the restarts", moved.Round(time.Millisecond))
		time.Sleep(time.Until(t0.Add(max(moved, 3*time.Second) + time.Second)))
		t1 := time.Now()
		for _, n := range []string{"gw2", "ch2"} {
			if err := l.proc[n].Restart(); err != nil {
				t.Fatal(err)
			}
		}
		f.converge, f.live = converge(t1), live(t1)
		faults = append(faults, f)
	}

	time.Sleep(2 * time.Second)
	stopPub()
	pubWG.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for !ledger.Check().OK() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	r := ledger.Check()
	t.Logf("hosts: messages sent %d, changes acked %d; %v", sent.Load(), changes.Load(), r)
	for _, f := range faults {
		t.Logf("hosts: %-16s failover %-8v (%s); re-converged %-8v after the heal; every client live %v after the heal; %s. Injected: %s",
			f.name, f.failover.Round(time.Millisecond), f.failoverWhat, f.converge.Round(time.Millisecond), f.live.Round(time.Millisecond), f.detail, f.injected)
	}
	for _, p := range r.Problems {
		t.Log(p)
	}
	if !r.OK() || r.Acked == 0 {
		t.Fatal("delivery guarantees violated")
	}
	st, err := postgres.Open(context.Background(), l.url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkStoredLog(t, st, chans)
}

// countLog counts the lines of every process's log holding s.
func countLog(l *hostLab, s string) int {
	n := 0
	for _, p := range l.procs {
		n += strings.Count(p.Log(), s)
	}
	return n
}

// checkStoredLog: each channel's log in the store is dense and holds
// every message's text at most once (a retried publish was not written
// twice).
func checkStoredLog(t *testing.T, st store.Store, chans []string) {
	t.Helper()
	for _, ch := range chans {
		msgs, err := st.Messages(context.Background(), ch, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]uint64{}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				t.Fatalf("%s: stored log not dense at %d (seq %d)", ch, i, m.Seq)
			}
			if m.Kind() != chat.KindMessage {
				continue // a change: not idempotent, a retry after a lost answer may make it twice
			}
			if prev, dup := seen[m.Text]; dup {
				t.Fatalf("%s: %q stored twice, as seq %d and %d", ch, m.Text, prev, m.Seq)
			}
			seen[m.Text] = m.Seq
		}
	}
}

var fanoutProcs = flag.Int("fanout-gomaxprocs", 0, "TestHostsFanout: GOMAXPROCS of the gateway processes (0: the default, one per core)")

var fanoutOrder = flag.String("fanout-gateways", "1,2,4,4,2,1", "TestHostsFanout: the gateway counts to measure, in this order (alternating cancels drift)")

// TestHostsFanout measures the two-level fan-out across hosts: one
// channel with 1000 subscribers at 50 messages/s, the subscribers spread
// by rtm.connect over 1, 2 and 4 gateway hosts; deliveries per CPU-second
// of every ringcast process together, p99, and what the processes spend
// idle (gossip, leases) over the same time. (make bench-hosts; a
// measurement, it asserts only that nothing was lost.)
func TestHostsFanout(t *testing.T) {
	specs := []hostSpec{{name: "ch1", roles: "channel,presence"}, {name: "ad1", roles: "admin"},
		{name: "gw1", roles: "gateway"}, {name: "gw2", roles: "gateway"}, {name: "gw3", roles: "gateway"}, {name: "gw4", roles: "gateway"}}
	var env []string
	if *fanoutProcs > 0 {
		env = append(env, fmt.Sprint("GOMAXPROCS=", *fanoutProcs))
		specs[2].env = env
	}
	l := startHostLab(t, specs, 3)
	for _, f := range strings.Split(*fanoutOrder, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 4 {
			t.Fatalf("-fanout-gateways: %q is not 1 to 4", f)
		}
		// Exactly gw1..gwn running.
		for i := 1; i <= 4; i++ {
			name := fmt.Sprint("gw", i)
			p := l.proc[name]
			switch {
			case i <= n && p == nil:
				l.start(specs[1+i], env...)
			case i <= n && !p.Running():
				if err := p.Restart(); err != nil {
					t.Fatal(err)
				}
			case i > n && p != nil && p.Running():
				if err := p.Stop(30 * time.Second); err != nil {
					t.Fatal(err)
				}
			}
		}
		l.converged(60 * time.Second)
		var pids []string
		for _, p := range l.procs {
			if p.Running() {
				pids = append(pids, strconv.Itoa(p.Pid()))
			}
		}
		idle := idleCPU(t, pids, 5*time.Second)
		out, err := exec.Command(bin, "bench", "--url", "http://"+l.proc["ad1"].HTTP, "--admin-key", adminKey,
			"--pid", strings.Join(pids, ","), "--json", "--scenario", "fanout", "--subs", "1000", "--rate", "50",
			"--duration", "15s").Output()
		if err != nil {
			t.Fatalf("bench with %d gateways: %v\n%s", n, err, out)
		}
		var res bench.Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("bench output: %v\n%s", err, out)
		}
		if res.Delivery == nil || res.Server == nil {
			t.Fatalf("bench output without delivery or server figures:\n%s", out)
		}
		d := res.Delivery
		t.Logf("fanout across hosts: %d gateway host(s): %.0f deliveries/s, %.0f deliveries per CPU-second of all %d ringcast processes (%.2f s CPU in %.0f s), p50 %.1f ms, p99 %.1f ms, lost %d; idle the same processes use %.3f CPU-s per second",
			n, d.PerSec, res.Server.DeliveriesPerCPUSecond, len(pids), res.Server.CPUSeconds, res.WindowS, d.Latency.P50Ms, d.Latency.P99Ms, d.Lost, idle)
		if !res.OK || d.Lost != 0 {
			t.Errorf("%d gateways: the run was not clean:\n%s", n, out)
		}
	}
}

// idleCPU is the CPU-seconds per second the processes spend over d while
// nothing is sent.
func idleCPU(t *testing.T, pids []string, d time.Duration) float64 {
	t.Helper()
	cpu := func() time.Duration {
		var sum time.Duration
		for _, pid := range pids {
			b, err := os.ReadFile("/proc/" + pid + "/stat")
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			sum += time.Duration(ut+st) * 10 * time.Millisecond
		}
		return sum
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(d)
	return (cpu() - c0).Seconds() / time.Since(t0).Seconds()
}
