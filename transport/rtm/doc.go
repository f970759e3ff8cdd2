// Package rtm is the client wire: Slack's RTM protocol as JSON text
// frames. It decodes what clients send (Request) and encodes what the
// server sends (hello, pong, acks, message and error events), with the
// hot frames written by hand into caller-owned buffers so that a message
// is encoded once and its bytes shared by every recipient.
//
// It does no I/O; the gateway owns the websockets.
package rtm
