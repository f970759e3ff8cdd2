// Package chat holds the value types every part of ringcast shares: a
// user, a channel, a message, the Slack timestamp TS and the ids. The
// store persists them, the client wire (transport/rtm) encodes them and
// the roles pass them around.
//
// It must stay small and import nothing of ringcast's: it is at the
// bottom of the package graph so that the wire and the store need not
// know each other.
package chat
