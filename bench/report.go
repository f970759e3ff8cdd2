package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
)

// Result is the outcome of a run. Its JSON field names are stable: they
// are what scripts read (`ringcast bench --json`).
type Result struct {
	Scenario   string  `json:"scenario"`
	Via        string  `json:"via,omitempty"`
	URL        string  `json:"url"`
	RunID      string  `json:"run_id"`
	Subs       int     `json:"subs"`
	Channels   int     `json:"channels"`
	Users      int     `json:"users"`
	Publishers int     `json:"publishers"`
	Rate       float64 `json:"rate"` // offered publishes/s; 0: closed loop
	Size       int     `json:"size"`
	Inflight   int     `json:"inflight"`
	WarmupS    float64 `json:"warmup_s"`
	DurationS  float64 `json:"duration_s"`
	// WindowS is what CPU figures cover: the measured window when
	// publishing, the connecting (connect), the silence (idle).
	WindowS float64 `json:"window_s"`

	Provision ProvisionResult `json:"provision"`
	Connect   ConnectResult   `json:"connect"`
	Sessions  SessionResult   `json:"sessions"`
	Publish   *PublishResult  `json:"publish,omitempty"`
	Delivery  *DeliveryResult `json:"delivery,omitempty"`
	Server    *ProcResult     `json:"server,omitempty"` // with --pid
	Bench     ProcResult      `json:"bench"`            // this process

	Errors map[string]uint64 `json:"errors,omitempty"` // problems by kind: error acks, disconnects, failed connects
	Notes  []string          `json:"notes,omitempty"`
	// OK: the run was not interrupted, every session connected, none
	// was dropped, and (when the scenario publishes) nothing was lost,
	// duplicated or disordered and every publish was acknowledged.
	OK bool `json:"ok"`

	interrupted bool // the run's context ended before the run did
}

// ProvisionResult is the set-up of a run.
type ProvisionResult struct {
	Users    int     `json:"users"`
	Channels int     `json:"channels"`
	Joins    int     `json:"joins"`
	Seconds  float64 `json:"seconds"`
}

