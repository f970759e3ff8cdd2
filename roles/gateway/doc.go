// Package gateway is the gateway role: it holds clients' RTM websockets
// and, for the channels their users are in, one subscription per
// (channel, owner node), not one per user.
//
// It is three parts, each a type with its own lock:
//
//   - the registry (registry.go): the sessions, the tickets used, whether
//     new connections are taken;
//   - the channel subscriptions (subs.go): one chanSub per channel, which
//     keeps the seq it will deliver next and releases everything about
//     the channel in the order the owner produced it: messages by seq,
//     an event (typing, a member joining or leaving) after the message it
//     followed (its After). A gap (a new owner, a fenced writer, a
//     resumed client) is filled from the store by a catch-up goroutine
//     while what comes later waits, so sessions see every channel's
//     messages dense, in order and once, and its events in place;
//   - the presence agent (presence.go): each user's session count
//     reported to the user's presence node, one watch per user for all
//     local sessions that sent presence_sub for it, user events.
//
// Per session (session.go): coder/websocket does the handshake only; the
// session reads client frames with transport/wsframe on a goroutine of
// its own and is the one writer of its socket (data frames, pongs and
// close frames alike). A writer goroutine exists only while the
// session's bounded queue is non-empty; a session whose queue overflows
// is closed (1008) and resumes later. Whatever concerns a channel
// reaches the session through its fan-out worker (fanout.go), which
// keeps the session's frames in the order they were handed to it.
//
// Lock order: chanSub.mu, then subscriptions.mu, then session.mu;
// registry.mu, then session.mu; presenceAgent.mu is never held while
// taking chanSub.mu or subscriptions.mu. pendingMu and the fan-out
// workers' locks are leaves.
package gateway
