// Package cluster is how a node asks the owner of a key: a request for a
// channel goes to the node the channel ring names, one for a user's
// presence to the node the presence ring names. Caller routes by the
// current view and retries while the answer means "nothing was done
// here" (the ring was stale, the write was fenced, the owner could not
// be reached), waiting on membership changes rather than sleeping
// blindly. Channels and Presence are the typed clients of the channel
// and presence roles that the admin, gateway and channel roles use;
// they sit beside the protocol (transport/internode) so that no role
// imports another.
//
// It holds the semantics of those requests that their users share (a
// post and its checks, typing's rate, membership operations, presence
// names) and nothing of how the roles serve them. Its background sends
// and retries run in the Caller's goroutine group; Close waits for them.
package cluster
