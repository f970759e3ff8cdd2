// Package internode is the wire between nodes: persistent TCP links that
// carry requests (subscribe, publish, membership changes, presence) with
// replies, and a stream of events pushed back on the same link.
//
// protocol.go lists every message, with its fields and meaning; each is
// a typed struct with its own encoding. On the wire a message is an
// envelope: a 4-byte length, its kind, a request id (0 for one-way
// messages and events) and its body. A link starts with a handshake
// (handshake.go): both sides send the protocol versions they speak and
// the link speaks the highest they share, so nodes of two versions can
// run side by side during a rolling upgrade; each side proves it knows
// the cluster key with an HMAC over both fresh nonces, so a recorded
// handshake cannot be replayed.
//
// A link has one reader goroutine and one writer goroutine. Senders never
// block: messages are encoded straight into the link's pending buffer,
// which the writer flushes in one write per wake-up, so a burst of events
// costs one syscall. A peer that falls too far behind is disconnected;
// the other side reconnects and resumes from the last seq it saw.
//
// The package knows messages and links, not what the roles do with them:
// Dispatcher hands each request to the typed method of the role that
// serves it, and EventHandler each pushed event to the gateway.
package internode
