package segment

import (
	"context"
	"fmt"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// Reader is what a backend answers from its segment table; Messages and
// History are built on it.
type Reader interface {
	// Newest returns the head of the channel's last segment (ok false:
	// the log is empty).
	Newest(ctx context.Context, channel string) (h Head, ok bool, err error)
	// Holding returns the head of the segment with the greatest first <=
	// seq (store.ErrNotFound when there is none).
	Holding(ctx context.Context, channel string, seq uint64) (Head, error)
	// Body returns the body of the segment that starts at first.
	Body(ctx context.Context, channel string, first uint64) ([]byte, error)
	// Scan calls f with each segment of channel holding a seq in
	// [from, to], in seq order or (desc) newest first, while f returns
	// true.
	Scan(ctx context.Context, channel string, from, to uint64, desc bool, f func(Segment) (bool, error)) error
}

// Last implements store.Log's Last over r.
func Last(ctx context.Context, r Reader, channel string) (uint64, chat.TS, error) {
	h, ok, err := r.Newest(ctx, channel)
	if err != nil || !ok {
		return 0, 0, err
	}
	return h.Last, h.LastTS, nil
}

// Messages implements store.Log's Messages over r.
func Messages(ctx context.Context, r Reader, channel string, after uint64, limit int) ([]chat.Message, error) {
	var out []chat.Message
	err := r.Scan(ctx, channel, after+1, ^uint64(0)>>1, false, func(seg Segment) (bool, error) {
		all, err := seg.Decode(nil, channel)
		for _, m := range all {
			if m.Seq > after && len(out) < limit {
				out = append(out, m)
			}
		}
		return len(out) < limit, err
	})
	return out, err
}

// History implements store.Log's History over r. ts bounds become seq
// bounds by binary search (ts grows with seq within a channel, and seqs
// are dense), so the log needs no index on ts.
func History(ctx context.Context, r Reader, channel string, q store.HistoryQuery) ([]chat.Message, bool, error) {
	last, _, err := Last(ctx, r, channel)
	if err != nil || last == 0 {
		return nil, false, err
	}
	from, to := uint64(1), last
	if q.Oldest != 0 {
		// The first seq inside the lower bound.
		if from, err = firstSeq(ctx, r, channel, q.Oldest, !q.Inclusive, last); err != nil {
			return nil, false, err
		}
	}
	if q.Latest != 0 {
		// The first seq past the upper bound, minus one.
		first, err := firstSeq(ctx, r, channel, q.Latest, q.Inclusive, last)
		if err != nil {
			return nil, false, err
		}
		to = first - 1
	}
	if from > to {
		return nil, false, nil
	}
	var msgs []chat.Message
	err = r.Scan(ctx, channel, from, to, true, func(seg Segment) (bool, error) {
		all, err := seg.Decode(nil, channel)
		for i := len(all) - 1; i >= 0 && len(msgs) <= q.Limit; i-- {
			if m := all[i]; m.Seq >= from && m.Seq <= to {
				msgs = append(msgs, m)
			}
		}
		return len(msgs) <= q.Limit, err
	})
	if err != nil {
		return nil, false, err
	}
	if len(msgs) > q.Limit {
		return msgs[:q.Limit], true, nil
	}
	return msgs, false, nil
}

// firstSeq returns the smallest seq in 1..last whose ts is > t (strict)
// or >= t, or last+1 when there is none: a binary search whose probes
// read the head of the segment holding the middle seq and answer from
// its bounds, reading and decoding a body only when the seq sought is
// inside it.
func firstSeq(ctx context.Context, r Reader, channel string, t chat.TS, strict bool, last uint64) (uint64, error) {
	past := func(ts chat.TS) bool { return ts > t || (!strict && ts == t) }
	lo, hi := uint64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		h, err := r.Holding(ctx, channel, mid)
		if err == nil && h.Last < mid {
			err = ErrCorrupt
		}
		if err != nil {
			return 0, fmt.Errorf("store: history: seq %d of %s: %w", mid, channel, err)
		}
		switch {
		case past(h.FirstTS):
			hi = max(lo, h.First)
		case !past(h.LastTS):
			lo = h.Last + 1
		default:
			seg := Segment{Head: h}
			seg.Body, err = r.Body(ctx, channel, h.First)
			var msgs []chat.Message
			if err == nil {
				msgs, err = seg.Decode(nil, channel)
			}
			if err != nil {
				return 0, fmt.Errorf("store: history: segment %d of %s: %w", h.First, channel, err)
			}
			for _, m := range msgs {
				if past(m.TS) {
					return m.Seq, nil
				}
			}
			return 0, fmt.Errorf("%w: %s %d-%d", ErrCorrupt, channel, h.First, h.Last)
		}
	}
	return lo, nil
}

// Rows is a query result (database/sql's and pgx's both are).
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Each calls f with each segment of rows (columns first, last, first_ts,
// ts_span, body) while f returns true: a backend's Scan. The caller
// closes rows.
func Each(rows Rows, f func(Segment) (bool, error)) error {
	for rows.Next() {
		seg, err := ScanSegment(rows)
		if err != nil {
			return err
		}
		if more, err := f(seg); err != nil || !more {
			return err
		}
	}
	return rows.Err()
}
