// Package nodetest starts in-process ringcast clusters for tests: nodes
// with any roles on 127.0.0.x and port 0, millisecond gossip timings,
// one shared store, logs through t.Log, and everything stopped by
// t.Cleanup.
package nodetest
