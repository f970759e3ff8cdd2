// Package presence is the presence role: users are hashed to presence
// nodes by the presence ring, and each node keeps, for the users it owns,
// how many sessions each gateway holds, whether the user set away, and
// which gateways watch them. A user is active while any session anywhere
// is up and they have not set away.
//
// Gateways report absolute session counts (idempotent, so order and
// retries do not matter), renew a lease, and re-report everything when
// the ring moves users; a new owner answers watches only after the
// gateways have re-reported (or a settle time passed), so subscribers
// see correct states, not a flap. A gateway that leaves the view or
// stops renewing its lease loses its sessions here.
//
// The presence node is also the way to a user's sessions: a user event
// (channel_joined, manual_presence_change) sent to the user's presence
// node is forwarded to every gateway holding the user's sessions.
package presence
