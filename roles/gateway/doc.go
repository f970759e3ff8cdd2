// Package gateway is the gateway role: it holds clients' RTM websockets
// and, for the channels their users are in, one subscription per
// (channel, owner node), not one per user.
//
// Each subscribed channel (chanSub) keeps the seq it will deliver next.
// Events from the owner are delivered in seq order to the attached local
// sessions, each frame encoded once by the owner and shared by every
// session. A gap (a new owner, a fenced writer, a resumed client) is
// filled from the store by a catch-up goroutine while later events wait,
// so sessions see every channel's messages dense, in order, and once.
//
// Per session: coder/websocket does the handshake only; the session
// reads client frames with transport/wsframe on a goroutine of its own
// and is the one writer of its socket (data frames, pongs and close
// frames alike). A writer goroutine exists only while the session's
// bounded queue is non-empty. A session whose queue overflows is closed
// (1008) and resumes later.
//
// Presence: the gateway reports each user's session count to the user's
// presence node, and watches a user once for all local sessions that
// sent presence_sub for it (presence.go).
//
// Lock order: chanSub.mu, then Gateway.mu, then session.mu; presMu is
// never held while taking chanSub.mu or Gateway.mu; pendingMu is a leaf.
package gateway
