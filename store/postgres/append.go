package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// appender is the scratch of one Append (Store.logMu held).
type appender struct {
	order []int             // indexes into msgs, by channel then seq
	cut   map[string]uint64 // channel -> its first seq found written by another
	cols  columns
	next  int
	row   []any
}

var (
	messagesTable = pgx.Identifier{"messages"}
	messageCols   = []string{"channel", "seq", "ts", "user_id", "text", "thread_ts", "client_msg_id", "more"}
)

// columns are the rows of one COPY, a slice per column (the narrowing
// query takes channel and seq as arrays).
type columns struct {
	channel, user, text, cmid []string
	seq, ts, thread           []int64
	more                      [][]byte
	kind                      []chat.Kind     // each row's, for the search index (search.go)
	docs                      docs            // the search index's rows
	entries                   []*chat.Message // what changes state rows (ApplyEntry), in order
}

// firstWritten is, per channel, the smallest of the given (channel, seq)
// that is written.
const firstWritten = `SELECT u.channel, min(u.seq) FROM unnest($1::text[], $2::int8[]) AS u(channel, seq)
	WHERE EXISTS (SELECT 1 FROM messages m WHERE m.channel = u.channel AND m.seq = u.seq)
	GROUP BY u.channel`

// Append implements store.Log: msgs go in by one COPY (binary, the
// cheapest way into a table: 8.5 µs of the server's CPU per message
// against 14.5 for INSERT ... SELECT FROM unnest(), docs/BENCHMARKS.md)
// in one transaction, acknowledged once COMMIT returned
// (synchronous_commit=on). The primary key refuses a seq that another
// writer holds, committed or not (it waits for an uncommitted one to
// end); then the transaction is rolled back, the first written seq of
// each channel is looked up, and the batch is written again without
// those seqs and the channel's later ones; again if another writer got
// in meanwhile. The rows go in ordered by channel and seq, so that two
// stale writers of the same channels do not deadlock; a deadlock or
// serialization failure is retried.
func (s *Store) Append(ctx context.Context, msgs []chat.Message) ([]error, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	s.logMu.Lock()
	defer s.logMu.Unlock()
	a := &s.log
	a.sort(msgs)
	clear(a.cut)
	retries := 0
	for rounds := 0; ; rounds++ {
		if rounds == 100 {
			return nil, fmt.Errorf("store: append: still refused after %d rounds", rounds)
		}
		n, ok, err := a.tryAppend(ctx, s, msgs)
		if err != nil && retries < 5 && (isCode(err, "40P01") || isCode(err, "40001")) {
			retries++ // deadlock_detected, serialization_failure: nothing was written
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: append: %w", err)
		}
		if ok || n == 0 {
			break
		}
		if err := a.narrow(ctx, s); err != nil {
			return nil, fmt.Errorf("store: append: %w", err)
		}
	}
	res := make([]error, len(msgs))
	for i, m := range msgs {
		if a.conflicts(m) {
			res[i] = store.ErrConflict
		}
	}
	clear(a.cols.text) // let the texts go
	a.cols.docs.reset()
	return res, nil
}

// sort lays out the order in which msgs are written.
func (a *appender) sort(msgs []chat.Message) {
	a.order = a.order[:0]
	for i := range msgs {
		a.order = append(a.order, i)
	}
	slices.SortFunc(a.order, func(i, j int) int {
		if c := cmp.Compare(msgs[i].Channel, msgs[j].Channel); c != 0 {
			return c
		}
		return cmp.Compare(msgs[i].Seq, msgs[j].Seq)
	})
	if a.cut == nil {
		a.cut = map[string]uint64{}
	}
}

func (a *appender) conflicts(m chat.Message) bool {
	cut, ok := a.cut[m.Channel]
	return ok && m.Seq >= cut
}

// tryAppend writes, in one transaction, the messages not cut off, and
// commits if every one went in (ok false: one was written by another).
// It returns how many it sent.
func (a *appender) tryAppend(ctx context.Context, s *Store, msgs []chat.Message) (n int, ok bool, err error) {
	c := &a.cols
	c.reset()
	for _, i := range a.order {
		if m := msgs[i]; !a.conflicts(m) {
			c.channel, c.seq, c.ts = append(c.channel, m.Channel), append(c.seq, int64(m.Seq)), append(c.ts, int64(m.TS))
			c.user, c.text = append(c.user, m.User), append(c.text, m.Text)
			c.thread, c.cmid = append(c.thread, int64(m.ThreadTS)), append(c.cmid, m.ClientMsgID)
			var more []byte
			if m.More != nil {
				more, _ = json.Marshal(m.More) // plain values: cannot fail
			}
			c.more, c.kind = append(c.more, more), append(c.kind, m.Kind())
			if m.More != nil || m.ThreadTS != 0 {
				c.entries = append(c.entries, &msgs[i])
			}
		}
	}
	if len(c.seq) == 0 {
		return 0, true, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, messagesTable, messageCols, pgx.CopyFromFunc(func() ([]any, error) {
			i := a.next
			if i == len(c.seq) {
				return nil, nil
			}
			a.next++
			a.row = append(a.row[:0], c.channel[i], c.seq[i], c.ts[i], c.user[i], c.text[i], c.thread[i], c.cmid[i], c.more[i])
			return a.row, nil
		}))
		if err != nil {
			return err
		}
		// The state rows, in the order of msgs (a channel's in seq order).
		slices.SortFunc(c.entries, func(x, y *chat.Message) int { return cmp.Compare(x.Seq, y.Seq) })
		for _, e := range c.entries {
			if err := store.ApplyEntry(ctx, txState{tx}, e); err != nil {
				return err
			}
		}
		return indexRows(ctx, tx, c)
	})
	a.next = 0
	clear(a.row)
	ok = err == nil
	if isCode(err, uniqueViolation) {
		err = nil // refused: narrow, then again
	}
	return len(c.seq), ok, err
}

// narrow lowers each channel's cut to its first seq, among those just
// sent, that another writer holds.
func (a *appender) narrow(ctx context.Context, s *Store) error {
	rows, err := s.pool.Query(ctx, firstWritten, a.cols.channel, a.cols.seq)
	if err != nil {
		return err
	}
	var ch string
	var seq int64
	_, err = pgx.ForEachRow(rows, []any{&ch, &seq}, func() error {
		if cut, ok := a.cut[ch]; !ok || uint64(seq) < cut {
			a.cut[ch] = uint64(seq)
		}
		return nil
	})
	// Refused, yet none of them is written now (found false): the
	// conflicting transaction rolled back. Send the same rows again.
	return err
}

func (c *columns) reset() {
	c.channel, c.user, c.text, c.cmid = c.channel[:0], c.user[:0], c.text[:0], c.cmid[:0]
	c.seq, c.ts, c.thread, c.kind = c.seq[:0], c.ts[:0], c.thread[:0], c.kind[:0]
	clear(c.more)
	clear(c.entries)
	c.more, c.entries = c.more[:0], c.entries[:0]
}
