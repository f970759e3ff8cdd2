package segment

import (
	"errors"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func segmentOf(msgs []chat.Message) Segment {
	row, body := NewRow(nil, msgs)
	return Segment{Span: store.Span{First: uint64(row.First), Last: uint64(row.Last), FirstTS: chat.TS(row.FirstTS),
		LastTS: chat.TS(row.FirstTS + row.TSSpan)}, Body: body}
}

func TestSegmentRoundTrip(t *testing.T) {
	msgs := []chat.Message{
		{Channel: "C1", Seq: 7, TS: 1_700_000_000_000_000, User: "U1", Text: "hello", ClientMsgID: "cm-1"},
		{Channel: "C1", Seq: 8, TS: 1_700_000_000_000_001, User: "U2", Text: "", ThreadTS: 1_700_000_000_000_000},
		{Channel: "C1", Seq: 9, TS: 5, User: "", Text: "ts went back: still exact"}, // wraps
		{Channel: "C1", Seq: 10, TS: 1<<63 - 1, User: "U3", Text: string(make([]byte, 300))},
	}
	got, err := segmentOf(msgs).Decode([]chat.Message{{Text: "kept"}}, "C1")
	if err != nil || !slices.Equal(got[1:], msgs) || got[0].Text != "kept" {
		t.Fatalf("decode = %+v, %v", got, err)
	}
}

// TestSegmentRejectsCorruption: every way a row can disagree with itself
// is an error, and the messages decoded before it are not returned.
func TestSegmentRejectsCorruption(t *testing.T) {
	msgs := []chat.Message{{Channel: "C1", Seq: 1, TS: 100, User: "U1", Text: "a"}, {Channel: "C1", Seq: 2, TS: 150, User: "U1", Text: "b"}}
	good := segmentOf(msgs)
	for name, mod := range map[string]func(s *Segment){
		"empty body":      func(s *Segment) { s.Body = nil },
		"unknown format":  func(s *Segment) { s.Body[0] = 2 },
		"truncated":       func(s *Segment) { s.Body = s.Body[:len(s.Body)-1] },
		"trailing bytes":  func(s *Segment) { s.Body = append(s.Body, 0) },
		"fewer seqs":      func(s *Segment) { s.Last = 1 },
		"more seqs":       func(s *Segment) { s.Last = 3 },
		"last before":     func(s *Segment) { s.First, s.Last = 2, 1 },
		"wrong last ts":   func(s *Segment) { s.LastTS++ },
		"first ts moved":  func(s *Segment) { s.Body[1] = 1 },
		"length past end": func(s *Segment) { s.Body[3] = 0x7f },
		"varint overflows": func(s *Segment) {
			s.Body = append(s.Body[:1], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
		},
	} {
		t.Run(name, func(t *testing.T) {
			seg := good
			seg.Body = slices.Clone(good.Body)
			mod(&seg)
			got, err := seg.Decode(nil, "C1")
			if !errors.Is(err, ErrCorrupt) || len(got) != 0 {
				t.Fatalf("decode = %+v, %v; want ErrCorrupt and nothing", got, err)
			}
		})
	}
}

// FuzzDecodeSegment: any row decodes without panicking, and what decodes
// encodes to a row that decodes to the same messages.
func FuzzDecodeSegment(f *testing.F) {
	seed := segmentOf([]chat.Message{{Seq: 3, TS: 10, User: "U", Text: "t"}, {Seq: 4, TS: 12, ThreadTS: 10, ClientMsgID: "c"}})
	f.Add(seed.Body, uint64(3), uint64(4), int64(10), int64(12))
	f.Add([]byte{1, 0, 0, 0, 0, 0}, uint64(1), uint64(1), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, body []byte, first, last uint64, firstTS, lastTS int64) {
		seg := Segment{Span: store.Span{First: first, Last: last, FirstTS: chat.TS(firstTS), LastTS: chat.TS(lastTS)}, Body: body}
		msgs, err := seg.Decode(nil, "C")
		if err != nil {
			return
		}
		again, err := segmentOf(msgs).Decode(nil, "C")
		if err != nil || !slices.Equal(again, msgs) {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", msgs, again, err)
		}
	})
}
