package wsframe

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// CloseError ends reading: Code is the status to close the connection
// with (RFC 6455 section 7.4) and Reason why. Echo is set when the
// client sent a close frame itself: Code is then its status, to be
// echoed.
type CloseError struct {
	Code   StatusCode
	Reason string
	Echo   bool
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket: close %d: %s", e.Code, e.Reason)
}

func errProtocol(reason string) error { return &CloseError{Code: StatusProtocolError, Reason: reason} }

// maxControl is the largest control frame payload (RFC 6455 section 5.5).
const maxControl = 125

// Reader reads a client's messages from a connection. It is not safe
// for concurrent use: one goroutine, the connection's reader, owns it.
type Reader struct {
	br    *bufio.Reader
	limit int
	// OnPing receives each ping's payload (valid only during the call),
	// for the one writer of the connection to answer with a pong.
	OnPing func(payload []byte)
	// OnPong is told of each pong (the client answering the server's
	// ping: it is alive).
	OnPong func()

	hdr [14]byte // the frame header being read
	ctl [maxControl]byte
}

// NewReader reads from br, which must be the connection's only reader
// (the buffered reader of the handshake, holding any bytes the client
// sent right after it). A message whose fragments together exceed limit
// bytes ends the connection with StatusMessageTooBig.
func NewReader(br *bufio.Reader, limit int) *Reader {
	return &Reader{br: br, limit: limit}
}

type header struct {
	fin  bool
	op   Opcode
	mask [4]byte
	n    int
}

// Next reads the next complete data message, appending its payload (its
// fragments joined, unmasked) to buf, and returns its opcode (OpText or
// OpBinary) and buf. Pings before or between its fragments go to OnPing;
// pongs are ignored. A frame the RFC forbids, a message over the limit
// and the client's close frame end reading with a *CloseError saying
// how to close; a failing connection with its error.
//
// It allocates nothing when buf has room for the message.
func (r *Reader) Next(buf []byte) (Opcode, []byte, error) {
	var msgOp Opcode // the data message in progress (0: none)
	start := len(buf)
	for {
		h, err := r.header()
		if err != nil {
			return 0, buf, err
		}
		if h.op.control() {
			if err := r.control(h); err != nil {
				return 0, buf, err
			}
			continue
		}
		switch {
		case h.op == OpContinuation && msgOp == 0:
			return 0, buf, errProtocol("continuation frame without a message")
		case h.op != OpContinuation && msgOp != 0:
			return 0, buf, errProtocol("new message before the last one ended")
		case h.op != OpContinuation:
			msgOp = h.op
		}
		if h.n > r.limit-(len(buf)-start) {
			return 0, buf, &CloseError{Code: StatusMessageTooBig, Reason: fmt.Sprintf("message over %d bytes", r.limit)}
		}
		buf, err = r.payload(buf, h)
		if err != nil {
			return 0, buf, err
		}
		if h.fin {
			return msgOp, buf, nil
		}
	}
}

// header reads and checks one frame header.
func (r *Reader) header() (header, error) {
	var h header
	b := r.hdr[:2]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return h, err
	}
	h.fin = b[0]&0x80 != 0
	h.op = Opcode(b[0] & 0x0F)
	switch {
	case b[0]&0x70 != 0:
		return h, errProtocol("reserved bits set")
	case b[1]&0x80 == 0:
		return h, errProtocol("client frame not masked")
	}
	switch h.op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return h, errProtocol(fmt.Sprintf("unknown opcode %d", h.op))
	}
	n := uint64(b[1] & 0x7F)
	extra := 0
	switch n {
	case 126:
		extra = 2
	case 127:
		extra = 8
	}
	b = r.hdr[2 : 2+extra+4]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return h, err
	}
	switch extra {
	case 2:
		n = uint64(binary.BigEndian.Uint16(b))
		if n < 126 {
			return h, errProtocol("length not in its shortest form")
		}
	case 8:
		n = binary.BigEndian.Uint64(b)
		if n <= 0xFFFF || n>>63 != 0 {
			return h, errProtocol("length not in its shortest form")
		}
	}
	copy(h.mask[:], b[extra:])
	if h.op.control() && (!h.fin || n > maxControl) {
		return h, errProtocol("control frame fragmented or over 125 bytes")
	}
	if n > 1<<31 {
		n = 1 << 31 // over any limit; keeps the int conversion exact
	}
	h.n = int(n)
	return h, nil
}

// payload appends h's payload, unmasked, to buf.
func (r *Reader) payload(buf []byte, h header) ([]byte, error) {
	at := len(buf)
	buf = slices.Grow(buf, h.n)[:at+h.n]
	if _, err := io.ReadFull(r.br, buf[at:]); err != nil {
		return buf[:at], err
	}
	unmask(buf[at:], h.mask)
	return buf, nil
}

// control handles a ping, pong or close frame.
func (r *Reader) control(h header) error {
	p := r.ctl[:h.n]
	if _, err := io.ReadFull(r.br, p); err != nil {
		return err
	}
	unmask(p, h.mask)
	switch h.op {
	case OpPing:
		if r.OnPing != nil {
			r.OnPing(p)
		}
		return nil
	case OpPong:
		if r.OnPong != nil {
			r.OnPong()
		}
		return nil
	}
	return closeOf(p)
}

// closeOf reads the payload of the client's close frame into the close
// to echo. A close without a status is echoed as StatusNormalClosure.
func closeOf(p []byte) error {
	switch {
	case len(p) == 0:
		return &CloseError{Code: StatusNormalClosure, Echo: true}
	case len(p) == 1:
		return errProtocol("close frame of one byte")
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !validStatus(code) {
		return errProtocol(fmt.Sprintf("close status %d", code))
	}
	if !utf8.Valid(p[2:]) {
		return errProtocol("close reason not UTF-8")
	}
	return &CloseError{Code: code, Reason: string(p[2:]), Echo: true}
}

// validStatus reports whether a peer may send code (RFC 6455 section
// 7.4 and the IANA registry): 1000-1003, 1007-1014, 3000-4999.
func validStatus(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// unmask XORs p with the masking key, eight bytes at a time where it
// can.
func unmask(p []byte, key [4]byte) {
	k := binary.LittleEndian.Uint32(key[:])
	k8 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}
