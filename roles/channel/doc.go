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
// Lock order: an Owner.memberMus stripe, then chanState.mu; shard.mu,
// Owner.linksMu and Owner.commitMu may be taken while holding
// chanState.mu, never the other way round.
package channel
