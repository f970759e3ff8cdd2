package wsframe

import "encoding/binary"

// Opcode is a frame's type.
type Opcode byte

// Opcodes (RFC 6455 section 5.2).
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

func (op Opcode) control() bool { return op&0x8 != 0 }

// StatusCode is a close frame's status.
type StatusCode uint16

// Close statuses ringcast sends (RFC 6455 section 7.4.1).
const (
	StatusNormalClosure   StatusCode = 1000
	StatusGoingAway       StatusCode = 1001
	StatusProtocolError   StatusCode = 1002
	StatusUnsupportedData StatusCode = 1003
	StatusPolicyViolation StatusCode = 1008
	StatusMessageTooBig   StatusCode = 1009
	StatusInternalError   StatusCode = 1011
	StatusServiceRestart  StatusCode = 1012
	StatusTryAgainLater   StatusCode = 1013
)

// Frame returns a complete, unmasked, final frame of opcode op carrying
// payload.
func Frame(op Opcode, payload []byte) []byte {
	n := len(payload)
	b := make([]byte, HeaderLen(n)+n)
	copy(b[PutHeader(b, op, n):], payload)
	return b
}

// Text returns a text frame carrying payload.
func Text(payload []byte) []byte { return Frame(OpText, payload) }

// Headroom is the room a payload built in place keeps before it for its
// frame header (see Framed).
const Headroom = 10

// Framed turns b, a text payload appended after Headroom bytes, into a
// text frame without copying it: the header goes right before it.
func Framed(b []byte) []byte {
	n := len(b) - Headroom
	start := Headroom - HeaderLen(n)
	PutHeader(b[start:], OpText, n)
	return b[start:]
}

// HeaderLen is the size of the header of an unmasked frame carrying n
// bytes.
func HeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// PutHeader writes the header of a final, unmasked frame of opcode op
// carrying n bytes at the start of b, and returns its length.
func PutHeader(b []byte, op Opcode, n int) int {
	b[0] = 0x80 | byte(op)
	switch h := HeaderLen(n); h {
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

// maxCloseReason keeps a close frame's payload within a control frame's
// 125 bytes.
const maxCloseReason = 123

// Close returns a close frame carrying code and reason (cut to 123
// bytes, at a character boundary).
func Close(code StatusCode, reason string) []byte {
	reason = cutUTF8(reason, maxCloseReason)
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	copy(p[2:], reason)
	return Frame(OpClose, p)
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // s[n] continues a character
		n--
	}
	return s[:n]
}
