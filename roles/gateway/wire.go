package gateway

import (
	"encoding/binary"

	"github.com/coder/websocket"
)

// Websocket opcodes of the frames the gateway writes itself.
const (
	opText  = 0x1
	opClose = 0x8
	opPong  = 0xA
)

// frame returns a complete, unmasked, final websocket frame of opcode op
// carrying payload. Data frames are built once per message per gateway
// and the same bytes are written to every recipient's socket.
func frame(op byte, payload []byte) []byte {
	n := len(payload)
	b := make([]byte, headerLen(n)+n)
	copy(b[putHeader(b, op, n):], payload)
	return b
}

// headroom is the room a payload built in place keeps before it for its
// frame header (see framed).
const headroom = 10

// framed turns b, a text payload appended after headroom bytes, into a
// text frame without copying it: the header goes right before it.
func framed(b []byte) []byte {
	n := len(b) - headroom
	start := headroom - headerLen(n)
	putHeader(b[start:], opText, n)
	return b[start:]
}

// headerLen is the size of the header of a frame carrying n bytes.
func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// putHeader writes the header of a final, unmasked frame of opcode op
// carrying n bytes at the start of b, and returns its length.
func putHeader(b []byte, op byte, n int) int {
	b[0] = 0x80 | op
	switch h := headerLen(n); h {
	case 2:
		b[1] = byte(n)
		return h
	case 4:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return h
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
		return h
	}
}

// textFrame wraps a JSON payload.
func textFrame(payload []byte) []byte { return frame(opText, payload) }

// closeFrame carries a close status and reason (at most 123 bytes).
func closeFrame(code websocket.StatusCode, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	copy(p[2:], reason)
	return frame(opClose, p)
}
