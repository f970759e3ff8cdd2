package gateway

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/metrics"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// gatewayMetrics are the gateway's Prometheus metrics. What a fan-out
// worker counts per delivery it keeps in its own part of a set
// (metrics.CounterSet, metrics.HistogramSet), written once per round
// without a lock or an allocation; the rest changes once per session or
// per refusal, or is read at scrape time.
type gatewayMetrics struct {
	connects    prometheus.Counter
	reconnects  prometheus.Counter
	disconnects *prometheus.CounterVec // by close code
	slow        prometheus.Counter
	refused     map[string]prometheus.Counter // by limit, resolved once
	fannedOut   *metrics.CounterSet           // per fan-out worker
	latency     *metrics.HistogramSet         // per fan-out worker
}

// Limits a gateway refuses by (the limit label of
// ringcast_gateway_refused_total).
const (
	limitRTMFrames      = "rtm_frames"
	limitRTMMessages    = "rtm_messages"
	limitUserMessages   = "user_messages"
	limitInflight       = "inflight"
	limitSocketsUser    = "sockets_per_user"
	limitSocketsGateway = "sockets_per_gateway"
	limitDraining       = "draining"
	closeAbnormal       = 1006 // the label of a connection that ended without a close frame
)

func newGatewayMetrics(r prometheus.Registerer, g *Gateway) *gatewayMetrics {
	name := metrics.Name
	m := &gatewayMetrics{
		connects: prometheus.NewCounter(prometheus.CounterOpts{Name: name("gateway", "connects_total"),
			Help: "Websocket sessions registered (handshake done, before hello)."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: name("gateway", "reconnects_total"),
			Help: "Websocket sessions that resumed channels (?resume=): clients coming back."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("gateway", "disconnects_total"),
			Help: "Websocket sessions ended, by the close code they ended with (1006: no close frame; other: a code outside RFC 6455's)."}, []string{"code"}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{Name: name("gateway", "slow_consumers_total"),
			Help: "Sessions closed because their outgoing queue overflowed (1008)."}),
		refused: map[string]prometheus.Counter{},
		fannedOut: metrics.NewCounterSet(name("gateway", "messages_fanned_out_total"),
			"Channel messages written to local sessions (one per recipient).", len(g.fan.workers)),
		latency: metrics.NewHistogramSet(name("gateway", "delivery_latency_seconds"),
			"From the owner's commit of a message to its write to a local session (one observation per recipient; clocks of two nodes).",
			metrics.LatencyBuckets, len(g.fan.workers)),
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("gateway", "refused_total"),
		Help: "Frames and connections refused by a limit."}, []string{"limit"})
	for _, l := range []string{limitRTMFrames, limitRTMMessages, limitUserMessages, limitInflight,
		limitSocketsUser, limitSocketsGateway, limitDraining} {
		m.refused[l] = refused.WithLabelValues(l)
	}
	gauge := func(n, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("gateway", n), Help: help}, f)
	}
	r.MustRegister(m.connects, m.reconnects, m.disconnects, m.slow, refused, m.fannedOut, m.latency,
		gauge("sessions", "Websocket sessions connected.", func() float64 { return float64(g.reg.count()) }),
		gauge("subscriptions", "Channels this gateway subscribes to (one subscription per channel for all its sessions).",
			func() float64 { return float64(g.subs.count()) }),
		gauge("queue_bytes", "Bytes queued for sessions' sockets, not yet written.",
			func() float64 { return float64(g.reg.queued()) }))
	return m
}

// The methods below count one event each; a nil *gatewayMetrics (a
// Gateway put together by a test) counts nothing.

// ended counts a session's end by its close code: RFC 6455's codes by
// number, any other (a client may close with 3000-4999) as "other", so
// that clients cannot mint series.
func (m *gatewayMetrics) ended(code wsframe.StatusCode) {
	if m == nil {
		return
	}
	label := "other"
	if code >= 1000 && code <= 1015 {
		label = strconv.Itoa(int(code))
	}
	m.disconnects.WithLabelValues(label).Inc()
}

// refuse counts a refusal by limit l.
func (m *gatewayMetrics) refuse(l string) {
	if m != nil {
		m.refused[l].Inc()
	}
}

// connected counts a session registered.
func (m *gatewayMetrics) connected() {
	if m != nil {
		m.connects.Inc()
	}
}

// reconnected counts a session that resumes channels.
func (m *gatewayMetrics) reconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// slowClosed counts a slow consumer closed.
func (m *gatewayMetrics) slowClosed() {
	if m != nil {
		m.slow.Inc()
	}
}
