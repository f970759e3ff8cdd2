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
	var hdr [10]byte
	hdr[0] = 0x80 | op
	h := 2
	switch {
	case n < 126:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		h = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		h = 10
	}
	b := make([]byte, h+n)
	copy(b, hdr[:h])
	copy(b[h:], payload)
	return b
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
