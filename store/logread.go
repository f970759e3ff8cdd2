package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/ringcast/ringcast/chat"
)

// ErrCorruptLog: the log disagrees with itself (a stored run whose seqs
// or ts do not match what its row says). Reads return it rather than
// guess.
var ErrCorruptLog = errors.New("store: corrupt message log")

// Span is a run of one channel's consecutive seqs that a backend stores
// together (a segment row in SQLite, a single message's row in
// PostgreSQL), without its messages.
type Span struct {
	First, Last     uint64
	FirstTS, LastTS chat.TS
}

// LogReader is what a backend answers from its log table. ReadLast,
// ReadMessages and ReadHistory implement Log's reads on it, so that
// every backend reads by the same rules.
type LogReader interface {
	// Newest returns the channel's last span (ok false: the log is empty).
	Newest(ctx context.Context, channel string) (s Span, ok bool, err error)
	// Holding returns the span with the greatest first <= seq
	// (ErrNotFound when there is none).
	Holding(ctx context.Context, channel string, seq uint64) (Span, error)
	// Expand returns the messages stored in s.
	Expand(ctx context.Context, channel string, s Span) ([]chat.Message, error)
	// Read calls f with the channel's messages with seqs in [from, to],
	// in seq order or (desc) newest first, at most limit of them, while f
	// returns true.
	Read(ctx context.Context, channel string, from, to uint64, desc bool, limit int, f func(chat.Message) bool) error
}

// ReadLast implements Log's Last over r.
func ReadLast(ctx context.Context, r LogReader, channel string) (uint64, chat.TS, error) {
	s, ok, err := r.Newest(ctx, channel)
	if err != nil || !ok {
		return 0, 0, err
	}
	return s.Last, s.LastTS, nil
}

// ReadMessages implements Log's Messages over r.
func ReadMessages(ctx context.Context, r LogReader, channel string, after uint64, limit int) ([]chat.Message, error) {
	var out []chat.Message
	if limit <= 0 {
		return nil, nil
	}
	err := r.Read(ctx, channel, after+1, 1<<63-1, false, limit, func(m chat.Message) bool {
		out = append(out, m)
		return len(out) < limit
	})
	return out, err
}

// ReadHistory implements Log's History over r and sr. ts bounds become
// seq bounds by binary search (ts grows with seq within a channel, and
// seqs are dense), so the log needs no index on ts. Entries that are not
// in the history (changes, thread replies) are skipped; the page's
// messages that changed since are replaced by their state rows, read in
// one range, and deleted ones are left out.
func ReadHistory(ctx context.Context, r LogReader, sr StateReader, channel string, q HistoryQuery) ([]chat.Message, bool, error) {
	last, _, err := ReadLast(ctx, r, channel)
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
	msgs := make([]chat.Message, 0, min(q.Limit+1, 1024))
	var states map[chat.TS]chat.Message
	round, done := 0, false
	for !done && len(msgs) <= q.Limit {
		// Read the log, newest first, until the page is full: a round that
		// found changes or replies among the entries reads more the next
		// time.
		start := len(msgs)
		for ; !done && len(msgs) <= q.Limit; round++ {
			chunk := (q.Limit + 1 - len(msgs)) << min(round, 6)
			n, lowest := 0, to
			err = r.Read(ctx, channel, from, to, true, chunk, func(m chat.Message) bool {
				n++
				lowest = m.Seq
				if m.InHistory() {
					msgs = append(msgs, m)
				}
				return n < chunk
			})
			if err != nil {
				return nil, false, err
			}
			done = n < chunk || lowest <= from
			to = lowest - 1
		}
		// Then overlay the state rows of what was read, in one range
		// read; deleted messages leave the page, which may take another
		// pass.
		page := msgs[start:]
		if len(page) == 0 {
			break
		}
		clear(states)
		err := sr.States(ctx, channel, page[len(page)-1].TS, page[0].TS, func(m chat.Message) {
			if states == nil {
				states = map[chat.TS]chat.Message{}
			}
			states[m.TS] = m
		})
		if err != nil {
			return nil, false, err
		}
		if len(states) > 0 {
			kept := msgs[:start]
			for _, m := range page {
				if s, ok := states[m.TS]; ok {
					m = s
				}
				if Visible(&m) {
					kept = append(kept, m)
				}
			}
			clear(msgs[len(kept):])
			msgs = kept
		}
	}
	if len(msgs) > q.Limit {
		return msgs[:q.Limit], true, nil
	}
	return msgs, false, nil
}

// firstSeq returns the smallest seq in 1..last whose ts is > t (strict)
// or >= t, or last+1 when there is none: a binary search whose probes
// read the span holding the middle seq and answer from its bounds,
// expanding it only when the seq sought is inside it.
func firstSeq(ctx context.Context, r LogReader, channel string, t chat.TS, strict bool, last uint64) (uint64, error) {
	past := func(ts chat.TS) bool { return ts > t || (!strict && ts == t) }
	lo, hi := uint64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, err := r.Holding(ctx, channel, mid)
		if err == nil && s.Last < mid {
			err = ErrCorruptLog
		}
		if err != nil {
			return 0, fmt.Errorf("store: history: seq %d of %s: %w", mid, channel, err)
		}
		switch {
		case past(s.FirstTS):
			hi = max(lo, s.First)
		case !past(s.LastTS):
			lo = s.Last + 1
		default:
			msgs, err := r.Expand(ctx, channel, s)
			if err != nil {
				return 0, fmt.Errorf("store: history: seqs %d-%d of %s: %w", s.First, s.Last, channel, err)
			}
			for _, m := range msgs {
				if past(m.TS) {
					return m.Seq, nil
				}
			}
			return 0, fmt.Errorf("%w: %s %d-%d", ErrCorruptLog, channel, s.First, s.Last)
		}
	}
	return lo, nil
}

// ThreadParent finds the message a reply's thread_ts names: an existing
// top-level message of the channel, ErrNotFound otherwise.
func ThreadParent(ctx context.Context, l Log, channel string, ts chat.TS) (chat.Message, error) {
	m, err := l.MessageAt(ctx, channel, ts)
	if err == nil && m.IsReply() {
		err = ErrNotFound
	}
	return m, err
}
