package channel

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/metrics"
)

// ownerMetrics are the channel role's Prometheus metrics: counted per
// message sequenced, per commit (a batch) and per channel loaded or
// dropped; never per delivery.
type ownerMetrics struct {
	published   prometheus.Counter
	committed   prometheus.Counter
	commitTime  prometheus.Histogram
	batchSize   prometheus.Histogram
	loads       prometheus.Counter
	evictions   prometheus.Counter
	commitFails prometheus.Counter
}

func newOwnerMetrics(r prometheus.Registerer, c *cache) *ownerMetrics {
	name := metrics.Name
	counter := func(n, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name("channel", n), Help: help})
	}
	m := &ownerMetrics{
		published: counter("messages_published_total", "Messages this owner sequenced (accepted for commit)."),
		committed: counter("messages_committed_total", "Messages this owner committed to the store."),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("store", "commit_duration_seconds"),
			Help: "Duration of one group commit (one store transaction).", Buckets: metrics.LatencyBuckets}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("store", "commit_batch_messages"),
			Help:    "Messages in one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		loads:       counter("loads_total", "Channel states loaded from the store into memory."),
		evictions:   counter("evictions_total", "Channel states dropped from memory (idle, ownership moved, fenced or a failed load)."),
		commitFails: counter("commit_failures_total", "Group commits the store failed (their messages were refused)."),
	}
	r.MustRegister(m.published, m.committed, m.commitTime, m.batchSize, m.loads, m.evictions, m.commitFails,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("channel", "loaded"),
			Help: "Channel states in memory."}, func() float64 { return float64(c.loaded()) }))
	return m
}
