package internode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kind says what a frame is.
type Kind byte

// Frame kinds. Requests go from the dialing node to the listening one;
// replies and events come back.
const (
	KindHello       Kind = 1 // both ways: User = node name, Text = proof
	KindSubscribe   Kind = 2 // Channel, Seq = from (with Op&SubFromLatest: ignored)
	KindUnsubscribe Kind = 3 // Channel
	KindPublish     Kind = 4 // Channel, User, Text, TS = thread ts, Extra = client msg id
	KindMember      Kind = 5 // Op = member op, Channel, User = actor, Users
	KindReply       Kind = 6 // ReqID; Extra = error code ("" ok); Seq, TS, Payload by request
	KindEvent       Kind = 7 // Channel, Seq, Op = event kind, User, Payload = client frame
	KindTyping      Kind = 8 // Channel, User: ephemeral, no reply
	KindPresence    Kind = 9 // Op = presence operation; fields by operation
)

func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindSubscribe:
		return "subscribe"
	case KindUnsubscribe:
		return "unsubscribe"
	case KindPublish:
		return "publish"
	case KindMember:
		return "member"
	case KindReply:
		return "reply"
	case KindEvent:
		return "event"
	case KindTyping:
		return "typing"
	case KindPresence:
		return "presence"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Subscribe flags (Op of a KindSubscribe).
const (
	// SubFromLatest starts at the channel's current seq (Seq is ignored);
	// the reply's Seq says where that was.
	SubFromLatest byte = 1
)

// MaxFrame bounds a frame's encoded size; larger frames end the link.
const MaxFrame = 4 << 20

// Frame is the one message shape of the internode wire. Each kind uses
// the fields its comment lists; the rest stay zero (one byte each on the
// wire).
type Frame struct {
	Kind    Kind
	Op      byte
	ReqID   uint64
	Seq     uint64
	TS      int64
	Channel string
	User    string
	Text    string
	Extra   string
	Users   []string
	Payload []byte
}

// ErrFrameTooLarge: a frame over MaxFrame.
var ErrFrameTooLarge = errors.New("internode: frame too large")

// AppendFrame appends f's encoding to b: a 4-byte big-endian length, then
// the body.
func AppendFrame(b []byte, f *Frame) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, byte(f.Kind), f.Op)
	b = binary.AppendUvarint(b, f.ReqID)
	b = binary.AppendUvarint(b, f.Seq)
	b = binary.AppendVarint(b, f.TS)
	b = appendStr(b, f.Channel)
	b = appendStr(b, f.User)
	b = appendStr(b, f.Text)
	b = appendStr(b, f.Extra)
	b = binary.AppendUvarint(b, uint64(len(f.Users)))
	for _, u := range f.Users {
		b = appendStr(b, u)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Payload)))
	b = append(b, f.Payload...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ReadFrame reads one frame. The frame owns its memory.
func ReadFrame(r io.Reader) (*Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return DecodeFrame(body)
}

// DecodeFrame decodes a frame body (without its length prefix). The
// frame's Payload aliases body.
func DecodeFrame(body []byte) (*Frame, error) {
	d := decoder{b: body}
	f := &Frame{Kind: Kind(d.byte()), Op: d.byte()}
	f.ReqID = d.uvarint()
	f.Seq = d.uvarint()
	f.TS = d.varint()
	f.Channel = d.str()
	f.User = d.str()
	f.Text = d.str()
	f.Extra = d.str()
	if n := d.uvarint(); n > 0 {
		if n > uint64(len(d.b)) { // each entry takes at least a byte
			d.fail()
		} else {
			f.Users = make([]string, n)
			for i := range f.Users {
				f.Users[i] = d.str()
			}
		}
	}
	f.Payload = d.bytes()
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return nil, fmt.Errorf("internode: bad %v frame: %w", f.Kind, d.err)
	}
	return f, nil
}

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
