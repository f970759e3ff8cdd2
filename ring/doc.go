// Package ring owns cluster membership as every node sees it: the pure
// consistent-hash Ring (xxhash, virtual nodes, no I/O) and the Membership
// glue that turns hashicorp/memberlist gossip into one immutable View per
// change, with one ring per role that owns keys (channel, presence).
//
// The ring is a routing hint, not a lock: two nodes may briefly disagree
// about an owner during churn. Correctness under that disagreement is the
// store's job (the unique (channel, seq) key), not this package's.
//
// memberlist callbacks here never block and never call memberlist back:
// they only wake the single goroutine that rebuilds the View.
package ring
