package metrics

import (
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every ringcast metric.
const Namespace = "ringcast"

// NewRegistry returns a node's registry, holding the Go runtime and
// process collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves the registry's metrics in the Prometheus text format.
func Handler(r *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{Registry: r, ErrorHandling: promhttp.ContinueOnError})
}

// Registerer returns r, or a registry of its own when r is nil (a role
// built without a node, in a test), so that roles always register.
func Registerer(r prometheus.Registerer) prometheus.Registerer {
	if r == nil {
		return prometheus.NewRegistry()
	}
	return r
}

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histograms: 0.5 ms to 10 s.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Histogram counts durations into fixed buckets. One goroutine writes it
// (Observe neither allocates nor locks: an atomic add on memory that
// goroutine owns); any goroutine may read it. Its zero value is not
// usable: make it with NewHistogram.
type Histogram struct {
	upper  []time.Duration // bucket upper bounds; a last, +Inf bucket follows
	counts []atomic.Uint64 // per bucket, not cumulative
	sum    atomic.Int64    // nanoseconds
}

// NewHistogram makes a Histogram with upper bounds in seconds (sorted).
func NewHistogram(buckets []float64) *Histogram {
	h := &Histogram{counts: make([]atomic.Uint64, len(buckets)+1)}
	for _, b := range buckets {
		h.upper = append(h.upper, time.Duration(b*float64(time.Second)))
	}
	return h
}

// Observe records n observations of d (n events that took d each).
func (h *Histogram) Observe(d time.Duration, n uint64) {
	if n == 0 {
		return
	}
	d = max(d, 0)
	i := sort.Search(len(h.upper), func(i int) bool { return d <= h.upper[i] })
	h.counts[i].Add(n)
	h.sum.Add(int64(d) * int64(n))
}

// HistogramSet reports histograms of the same buckets (one per writer)
// as one Prometheus histogram. Safe for concurrent use.
type HistogramSet struct {
	desc    *prometheus.Desc
	buckets []float64
	parts   []*Histogram
}

// NewHistogramSet makes one Histogram per writer, of the given buckets,
// reported together as name (with help).
func NewHistogramSet(name, help string, buckets []float64, writers int) *HistogramSet {
	s := &HistogramSet{desc: prometheus.NewDesc(name, help, nil, nil), buckets: buckets}
	for range writers {
		s.parts = append(s.parts, NewHistogram(buckets))
	}
	return s
}

// Part is writer i's histogram.
func (s *HistogramSet) Part(i int) *Histogram { return s.parts[i] }

// Describe implements prometheus.Collector.
func (s *HistogramSet) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector: the parts' buckets, added up.
func (s *HistogramSet) Collect(ch chan<- prometheus.Metric) {
	per := make([]uint64, len(s.buckets)+1)
	var sum int64
	for _, h := range s.parts {
		for i := range h.counts {
			per[i] += h.counts[i].Load()
		}
		sum += h.sum.Load()
	}
	cum := make(map[float64]uint64, len(s.buckets))
	var count uint64
	for i, b := range s.buckets {
		count += per[i]
		cum[b] = count
	}
	count += per[len(s.buckets)]
	ch <- prometheus.MustNewConstHistogram(s.desc, count, float64(sum)/1e9, cum)
}

// CounterSet reports counters that each have one writer as one
// Prometheus counter. Safe for concurrent use.
type CounterSet struct {
	desc  *prometheus.Desc
	parts []paddedCounter
}

// paddedCounter fills a cache line, so that writers on different cores
// do not share one.
type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// NewCounterSet makes one counter per writer, reported together as name.
func NewCounterSet(name, help string, writers int) *CounterSet {
	return &CounterSet{desc: prometheus.NewDesc(name, help, nil, nil), parts: make([]paddedCounter, writers)}
}

// Add adds n to writer i's counter.
func (s *CounterSet) Add(i int, n uint64) { s.parts[i].n.Add(n) }

// Describe implements prometheus.Collector.
func (s *CounterSet) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector.
func (s *CounterSet) Collect(ch chan<- prometheus.Metric) {
	var n uint64
	for i := range s.parts {
		n += s.parts[i].n.Load()
	}
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, float64(n))
}

// Name joins a metric's parts under the namespace.
func Name(part, name string) string { return prometheus.BuildFQName(Namespace, part, name) }
