package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
)

// runner is one run: its configuration, what it provisioned, its
// sessions and publishers, and the counters they share.
type runner struct {
	cfg      Config
	log      *slog.Logger
	progress io.Writer
	// halt ends on interrupt and when the teardown starts: it bounds
	// what sessions do on their own (reconnecting).
	halt  context.Context
	stop  context.CancelFunc
	conns *connSet // every websocket's TCP connection

	// Timings, set by newRunner (tests shorten them).
	sendGrace     time.Duration // see defaultSendGrace
	closeTimeout  time.Duration // see defaultCloseTimeout
	progressEvery time.Duration // between progress lines

	apiHC  *http.Client
	wsOpts *websocket.DialOptions
	bufs   *sync.Pool

	runID    string
	chans    []*benchChan
	users    []*benchUser
	pubUsers []*benchUser
	owner    *benchUser
	joins    int
	sessions []*session
	pubs     []*publisher

	live, measured, ackLat *Sharded
	connLat                Histogram
	winStart, winEnd       atomic.Int64 // unix nanos: intended send times of the measured window
	stopping               atomic.Bool
	opened                 atomic.Int64 // sessions that received their first hello
	readers                sync.WaitGroup

	connectRetries, connectFailures atomic.Int64
	disconnects, slowDisconnects    atomic.Int64
	reconnects, reconnectFailures   atomic.Int64
	goodbyes                        atomic.Int64
	seqMismatch                     atomic.Uint64
	errMu                           sync.Mutex
	errs                            map[string]uint64
	notes                           []string
}

// Run runs one benchmark against the cluster at cfg.URL and returns its
// result. Progress, when not nil, receives a one-line status every second
// (meant for a terminal). Run cleans up what it provisioned even when ctx
// ends early; the result then says so.
func Run(ctx context.Context, cfg Config, log *slog.Logger, progress io.Writer) (*Result, error) {
	r, err := newRunner(cfg, log, progress)
	if err != nil {
		return nil, err
	}
	if r.cfg.Scenario == App {
		return runApp(ctx, r.cfg)
	}
	return r.run(ctx)
}

// newRunner validates cfg and prepares a run.
func newRunner(cfg Config, log *slog.Logger, progress io.Writer) (*runner, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	shards := 4 * runtime.GOMAXPROCS(0)
	r := &runner{
		cfg: cfg, log: log, progress: progress,
		bufs: bufPool(), errs: map[string]uint64{}, conns: newConnSet(),
		sendGrace: defaultSendGrace, closeTimeout: defaultCloseTimeout, progressEvery: time.Second,
		live: NewSharded(shards), measured: NewSharded(shards), ackLat: NewSharded(shards),
	}
	r.winStart.Store(1<<63 - 1)
	r.winEnd.Store(1<<63 - 1)
	return r, nil
}

