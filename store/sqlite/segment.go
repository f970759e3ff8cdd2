package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ringcast/ringcast/chat"
)

// A segment is one row of the message log: a channel's consecutive
// messages (seqs first..last) written by one Append. A commit of many
// messages to few channels writes a few rows instead of one per message,
// which is most of what a B-tree insert costs; the columns outside the
// body are what the reads search on. The last ts is kept as ts_span, its
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
// ts differences wrap modulo 2^64, so any sequence of ts round-trips.
const segmentFormat = 1

// appendSegment appends the body of msgs, which are one channel's
// consecutive messages, to b.
func appendSegment(b []byte, msgs []chat.Message) []byte {
	b = append(b, segmentFormat)
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
	}
	return b
}

var errSegment = errors.New("store: corrupt log segment")

// decodeSegment appends to out the messages of a segment row. Every
// string shares one copy of body.
func decodeSegment(out []chat.Message, channel string, first, last uint64, firstTS, lastTS chat.TS, body []byte) ([]chat.Message, error) {
	if last < first || len(body) == 0 || body[0] != segmentFormat {
		return out, fmt.Errorf("%w: %s %d-%d", errSegment, channel, first, last)
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
	ts := uint64(firstTS)
	for seq := first; ; seq++ {
		m := chat.Message{Channel: channel, Seq: seq}
		d, ok1 := uvarint()
		thread, ok2 := uvarint()
		user, ok3 := str()
		text, ok4 := str()
		cmid, ok5 := str()
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || (seq == first && d != 0) {
			return out[:n0], fmt.Errorf("%w: %s %d-%d at seq %d", errSegment, channel, first, last, seq)
		}
		ts += d
		m.TS, m.ThreadTS, m.User, m.Text, m.ClientMsgID = chat.TS(ts), chat.TS(thread), user, text, cmid
		out = append(out, m)
		if seq == last {
			break
		}
	}
	if len(s) != 0 || chat.TS(ts) != lastTS {
		return out[:n0], fmt.Errorf("%w: %s %d-%d does not end where its row says", errSegment, channel, first, last)
	}
	return out, nil
}

// segment is a row of the log.
type segment struct {
	first, last     uint64
	firstTS, lastTS chat.TS
	body            []byte
}

// scanSegment scans the columns segmentCols.
func scanSegment(row interface{ Scan(...any) error }) (segment, error) {
	var seg segment
	return seg, scanInto(row, &seg, &seg.body)
}

// scanHead scans the columns segmentHead: a segment without its body.
func scanHead(row interface{ Scan(...any) error }) (segment, error) {
	var seg segment
	return seg, scanInto(row, &seg)
}

func scanInto(row interface{ Scan(...any) error }, seg *segment, more ...any) error {
	var first, last, firstTS, span int64
	err := row.Scan(append([]any{&first, &last, &firstTS, &span}, more...)...)
	seg.first, seg.last, seg.firstTS, seg.lastTS = uint64(first), uint64(last), chat.TS(firstTS), chat.TS(firstTS+span)
	return err
}

// decode appends the segment's messages to out.
func (seg segment) decode(out []chat.Message, channel string) ([]chat.Message, error) {
	return decodeSegment(out, channel, seg.first, seg.last, seg.firstTS, seg.lastTS, seg.body)
}
