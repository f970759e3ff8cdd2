// Package internode is the wire between nodes: persistent TCP links that
// carry requests (subscribe, publish, membership changes) with replies,
// and a stream of events pushed back on the same link.
//
// A link has one reader goroutine (the caller's, or the one Serve and
// Dial start) and one writer goroutine. Senders never block: frames are
// encoded straight into the link's pending buffer, which the writer
// flushes in one write per wake-up, so a burst of events costs one
// syscall. A peer that falls too far behind is disconnected; the other
// side reconnects and resumes from the last seq it saw.
//
// The package knows frames and links, not channels or sessions.
package internode
