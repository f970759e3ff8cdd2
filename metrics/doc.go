// Package metrics is what ringcast's Prometheus metrics share: a node's
// registry (no global state: each node has its own, with the Go runtime
// and process collectors) and Histogram, a histogram for hot paths that
// one goroutine writes without a lock or an allocation and a Collector
// reads at scrape time.
//
// Each role defines and registers its own metrics on the registry the
// node hands it; this package names none of them. Names follow the
// Prometheus conventions: ringcast_<part>_<what>_<unit>, counters end in
// _total, durations are in seconds and sizes in bytes.
package metrics
