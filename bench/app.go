package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
)

// appRun is the app scenario: messages posted with chat.postMessage (an
// open loop at Rate, Inflight requests at most) to a channel an app's
// bot is in, received as events_api envelopes on Subs Socket Mode
// connections of the app, each acked at once. It measures the events
// per second the connections receive and the latency from the post's
// intended time to its envelope.
type appRun struct {
	cfg   Config
	admin *client.API
	hc    *http.Client

	pub      *client.API // the publisher, limit class unlimited
	channel  string
	appToken string
	appID    string

	sent, acked, failed atomic.Uint64
	mu                  sync.Mutex // guards got and the histograms
	got                 map[uint64]int
	lat                 Histogram
	window              uint64
	winStart, winEnd    int64 // unix nanos, the measured window
	connLat             Histogram
}

// runApp runs the app scenario.
func runApp(ctx context.Context, cfg Config) (*Result, error) {
	res := newResult(cfg)
	res.Publishers, res.Rate, res.Inflight, res.Via = 1, cfg.Rate, cfg.Inflight, ViaHTTP
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Inflight + 8}, Timeout: httpTimeout}
	defer hc.CloseIdleConnections()
	a := &appRun{cfg: cfg, hc: hc, admin: &client.API{Base: cfg.URL, Token: cfg.AdminKey, HTTP: hc}, got: map[uint64]int{}}
	runID := newRunID()
	res.RunID = runID
	t0 := time.Now()
	if err := a.provision(ctx, runID); err != nil {
		return nil, err
	}
	res.Provision = ProvisionResult{Users: 2, Channels: 1, Joins: 1, Seconds: time.Since(t0).Seconds()}

	// The connections.
	rctx, stopReaders := context.WithCancel(context.Background())
	defer stopReaders()
	var readers sync.WaitGroup
	t0 = time.Now()
	for i := range cfg.Subs {
		ws, err := a.connect(ctx)
		if err != nil {
			res.Errors = map[string]uint64{"connect: " + shortErr(err): 1}
			stopReaders()
			readers.Wait()
			return nil, fmt.Errorf("socket mode connection %d: %w", i, err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer ws.CloseNow()
			a.read(rctx, ws)
		}()
	}
	connSecs := time.Since(t0).Seconds()
	res.Connect = ConnectResult{Count: int64(cfg.Subs), Seconds: connSecs, Latency: latencyOf(a.connLat.Snapshot())}
	if connSecs > 0 {
		res.Connect.PerSec = float64(cfg.Subs) / connSecs
	}
	res.Sessions = SessionResult{Target: cfg.Subs, Connected: cfg.Subs}

	// Publishing, open loop.
	start := time.Now().Add(100 * time.Millisecond)
	winStart, end := start.Add(cfg.Warmup), start.Add(cfg.Warmup+cfg.Duration)
	a.winStart, a.winEnd = winStart.UnixNano(), end.UnixNano()
	var srv0, srv1 ProcSample
	var srvOK bool
	jobs := make(chan int64, cfg.Inflight)
	var workers sync.WaitGroup
	for range cfg.Inflight {
		workers.Add(1)
		go func() {
			defer workers.Done()
			a.post(ctx, jobs)
		}()
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	sampled := false
	for next := start; next.Before(end) && ctx.Err() == nil; next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		if !sampled && !next.Before(winStart) && len(cfg.Pids) > 0 {
			srv0, _ = readServers(cfg.Pids)
			sampled = true
		}
		select {
		case jobs <- next.UnixNano():
		default:
			a.failed.Add(1) // Inflight requests are out: the server is behind
		}
	}
	if len(cfg.Pids) > 0 {
		var err error
		srv1, err = readServers(cfg.Pids)
		srvOK = err == nil && sampled
	}
	close(jobs)
	workers.Wait()

	// Drain: until every acked post arrived, or Drain of quiet.
	quietSince, last := time.Now(), uint64(0)
	for ctx.Err() == nil {
		a.mu.Lock()
		n := uint64(len(a.got))
		a.mu.Unlock()
		if n >= a.acked.Load() || time.Since(quietSince) > cfg.Drain {
			break
		}
		if n != last {
			last, quietSince = n, time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopReaders()
	readers.Wait()

	a.mu.Lock()
	defer a.mu.Unlock()
	var dup uint64
	for _, n := range a.got {
		if n > 1 {
			dup += uint64(n - 1)
		}
	}
	acked := a.acked.Load()
	secs := cfg.Duration.Seconds()
	res.Publish = &PublishResult{OfferedPerSec: cfg.Rate, Sent: a.sent.Load(), Acked: acked, Failed: a.failed.Load(),
		SentPerSec: float64(a.sent.Load()) / (cfg.Warmup + cfg.Duration).Seconds(), WindowSeconds: secs}
	res.Publish.AckedPerSec = float64(acked) / (cfg.Warmup + cfg.Duration).Seconds()
	res.Publish.KeptUp = res.Publish.SentPerSec >= 0.95*cfg.Rate
	recv := uint64(len(a.got))
	res.Delivery = &DeliveryResult{Window: a.window, PerSec: float64(a.window) / secs, Latency: latencyOf(a.lat.Snapshot())}
	res.Delivery.PerSession = res.Delivery.PerSec / float64(max(cfg.Subs, 1))
	res.Delivery.Expected, res.Delivery.Received, res.Delivery.Duplicated = acked, recv, dup
	if recv < acked {
		res.Delivery.Lost = acked - recv
	}
	if srvOK && res.Server != nil {
		cpu := (srv1.CPU - srv0.CPU).Seconds()
		res.WindowS = srv1.At.Sub(srv0.At).Seconds()
		res.Server.CPUSeconds, res.Server.RSSStartBytes, res.Server.RSSEndBytes = cpu, srv0.RSS, srv1.RSS
		if res.WindowS > 0 {
			res.Server.CPUPercent = 100 * cpu / res.WindowS
		}
		if cpu > 0 {
			res.Server.DeliveriesPerCPUSecond = float64(a.window) / cpu
		}
	}
	// The run's app goes (its tokens, bot user and connections with it);
	// its publisher and channel stay, as every scenario's do.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if err := call(dctx, a.admin, "admin.apps.delete", url.Values{"app_id": {a.appID}}, nil); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("app bench-app-%s (%s) stays registered: admin.apps.delete: %v", runID, a.appID, err))
	}
	cancel()
	if ctx.Err() != nil {
		res.interrupted = true
	}
	res.finish()
	return res, nil
}

// provision makes the publisher, the channel and the app, and invites
// the app's bot.
func (a *appRun) provision(ctx context.Context, runID string) error {
	var u struct {
		Token string `json:"token"`
	}
	if err := call(ctx, a.admin, "admin.users.create", url.Values{"name": {"bench-app-p-" + runID}, "limit_class": {"unlimited"}}, &u); err != nil {
		return err
	}
	a.pub = &client.API{Base: a.cfg.URL, Token: u.Token, HTTP: a.hc}
	var app struct {
		AppID     string `json:"app_id"`
		AppToken  string `json:"app_token"`
		BotUserID string `json:"bot_user_id"`
	}
	if err := call(ctx, a.admin, "admin.apps.create", url.Values{"name": {"bench-app-" + runID}, "events": {"message.channels"}}, &app); err != nil {
		return err
	}
	a.appToken, a.appID = app.AppToken, app.AppID
	var ch struct {
		Channel struct{ ID string } `json:"channel"`
	}
	if err := call(ctx, a.pub, "conversations.create", url.Values{"name": {"bench-app-" + runID}}, &ch); err != nil {
		return err
	}
	a.channel = ch.Channel.ID
	return call(ctx, a.pub, "conversations.invite", url.Values{"channel": {a.channel}, "users": {app.BotUserID}}, nil)
}

// connect opens one Socket Mode connection and waits for its hello.
func (a *appRun) connect(ctx context.Context) (*websocket.Conn, error) {
	t0 := time.Now()
	var res struct {
		URL string `json:"url"`
	}
	api := &client.API{Base: a.cfg.URL, Token: a.appToken, HTTP: a.hc}
	if err := call(ctx, api, "apps.connections.open", nil, &res); err != nil {
		return nil, err
	}
	ws, _, err := websocket.Dial(ctx, res.URL, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	_, b, err := ws.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"hello"`) {
		ws.CloseNow()
		return nil, fmt.Errorf("no hello: %v %.80s", err, b)
	}
	a.connLat.Record(time.Since(t0).Nanoseconds())
	return ws, nil
}

// post sends the scheduled posts it takes from jobs.
func (a *appRun) post(ctx context.Context, jobs <-chan int64) {
	var buf []byte
	for intended := range jobs {
		n := a.sent.Add(1)
		buf = appendText(buf[:0], a.cfg.Size, 0, n, intended, 0, n)
		err := a.pub.Call(ctx, "chat.postMessage", url.Values{"channel": {a.channel}, "text": {string(buf)}}, nil)
		if err != nil {
			a.failed.Add(1)
			continue
		}
		a.acked.Add(1)
	}
}

// read acks and records the envelopes of one connection.
func (a *appRun) read(ctx context.Context, ws *websocket.Conn) {
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
		Payload    struct {
			Event struct {
				Text string `json:"text"`
			} `json:"event"`
		} `json:"payload"`
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		env.Type, env.EnvelopeID, env.Payload.Event.Text = "", "", ""
		if json.Unmarshal(b, &env) != nil || env.Type != "events_api" {
			continue
		}
		ws.Write(ctx, websocket.MessageText, []byte(`{"envelope_id":"`+env.EnvelopeID+`"}`))
		idx, intended, ok := parseAppText(env.Payload.Event.Text)
		if !ok {
			continue
		}
		a.mu.Lock()
		a.got[idx]++
		if a.got[idx] == 1 && intended >= a.winStart && intended < a.winEnd {
			a.window++
			a.lat.Record(now - intended)
		}
		a.mu.Unlock()
	}
}

// parseAppText reads the publish index and intended send time of a
// text made by appendText.
func parseAppText(s string) (idx uint64, intended int64, ok bool) {
	f := strings.Fields(strings.TrimPrefix(s, textTag))
	if !strings.HasPrefix(s, textTag) || len(f) < 3 {
		return 0, 0, false
	}
	idx, err1 := strconv.ParseUint(f[1], 10, 64)
	intended, err2 := strconv.ParseInt(f[2], 10, 64)
	return idx, intended, err1 == nil && err2 == nil
}
