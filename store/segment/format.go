package segment

import (
	"encoding/binary"
	"fmt"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// A segment is one row of the message log: a channel's consecutive
// messages (seqs first..last) written by one Append. A commit of many
// messages to few channels writes a few rows instead of one per message,
// which is most of what a B-tree insert costs; the columns outside the
// body are what reads search on. The last ts is kept as ts_span, its
// distance from first_ts: 0 for a single message, which SQLite stores in
// no bytes at all (rows of one message each, what a commit spread over
// many channels writes, cost 11% more CPU with an 8-byte last_ts).
//
// The body is a format byte, then for each message in seq order:
//
//	uvarint  ts minus the previous message's ts (the first: minus first_ts, so 0)
//	uvarint  thread_ts
//	uvarint  len, bytes  user id
//	uvarint  len, bytes  text
//	uvarint  len, bytes  client_msg_id
//
// Format 2, written when a message of the segment has chat.More (an
// edit, a delete, a reaction, a broadcast reply, blocks...), adds to
// each message:
//
//	byte     0: no More; else 1 + its kind, then
//	uvarint  target ts
//	uvarint  len, bytes  subtype, name, blocks, attachments, author, previous text (each)
//
// (a log entry's More has nothing else: the state fields are never in
// the log).
// so a segment of plain messages, the hot path's, is format 1 byte for
// byte. ts differences wrap modulo 2^64, so any sequence of ts
// round-trips.
const (
	format     = 1
	formatMore = 2
)

// Max bounds the messages of one segment, and so what a read that wants
// one of them decodes (a busy channel's commit can hold thousands).
const Max = 256

// ErrCorrupt: a row disagrees with itself. Reads return it rather than
// guess.
var ErrCorrupt = fmt.Errorf("%w: a segment", store.ErrCorruptLog)

// Segment is a row of the log: its span and its body.
type Segment struct {
	store.Span
	Body []byte
}

// Row is the columns of a segment row as they are written, in the order
// the backends' INSERTs take them.
type Row struct {
	Channel                      string
	First, Last, FirstTS, TSSpan int64
	Body                         []byte
}

// NewRow returns the row of part, one channel's consecutive messages,
// with its body appended to buf (returned grown; the row's Body is the
// appended bytes, capped so that later appends to buf never touch it).
func NewRow(buf []byte, part []chat.Message) (Row, []byte) {
	at := len(buf)
	buf = appendBody(buf, part)
	first, last := part[0], part[len(part)-1]
	return Row{Channel: first.Channel, First: int64(first.Seq), Last: int64(last.Seq),
		FirstTS: int64(first.TS), TSSpan: int64(last.TS - first.TS), Body: buf[at:len(buf):len(buf)]}, buf
}

// appendBody appends the body of msgs, which are one channel's
// consecutive messages, to b.
func appendBody(b []byte, msgs []chat.Message) []byte {
	f := byte(format)
	for i := range msgs {
		if msgs[i].More != nil {
			f = formatMore
		}
	}
	b = append(b, f)
	prev := uint64(msgs[0].TS)
	for i := range msgs {
		m := &msgs[i]
		b = binary.AppendUvarint(b, uint64(m.TS)-prev)
		prev = uint64(m.TS)
		b = binary.AppendUvarint(b, uint64(m.ThreadTS))
		for _, s := range [...]string{m.User, m.Text, m.ClientMsgID} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		if f == formatMore {
			x := m.More
			if x == nil {
				b = append(b, 0)
				continue
			}
			b = append(b, 1+byte(x.Kind))
			b = binary.AppendUvarint(b, uint64(x.Target))
			for _, s := range [...]string{x.Subtype, x.Name, x.Blocks, x.Attachments, x.Author, x.PrevText} {
				b = binary.AppendUvarint(b, uint64(len(s)))
				b = append(b, s...)
			}
		}
	}
	return b
}

// Decode appends the segment's messages to out. Every string shares one
// copy of the body.
func (seg Segment) Decode(out []chat.Message, channel string) ([]chat.Message, error) {
	first, last, body := seg.First, seg.Last, seg.Body
	if last < first || len(body) == 0 || (body[0] != format && body[0] != formatMore) {
		return out, fmt.Errorf("%w: %s %d-%d", ErrCorrupt, channel, first, last)
	}
	n0 := len(out)
	s := string(body[1:])
	uvarint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
			c := s[i]
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, false // overflows 64 bits
			}
			v |= uint64(c&0x7f) << (7 * i)
			if c < 0x80 {
				s = s[i+1:]
				return v, true
			}
		}
		return 0, false
	}
	str := func() (string, bool) {
		n, ok := uvarint()
		if !ok || n > uint64(len(s)) {
			return "", false
		}
		v := s[:n]
		s = s[n:]
		return v, true
	}
	ts := uint64(seg.FirstTS)
	for seq := first; ; seq++ {
		m := chat.Message{Channel: channel, Seq: seq}
		d, ok1 := uvarint()
		thread, ok2 := uvarint()
		user, ok3 := str()
		text, ok4 := str()
		cmid, ok5 := str()
		if body[0] == formatMore && ok5 {
			ok5 = len(s) > 0 && s[0] <= 1+byte(chat.KindLeave) // the last kind
			if ok5 && s[0] != 0 {
				x := &chat.More{Kind: chat.Kind(s[0] - 1)}
				s = s[1:]
				var target uint64
				target, ok5 = uvarint()
				x.Target = chat.TS(target)
				for _, f := range [...]*string{&x.Subtype, &x.Name, &x.Blocks, &x.Attachments, &x.Author, &x.PrevText} {
					if ok5 {
						*f, ok5 = str()
					}
				}
				m.More = x
			} else if ok5 {
				s = s[1:]
			}
		}
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || (seq == first && d != 0) {
			return out[:n0], fmt.Errorf("%w: %s %d-%d at seq %d", ErrCorrupt, channel, first, last, seq)
		}
		ts += d
		m.TS, m.ThreadTS, m.User, m.Text, m.ClientMsgID = chat.TS(ts), chat.TS(thread), user, text, cmid
		out = append(out, m)
		if seq == last {
			break
		}
	}
	if len(s) != 0 || chat.TS(ts) != seg.LastTS {
		return out[:n0], fmt.Errorf("%w: %s %d-%d does not end where its row says", ErrCorrupt, channel, first, last)
	}
	return out, nil
}

// Scanner is a row of a query result (database/sql's and pgx's both are).
type Scanner interface{ Scan(dest ...any) error }

// ScanHead reads the columns first, last, first_ts, ts_span (a segment's
// span), then more.
func ScanHead(row Scanner, h *store.Span, more ...any) error {
	var first, last, firstTS, span int64
	err := row.Scan(append([]any{&first, &last, &firstTS, &span}, more...)...)
	h.First, h.Last, h.FirstTS, h.LastTS = uint64(first), uint64(last), chat.TS(firstTS), chat.TS(firstTS+span)
	return err
}

// ScanSegment reads the columns first, last, first_ts, ts_span, body.
func ScanSegment(row Scanner) (Segment, error) {
	var seg Segment
	return seg, ScanHead(row, &seg.Span, &seg.Body)
}