// apiIdleConns is how many idle Web API connections to keep: with
// --via http every worker of every publisher has a call going on, and a
// smaller pool would close and reopen connections all run long.
func apiIdleConns(cfg Config) int {
	if cfg.Via == ViaHTTP && cfg.publishes() {
		return max(256, cfg.Publishers*cfg.Inflight)
	}
	return 256
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	r.halt, r.stop = context.WithCancel(ctx)
	defer r.stop()
	res := newResult(cfg)
	need := cfg.Subs + cfg.Publishers + 64 // websockets, and a few Web API connections
	if cfg.Via == ViaHTTP {
		need += cfg.Publishers * cfg.Inflight
	}
	if lim, err := raiseFileLimit(); err != nil {
		r.note("could not raise the open file limit: %v", err)
	} else if lim > 0 && lim < uint64(need) {
		r.note("the open file limit (%d) is below what the run needs (%d): connections will fail", lim, need)
	}
	ips, _ := parseIPs(cfg.LocalIPs)
	r.apiHC = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: apiIdleConns(cfg)}}
	r.wsOpts = &websocket.DialOptions{HTTPClient: wsClient(ips, r.conns, nil)}
	defer r.apiHC.CloseIdleConnections()

	if len(cfg.Pids) > 0 {
		if _, err := readServers(cfg.Pids); err != nil {
			return nil, fmt.Errorf("--pid: %w", err)
		}
	}

	r.plan()
	res.RunID = r.runID
	t0 := time.Now()
	err := r.provision(ctx)
	res.Provision = ProvisionResult{Users: 1 + len(r.users) + len(r.pubUsers), Channels: len(r.chans),
		Joins: r.joins, Seconds: time.Since(t0).Seconds()}
	// Whatever happens from here, leave the channels and close every
	// websocket before returning.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if n := r.cleanup(cctx); n > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%d conversations.leave calls failed: those users are still members", n))
		}
	}()
	if err != nil {
		return nil, err
	}
	// The baseline of the memory per connection: after provisioning
	// (which costs the server memory too), before any session.
	var srv0 ProcSample
	if len(cfg.Pids) > 0 {
		srv0, _ = readServers(cfg.Pids)
	}
	self0, _ := readProc("self")

	// Sessions: subscribers, then the publishers' own websockets.
	for i := range cfg.Subs {
		r.sessions = append(r.sessions, newSession(r, i, r.users[i%len(r.users)]))
	}
	for i, u := range r.pubUsers {
		p := newPublisher(r, i, u)
		if cfg.Via == ViaRTM {
			p.sess = newSession(r, len(r.sessions), u)
			p.sess.pub = p
			p.sess.opts = &websocket.DialOptions{HTTPClient: wsClient(ips, r.conns, func(c net.Conn) net.Conn {
				b := &batchConn{Conn: c}
				p.sess.out.Store(b)
				return b
			})}
			r.sessions = append(r.sessions, p.sess)
		}
		r.pubs = append(r.pubs, p)
	}
	stopProgress := r.startProgress() // reads r.sessions and r.pubs: after they are built
	a := r.sample()
	res.Connect = r.connectAll(ctx)
	defer r.teardown()
	if cfg.Scenario == Connect {
		r.procWindow(res, a, r.sample()) // the window is the connecting
	}

	switch {
	case ctx.Err() != nil:
	case cfg.Scenario == Idle:
		a := r.sample()
		sleepCtx(ctx, cfg.Duration)
		r.procWindow(res, a, r.sample()) // the window is the silence
	case cfg.publishes():
		res.Publish, res.Delivery = r.publishPhase(ctx, res)
	}
	stopProgress()
	if ctx.Err() != nil {
		res.interrupted = true
		r.note("interrupted: the figures cover the part that ran")
	}
	if cfg.Scenario == Idle || cfg.Scenario == Connect {
		r.idleFootprint(res, srv0, self0)
	}
	r.teardown()
	// Every reader has stopped: no ack can come any more, so the run's
	// totals and the account agree (an ack counted in one but not the
	// other would make Expected exceed Acked).
	res.Sessions = r.sessionResult()
	if res.Publish != nil {
		r.publishTotals(res.Publish)
	}
	if res.Delivery != nil {
		rs := make([]receiver, len(r.sessions))
		var foreign uint64
		for i, s := range r.sessions {
			rs[i] = receiver{hello: s.hello, chans: s.recv}
			foreign += s.foreign
		}
		res.Delivery.Account = tally(r.chans, rs)
		res.Delivery.Account.SeqMismatch += r.seqMismatch.Load()
		res.Delivery.Foreign = foreign
	}
	if self, err := readProc("self"); err == nil {
		res.Bench.RSSBytes = self.RSS
	}
	r.errMu.Lock()
	res.Errors = maps.Clone(r.errs)
	r.errMu.Unlock()
	res.Notes = append(res.Notes, r.notes...)
	res.finish()
	return res, nil
}

// connectAll opens every session, Concurrency at a time.
func (r *runner) connectAll(ctx context.Context) ConnectResult {
	t0 := time.Now()
	var connected atomic.Int64
	forEach(ctx, len(r.sessions), r.cfg.Concurrency, func(ctx context.Context, i int) error {
		d, err := r.sessions[i].open(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.connectFailures.Add(1)
				r.countError("connect: " + shortErr(err))
			}
			return nil
		}
		connected.Add(1)
		r.connLat.Record(int64(d))
		return nil
	})
	el := time.Since(t0)
	out := ConnectResult{Count: connected.Load(), Seconds: el.Seconds(), Latency: latencyOf(r.connLat.Snapshot())}
	if el > 0 {
		out.PerSec = float64(out.Count) / el.Seconds()
	}
	return out
}

// publishPhase publishes for Warmup + Duration, then waits for the
// deliveries to drain, sampling the window's figures on the way.
func (r *runner) publishPhase(ctx context.Context, res *Result) (*PublishResult, *DeliveryResult) {
	cfg := r.cfg
	start := time.Now().Add(50 * time.Millisecond)
	winStart := start.Add(cfg.Warmup)
	end := winStart.Add(cfg.Duration)
	r.winStart.Store(winStart.UnixNano())
	r.winEnd.Store(end.UnixNano())

	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(len(r.pubs)) / cfg.Rate)
	}
	var wg sync.WaitGroup
	for i, p := range r.pubs {
		if p.sess != nil && p.sess.conn.Load() == nil {
			r.note("publisher %d could not connect: its share of the rate is not offered", i)
			continue
		}
		// Stagger the publishers over one interval, so that the offered
		// load is smooth rather than P sends at once.
		offset := interval * time.Duration(i) / time.Duration(len(r.pubs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, start.Add(offset), end, interval)
		}()
	}

	// The measured window: counters and the server's CPU at both ends,
	// and its memory every second in between.
	var at [2]windowSample
	if sleepCtx(ctx, time.Until(winStart)) {
		at[0] = r.sample()
		peak := at[0].server.RSS
		for {
			d := min(time.Until(end), time.Second)
			if d <= 0 || !sleepCtx(ctx, d) {
				break
			}
			if len(r.cfg.Pids) > 0 && time.Until(end) > 0 {
				if s, err := readServers(r.cfg.Pids); err == nil {
					peak = max(peak, s.RSS)
				}
			}
		}
		if ctx.Err() == nil {
			at[1] = r.sample()
			peak = max(peak, at[1].server.RSS)
			if res.Server != nil {
				res.Server.RSSPeakBytes = peak
			}
		}
	}
	wg.Wait()
	r.drain(ctx)
	if at[1].at.IsZero() {
		at[1] = r.sample() // interrupted: the window ends now
	}
	if at[0].at.IsZero() {
		at[0] = at[1]
	}
	return r.windowResults(res, at[0], at[1])
}

