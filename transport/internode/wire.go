package internode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame bounds an envelope's encoded size; a larger one ends the link.
const MaxFrame = 4 << 20

// Frame is one envelope as read: its kind, request id and body. The
// body is the frame's own memory; a decoded message may alias it.
type Frame struct {
	Kind  Kind
	ReqID uint64
	Body  []byte
}

// ErrFrameTooLarge: an envelope over MaxFrame.
var ErrFrameTooLarge = errors.New("internode: frame too large")

// appendEnvelope appends m as an envelope with request id id.
func appendEnvelope[M Message](b []byte, id uint64, m M) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, byte(m.Kind()))
	b = binary.AppendUvarint(b, id)
	b = m.AppendBody(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// readFrame reads one envelope. Its body is a fresh allocation (a
// decoded message may keep it); the length is read in place (through
// io.ReadFull, the 4 bytes escaped: an allocation per frame).
func readFrame(br *bufio.Reader) (Frame, error) {
	hdr, err := br.Peek(4)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr)
	br.Discard(4)
	if n > MaxFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return Frame{}, err
	}
	return parseFrame(b)
}

// parseFrame splits an envelope (without its length) into kind, id and
// body.
func parseFrame(b []byte) (Frame, error) {
	if len(b) < 1 {
		return Frame{}, errors.New("internode: empty frame")
	}
	id, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return Frame{}, errors.New("internode: bad request id")
	}
	return Frame{Kind: Kind(b[0]), ReqID: id, Body: b[1+n:]}, nil
}

// ReplyError returns the error string a reply begins with ("" for
// success): every reply type starts with it, so a caller can tell a
// retryable answer before it decodes the rest.
func ReplyError(body []byte) string {
	d := decoder{b: body}
	return d.str()
}

// The encoding of fields: unsigned integers as uvarints, signed as
// varints, enumerations and booleans as one byte, strings and byte slices with a uvarint
// length, lists with a uvarint count.

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendBools(b []byte, vs []bool) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendBool(b, v)
	}
	return b
}

// decoder reads fields in order; the first error sticks and every later
// read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = io.ErrUnexpectedEOF
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool {
	if len(d.b) < 1 || d.b[0] > 1 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// bytes returns the next byte slice, aliasing the body; nil when empty.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	if n == 0 {
		return nil
	}
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

// count reads a list's length, refusing one the rest of the body cannot
// hold (each entry takes at least a byte).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) bools() []bool {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = d.bool()
	}
	return out
}

// done reports the first error, or trailing bytes, of decoding kind.
func (d *decoder) done(k Kind) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return fmt.Errorf("internode: bad %v: %w", k, d.err)
	}
	return nil
}
