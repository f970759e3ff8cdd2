//go:build race

package node_test

// raceEnabled: the race detector slows everything ~5-10x; long tests
// scale their work down by it.
const raceEnabled = true
