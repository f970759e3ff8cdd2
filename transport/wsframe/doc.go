// Package wsframe is the websocket framing (RFC 6455) of the server side
// of a connection: it builds the frames a server sends (unmasked, final,
// built once and written to many sockets as they are) and reads the
// frames a client sends (masked), joining fragments into messages and
// rejecting what the RFC forbids with the close status to answer.
//
// It does no writing and owns no connection: the gateway's session is
// the one writer of its socket and sends every frame, close frames
// included, that this package builds or asks for. The handshake is left
// to coder/websocket's Accept. Compression and extensions are not
// supported (none is negotiated).
package wsframe
