// Package channel is the channel role: the owner of the channels the
// channel ring gives this node. For each owned channel it holds a small
// state loaded lazily from the store (last seq and ts, members, the
// gateways subscribed), assigns every message a dense seq and a strictly
// increasing ts, appends messages from all its channels to the store in
// one transaction per batch (group commit), and only then acks them and
// fans each out once per subscribed gateway.
//
// Other nodes reach it through Server (the requests of the internode
// protocol); this node's own requests through cluster.Channels, which
// calls Publish and Typing directly for the channels it owns.
//
// The owner is three parts with locks of their own: the channel-state
// cache (cache.go, state.go), the committer (committer.go), and the
// per-channel membership stripes of the Owner itself.
//
// Lock order: an Owner.memberMus stripe, then chanState.mu; then
// cache's shard.mu or linksMu, or committer.mu, never the other way
// round. committer.answerMu is a leaf.
package channel