// ConnectResult is the opening of the sessions: rtm.connect, websocket
// handshake and hello, Concurrency at a time.
type ConnectResult struct {
	Count   int64   `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	Latency Latency `json:"latency"`
}

// SessionResult counts what happened to the websockets.
type SessionResult struct {
	Target            int   `json:"target"`
	Connected         int   `json:"connected"`
	ConnectRetries    int64 `json:"connect_retries"`
	ConnectFailures   int64 `json:"connect_failures"`
	Disconnects       int64 `json:"disconnects"`      // ended by the server or the network during the run
	SlowDisconnects   int64 `json:"slow_disconnects"` // of which 1008 (slow consumer)
	Goodbyes          int64 `json:"goodbyes"`
	Reconnects        int64 `json:"reconnects"`
	ReconnectFailures int64 `json:"reconnect_failures"`
}

// PublishResult is the publishing side. Rates are over the measured
// window (after warmup).
type PublishResult struct {
	OfferedPerSec float64 `json:"offered_per_sec"` // 0: closed loop
	SentPerSec    float64 `json:"sent_per_sec"`
	AckedPerSec   float64 `json:"acked_per_sec"`
	Sent          uint64  `json:"sent"`       // whole run, warmup included
	Acked         uint64  `json:"acked"`      // whole run
	Failed        uint64  `json:"failed"`     // whole run: refused (error ack), or HTTP errors and timeouts
	Unacked       uint64  `json:"unacked"`    // whole run: no answer by the end (lost with a connection, or given up)
	Skipped       uint64  `json:"skipped"`    // open loop: scheduled sends given up, the schedule being more than 5 s behind
	MaxLagMs      float64 `json:"max_lag_ms"` // how far the open-loop schedule fell behind, at most
	KeptUp        bool    `json:"kept_up"`    // open loop: sent at least 95% of the offered rate
	// AckLatency: from the actual send (just before the websocket write
	// or the HTTP request) to the ack, for publishes sent within the
	// window. Unlike Delivery.Latency it leaves out how late the send
	// was on its schedule: it is the server's answer time.
	AckLatency    Latency `json:"ack_latency"`
	WindowSent    uint64  `json:"window_sent"`
	WindowAcked   uint64  `json:"window_acked"`
	WindowSeconds float64 `json:"window_seconds"`
}

// DeliveryResult is the receiving side: the exact account of the whole
// run, and rates and latency of the measured window.
type DeliveryResult struct {
	Account
	Foreign    uint64  `json:"foreign"`     // message events not of this run (ignored)
	PerSec     float64 `json:"per_sec"`     // deliveries/s during the window
	Window     uint64  `json:"window"`      // deliveries during the window
	PerSession float64 `json:"per_session"` // deliveries/s per session during the window
	// Latency: one-way, from the publish's intended send time to its
	// arrival, for publishes intended within the window. Open loop:
	// the intended time is the schedule's, so a publisher that falls
	// behind shows in it; closed loop: it is when a slot (rtm) or a
	// worker (http) took the send, i.e. the send itself. Unlike
	// Publish.AckLatency, which counts from the actual send.
	Latency Latency `json:"latency"`
}

// ProcResult is a process's cost (from /proc).
type ProcResult struct {
	Pid             int     `json:"pid"`            // the first of Pids
	Pids            []int   `json:"pids,omitempty"` // every process summed
	CPUSeconds      float64 `json:"cpu_seconds"`    // during the window (Result.WindowS)
	CPUPercent      float64 `json:"cpu_percent"`    // of one core
	RSSStartBytes   int64   `json:"rss_start_bytes"`
	RSSEndBytes     int64   `json:"rss_end_bytes"`
	RSSPeakBytes    int64   `json:"rss_peak_bytes"` // sampled every second of the window
	RSSBytes        int64   `json:"rss_bytes"`
	RSSPerConnBytes int64   `json:"rss_per_conn_bytes"`
	// DeliveriesPerCPUSecond: window deliveries per second of CPU.
	DeliveriesPerCPUSecond float64 `json:"deliveries_per_cpu_second"`
}

// Latency is a latency distribution, in milliseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

func latencyOf(s *Snapshot) Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Latency{Count: s.N, P50Ms: ms(s.Quantile(.5)), P90Ms: ms(s.Quantile(.9)), P99Ms: ms(s.Quantile(.99)),
		P999Ms: ms(s.Quantile(.999)), MaxMs: ms(s.Max), MeanMs: s.Mean() / 1e6}
}

func newResult(c Config) *Result {
	r := &Result{Scenario: c.Scenario, URL: c.URL, Subs: c.Subs, Channels: c.Channels, Users: c.Users,
		Size: c.Size, WarmupS: c.Warmup.Seconds(), DurationS: c.Duration.Seconds()}
	if c.publishes() {
		r.Via, r.Publishers, r.Rate, r.Inflight = c.Via, c.Publishers, c.Rate, c.Inflight
	} else {
		r.Size, r.WarmupS = 0, 0
	}
	if len(c.Pids) > 0 {
		r.Server = &ProcResult{Pid: c.Pids[0], Pids: c.Pids}
	}
	r.Bench.Pid = os.Getpid()
	return r
}

// windowResults turns the samples at both ends of the measured window
// into rates.
func (r *runner) windowResults(res *Result, a, b windowSample) (*PublishResult, *DeliveryResult) {
	secs := b.at.Sub(a.at).Seconds()
	per := func(n uint64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	pub := &PublishResult{OfferedPerSec: r.cfg.Rate, WindowSeconds: secs,
		WindowSent: b.sent - a.sent, WindowAcked: b.acked - a.acked}
	pub.SentPerSec, pub.AckedPerSec = per(pub.WindowSent), per(pub.WindowAcked)

	del := &DeliveryResult{Window: b.deliveries - a.deliveries, Latency: latencyOf(r.measured.Snapshot())}
	del.PerSec = per(del.Window)
	if n := len(r.sessions); n > 0 {
		del.PerSession = del.PerSec / float64(n)
	}
	r.procWindow(res, a, b)
	if s := res.Server; s != nil && s.CPUSeconds > 0 {
		s.DeliveriesPerCPUSecond = float64(del.Window) / s.CPUSeconds
	}
	return pub, del
}

// publishTotals sets the figures of the whole run, once every reader has
// stopped (so that no ack is counted here and not in the account, or the
// other way round).
func (r *runner) publishTotals(pub *PublishResult) {
	var lag int64
	for _, p := range r.pubs {
		pub.Sent += p.sent.Load()
		pub.Acked += p.acked.Load()
		pub.Failed += p.failed.Load()
		lag = max(lag, p.maxLag.Load())
		pub.Skipped += p.skipped.Load()
	}
	pub.Unacked = pub.Sent - pub.Acked - pub.Failed
	pub.MaxLagMs = float64(lag) / 1e6
	pub.AckLatency = latencyOf(r.ackLat.Snapshot())
	pub.KeptUp = r.cfg.Rate == 0 || (pub.SentPerSec >= 0.95*r.cfg.Rate && pub.Skipped == 0)
	if !pub.KeptUp {
		r.note("offered %.0f publishes/s but sent %.0f/s: the publishers fell behind (their in-flight bound of %d was reached, a publisher's websocket was lost, or the bench is short of CPU); delivery latency counts from the intended send time",
			r.cfg.Rate, pub.SentPerSec, r.cfg.Inflight)
	}
}

// procWindow sets the server's and the bench's CPU and memory over the
// window from a to b.
func (r *runner) procWindow(res *Result, a, b windowSample) {
	secs := b.at.Sub(a.at).Seconds()
	res.WindowS = secs
	if a.serverOK && b.serverOK { // so Pid > 0, and res.Server is set
		s := res.Server
		cpu := (b.server.CPU - a.server.CPU).Seconds()
		s.CPUSeconds, s.RSSStartBytes, s.RSSEndBytes = cpu, a.server.RSS, b.server.RSS
		if secs > 0 {
			s.CPUPercent = 100 * cpu / secs
		}
	}
	if a.selfOK && b.selfOK {
		cpu := (b.self.CPU - a.self.CPU).Seconds()
		res.Bench.CPUSeconds = cpu
		if secs > 0 {
			res.Bench.CPUPercent = 100 * cpu / secs
		}
	}
	if res.Server != nil {
		if busy, cores := res.Server.CPUPercent+res.Bench.CPUPercent, sharedCores(b.server.CPUs, b.self.CPUs); busy > saturated*float64(100*cores) {
			r.note("server and bench used %.0f%% of the %d cores' %d%%: the figures are bounded by the shared CPU, not by the server alone",
				busy, cores, 100*cores)
		}
	}
}

// sharedCores is how many cores server and bench may run on between
// them (both may be pinned, e.g. with taskset), or, when either set is
// unknown, the cores this process may use.
func sharedCores(server, bench []int) int {
	if server == nil || bench == nil {
		return runtime.NumCPU()
	}
	all := slices.Concat(server, bench)
	slices.Sort(all)
	return len(slices.Compact(all))
}

// saturated is the share of the machine's CPU that server and bench
// together may use before a run says its figures are bounded by it.
const saturated = 0.9

// finish decides OK.
func (r *Result) finish() {
	s := r.Sessions
	r.OK = !r.interrupted && s.Connected == s.Target && s.Disconnects == 0
	if r.Delivery != nil {
		r.OK = r.OK && r.Delivery.Clean()
	}
	if r.Publish != nil {
		r.OK = r.OK && r.Publish.Failed == 0 && r.Publish.Unacked == 0
	}
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText writes r as a summary table.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	lat := func(l Latency) string {
		if l.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
			fmtMs(l.P50Ms), fmtMs(l.P90Ms), fmtMs(l.P99Ms), fmtMs(l.P999Ms), fmtMs(l.MaxMs), l.Count)
	}
	status := "OK"
	if !r.OK {
		status = "PROBLEMS (see below)"
	}
	row("scenario", "%s  (run %s, %s)  %s", r.Scenario, r.RunID, r.URL, status)
	setup := fmt.Sprintf("%d sessions, %d channels, %d users", r.Subs, r.Channels, r.Users)
	if r.Publish != nil {
		rate := "closed loop"
		if r.Rate > 0 {
			rate = fmt.Sprintf("%g/s", r.Rate)
		}
		setup += fmt.Sprintf(", %d publishers via %s at %s, %d-byte messages, warmup %gs, window %gs",
			r.Publishers, r.Via, rate, r.Size, r.WarmupS, r.DurationS)
	}
	row("setup", "%s", setup)
	p := r.Provision
	row("provision", "%d users, %d channels, %d joins in %.1fs", p.Users, p.Channels, p.Joins, p.Seconds)
	c := r.Connect
	row("connect", "%d in %.2fs = %.0f/s   %s", c.Count, c.Seconds, c.PerSec, lat(c.Latency))
	s := r.Sessions
	who := ""
	if r.Publish != nil && r.Via == ViaRTM {
		who = fmt.Sprintf(" (%d subscribers + %d publishers, who receive their channels too)", s.Target-r.Publishers, r.Publishers)
	}
	row("sessions", "%d/%d connected%s, %d retries, %d failed", s.Connected, s.Target, who, s.ConnectRetries, s.ConnectFailures)
	if s.Disconnects > 0 || s.Goodbyes > 0 {
		row("", "%d disconnects (%d slow-consumer 1008), %d goodbyes, %d reconnected, %d gave up",
			s.Disconnects, s.SlowDisconnects, s.Goodbyes, s.Reconnects, s.ReconnectFailures)
	}
	if pb := r.Publish; pb != nil {
		offered := "closed loop"
		if pb.OfferedPerSec > 0 {
			offered = fmt.Sprintf("offered %.0f/s", pb.OfferedPerSec)
		}
		kept := ""
		if !pb.KeptUp {
			kept = "  (DID NOT KEEP UP)"
		}
		row("publish", "%s, sent %.0f/s, acked %.0f/s%s; max schedule lag %s", offered, pb.SentPerSec, pb.AckedPerSec, kept, fmtMs(pb.MaxLagMs))
		row("", "run total: %d sent, %d acked, %d failed, %d unanswered, %d skipped", pb.Sent, pb.Acked, pb.Failed, pb.Unacked, pb.Skipped)
		row("ack latency", "%s  (from the send)", lat(pb.AckLatency))
	}
	if d := r.Delivery; d != nil {
		row("deliveries", "%.0f/s (%.1f/s per session), %d in the window", d.PerSec, d.PerSession, d.Window)
		row("latency", "%s  (from the intended send time)", lat(d.Latency))
		a := d.Account
		row("account", "expected %d, received %d, lost %d, duplicated %d, out of order %d (seq regressions %d), seq mismatches %d, extra %d",
			a.Expected, a.Received, a.Lost, a.Duplicated, a.OutOfOrder, a.SeqRegressions, a.SeqMismatch, a.Extra)
		if a.AffectedSessions > 0 {
			row("", "%d sessions affected by loss, duplicates or disorder", a.AffectedSessions)
		}
	}
	if sv := r.Server; sv != nil {
		line := fmt.Sprintf("pid %s: ", joinInts(sv.Pids))
		if sv.CPUSeconds > 0 {
			line += fmt.Sprintf("CPU %.2fs (%.0f%% of a core)", sv.CPUSeconds, sv.CPUPercent)
			if sv.DeliveriesPerCPUSecond > 0 {
				line += fmt.Sprintf(", %.0f deliveries per CPU-second", sv.DeliveriesPerCPUSecond)
			}
			line += "; "
		}
		line += fmt.Sprintf("RSS %s -> %s", fmtBytes(sv.RSSStartBytes), fmtBytes(sv.RSSEndBytes))
		if sv.RSSPeakBytes > 0 {
			line += fmt.Sprintf(" (peak %s)", fmtBytes(sv.RSSPeakBytes))
		}
		if sv.RSSPerConnBytes != 0 {
			line += fmt.Sprintf(", %s per connection", fmtBytes(sv.RSSPerConnBytes))
		}
		row("server", "%s", line)
	}
	b := r.Bench
	line := fmt.Sprintf("RSS %s", fmtBytes(b.RSSBytes))
	if b.CPUSeconds > 0 {
		line = fmt.Sprintf("CPU %.2fs (%.0f%% of a core), ", b.CPUSeconds, b.CPUPercent) + line
	}
	if b.RSSPerConnBytes != 0 {
		line += fmt.Sprintf(", %s per connection", fmtBytes(b.RSSPerConnBytes))
	}
	row("bench", "%s", line)
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		row("error", "%d × %s", r.Errors[k], k)
	}
	for _, n := range r.Notes {
		row("note", "%s", n)
	}
	return tw.Flush()
}

func fmtMs(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 100:
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

func fmtBytes(b int64) string {
	neg := ""
	if b < 0 {
		neg, b = "-", -b
	}
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%s%.2fGiB", neg, float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%s%.1fMiB", neg, float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%s%.1fKiB", neg, float64(b)/(1<<10))
	}
	return fmt.Sprintf("%s%dB", neg, b)
}

// IsTerminal reports whether w is a terminal (where a live progress line
// belongs).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// startProgress prints a status line every progressEvery (a second)
// until the returned function is called. It reads r.sessions and r.pubs:
// call it once they are complete.
func (r *runner) startProgress() (stop func()) {
	if r.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(r.progressEvery)
		defer t.Stop()
		start := time.Now()
		prev := r.live.Snapshot()
		var prevSent uint64
		for {
			select {
			case <-done:
				fmt.Fprint(r.progress, "\r\033[K")
				return
			case <-t.C:
			}
			cur := r.live.Snapshot() // once a second: the copy is affordable
			iv := cur.Sub(prev)
			prev = cur
			var sent, acked uint64
			for _, p := range r.pubs {
				sent += p.sent.Load()
				acked += p.acked.Load()
			}
			secs := r.progressEvery.Seconds()
			fmt.Fprintf(r.progress, "\r\033[K[%3.0fs] sessions %d/%d  pub %d (%.0f/s) acked %d  deliveries %d (%.0f/s)  p99 %s  disconnects %d",
				time.Since(start).Seconds(), r.opened.Load(), len(r.sessions), sent, float64(sent-prevSent)/secs, acked,
				cur.N, float64(iv.N)/secs, fmtMs(float64(iv.Quantile(.99))/1e6), r.disconnects.Load())
			prevSent = sent
		}
	}()
	return func() {
		select {
		case <-done:
		default:
			close(done)
			<-finished
		}
	}
}