// windowSample is the counters at one end of the measured window.
type windowSample struct {
	at               time.Time
	sent, acked      uint64
	deliveries       uint64
	server, self     ProcSample
	serverOK, selfOK bool
}

func (r *runner) sample() windowSample {
	w := windowSample{at: time.Now()}
	for _, p := range r.pubs {
		w.sent += p.sent.Load()
		w.acked += p.acked.Load()
	}
	w.deliveries = r.live.Count()
	if len(r.cfg.Pids) > 0 {
		var err error
		w.server, err = readServers(r.cfg.Pids)
		w.serverOK = err == nil
	}
	var err error
	w.self, err = readProc("self")
	w.selfOK = err == nil
	return w
}

// drain waits, after the last publish, until every send is answered and
// the deliveries stop: until Drain passes without one, or sooner once
// every session has what it is owed and a short grace has passed.
func (r *runner) drain(ctx context.Context) {
	const tick = 50 * time.Millisecond
	const grace = 200 * time.Millisecond
	const limit = time.Minute
	deadline := time.Now().Add(limit)
	last := r.live.Count()
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		if !sleepCtx(ctx, tick) {
			return
		}
		n := r.live.Count()
		if n != last {
			last, lastChange = n, time.Now()
		}
		quiet := time.Since(lastChange)
		var pending, owed uint64
		for _, p := range r.pubs {
			pending += p.pending()
		}
		for _, ch := range r.chans {
			owed += ch.acked.Load() * uint64(max(ch.connected.Load(), 0))
		}
		switch {
		case quiet >= r.cfg.Drain:
			if pending > 0 {
				r.note("%d publishes were never answered", pending)
			}
			return
		case pending == 0 && n >= owed && quiet >= grace:
			return
		}
	}
	r.note("deliveries were still arriving %v after the last publish", limit)
}

// defaultCloseTimeout bounds the teardown's close handshakes, all of them
// together: a server that does not answer them in time has the remaining
// connections dropped.
const defaultCloseTimeout = 2 * time.Second

// teardown closes every websocket and waits for the readers. Safe to
// call twice.
func (r *runner) teardown() {
	if r.stopping.Swap(true) {
		return
	}
	r.stop() // no more reconnecting
	late := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		forEach(context.Background(), len(r.sessions), 256, func(_ context.Context, i int) error {
			c := r.sessions[i].conn.Load()
			select {
			case <-late:
				if c != nil {
					c.CloseNow()
				}
			default:
				if c != nil {
					c.Close(websocket.StatusNormalClosure, "bench done")
				}
			}
			return nil
		})
	}()
	t := time.NewTimer(r.closeTimeout)
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C:
		// A close handshake waits up to 5 s for the server's answer, and
		// CloseNow does not cut that short: dropping the TCP connections
		// does.
		close(late)
		r.conns.closeAll()
		<-closed
	}
	r.readers.Wait()
}

// idleFootprint reports the server's and the bench's memory per
// connection: RSS now minus RSS before the sessions connected.
func (r *runner) idleFootprint(res *Result, srv0, self0 ProcSample) {
	n := res.Connect.Count
	if n == 0 {
		return
	}
	if len(r.cfg.Pids) > 0 {
		if srv, err := readServers(r.cfg.Pids); err == nil {
			s := res.Server // set whenever Pid is
			s.RSSStartBytes, s.RSSEndBytes = srv0.RSS, srv.RSS
			s.RSSPerConnBytes = (srv.RSS - srv0.RSS) / n
		}
	}
	if self, err := readProc("self"); err == nil {
		res.Bench.RSSPerConnBytes = (self.RSS - self0.RSS) / n
	}
}

func (r *runner) sessionResult() SessionResult {
	out := SessionResult{
		Target: len(r.sessions), ConnectRetries: r.connectRetries.Load(), ConnectFailures: r.connectFailures.Load(),
		Disconnects: r.disconnects.Load(), SlowDisconnects: r.slowDisconnects.Load(), Goodbyes: r.goodbyes.Load(),
		Reconnects: r.reconnects.Load(), ReconnectFailures: r.reconnectFailures.Load(),
	}
	for _, s := range r.sessions {
		if s.hello != 0 {
			out.Connected++
		}
	}
	return out
}

// countError counts one problem by its description.
func (r *runner) countError(what string) {
	r.errMu.Lock()
	r.errs[what]++
	r.errMu.Unlock()
}

func (r *runner) note(format string, args ...any) {
	r.errMu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.errMu.Unlock()
}

// shortErr keeps error descriptions groupable (no addresses, no
// tickets): a Web API error's code, else the innermost cause.
func shortErr(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	if code := websocket.CloseStatus(err); code != -1 {
		return "websocket closed: " + strconv.Itoa(int(code))
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
