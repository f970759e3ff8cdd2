package sqlite

import (
	"errors"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/chat"
)

func segmentOf(msgs []chat.Message) segment {
	return segment{first: msgs[0].Seq, last: msgs[len(msgs)-1].Seq, firstTS: msgs[0].TS, lastTS: msgs[len(msgs)-1].TS,
		body: appendSegment(nil, msgs)}
}

func TestSegmentRoundTrip(t *testing.T) {
	msgs := []chat.Message{
		{Channel: "C1", Seq: 7, TS: 1_700_000_000_000_000, User: "U1", Text: "hello", ClientMsgID: "cm-1"},
		{Channel: "C1", Seq: 8, TS: 1_700_000_000_000_001, User: "U2", Text: "", ThreadTS: 1_700_000_000_000_000},
		{Channel: "C1", Seq: 9, TS: 5, User: "", Text: "ts went back: still exact"}, // wraps
		{Channel: "C1", Seq: 10, TS: 1<<63 - 1, User: "U3", Text: string(make([]byte, 300))},
	}
	got, err := segmentOf(msgs).decode([]chat.Message{{Text: "kept"}}, "C1")
	if err != nil || !slices.Equal(got[1:], msgs) || got[0].Text != "kept" {
		t.Fatalf("decode = %+v, %v", got, err)
	}
}

// TestSegmentRejectsCorruption: every way a row can disagree with itself
// is an error, and the messages decoded before it are not returned.
func TestSegmentRejectsCorruption(t *testing.T) {
	msgs := []chat.Message{{Channel: "C1", Seq: 1, TS: 100, User: "U1", Text: "a"}, {Channel: "C1", Seq: 2, TS: 150, User: "U1", Text: "b"}}
	good := segmentOf(msgs)
	for name, mod := range map[string]func(s *segment){
		"empty body":      func(s *segment) { s.body = nil },
		"unknown format":  func(s *segment) { s.body[0] = 2 },
		"truncated":       func(s *segment) { s.body = s.body[:len(s.body)-1] },
		"trailing bytes":  func(s *segment) { s.body = append(s.body, 0) },
		"fewer seqs":      func(s *segment) { s.last = 1 },
		"more seqs":       func(s *segment) { s.last = 3 },
		"last before":     func(s *segment) { s.first, s.last = 2, 1 },
		"wrong last ts":   func(s *segment) { s.lastTS++ },
		"first ts moved":  func(s *segment) { s.body[1] = 1 },
		"length past end": func(s *segment) { s.body[3] = 0x7f },
		"varint overflows": func(s *segment) {
			s.body = append(s.body[:1], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
		},
	} {
		t.Run(name, func(t *testing.T) {
			seg := good
			seg.body = slices.Clone(good.body)
			mod(&seg)
			got, err := seg.decode(nil, "C1")
			if !errors.Is(err, errSegment) || len(got) != 0 {
				t.Fatalf("decode = %+v, %v; want errSegment and nothing", got, err)
			}
		})
	}
}

// FuzzDecodeSegment: any row decodes without panicking, and what decodes
// encodes to a row that decodes to the same messages.
func FuzzDecodeSegment(f *testing.F) {
	seed := segmentOf([]chat.Message{{Seq: 3, TS: 10, User: "U", Text: "t"}, {Seq: 4, TS: 12, ThreadTS: 10, ClientMsgID: "c"}})
	f.Add(seed.body, uint64(3), uint64(4), int64(10), int64(12))
	f.Add([]byte{1, 0, 0, 0, 0, 0}, uint64(1), uint64(1), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, body []byte, first, last uint64, firstTS, lastTS int64) {
		seg := segment{first: first, last: last, firstTS: chat.TS(firstTS), lastTS: chat.TS(lastTS), body: body}
		msgs, err := seg.decode(nil, "C")
		if err != nil {
			return
		}
		again, err := segmentOf(msgs).decode(nil, "C")
		if err != nil || !slices.Equal(again, msgs) {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", msgs, again, err)
		}
	})
}
