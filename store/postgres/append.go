package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store/segment"
)

// appender is the scratch of one Append (Store.logMu held).
type appender struct {
	batch segment.Batch
	order []int // indexes into batch.Runs, by channel then first
	body  []byte
	cols  columns
}

// columns are the segment rows of one INSERT, a slice per column: the
// statement takes them as arrays, so it is one prepared statement
// whatever the batch's size.
type columns struct {
	channel                      []string
	first, last, firstTS, tsSpan []int64
	body                         [][]byte
}

// putSegments inserts rows unless they share a seq with a written one
// (of any transaction: the exclusion constraint waits for an
// uncommitted one to end).
const putSegments = `INSERT INTO segments(channel, first, last, first_ts, ts_span, body)
	SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])
	ON CONFLICT DO NOTHING`

// firstWritten is the smallest seq >= $2 that a written segment of
// channel $1 holds, -1 when none does.
const firstWritten = `SELECT coalesce(
	(SELECT $2::int8 FROM (SELECT last FROM segments WHERE channel = $1 AND first <= $2 ORDER BY first DESC LIMIT 1) h
		WHERE h.last >= $2),
	(SELECT first FROM segments WHERE channel = $1 AND first > $2 ORDER BY first LIMIT 1),
	-1)`

// Append implements store.Log: each channel's consecutive messages in
// msgs become one segment row, all rows in one INSERT and one
// transaction, acknowledged once COMMIT returned (synchronous_commit=on).
// If a row is refused (a stale writer), the transaction is rolled back
// and redone segment by segment, which finds each conflicting seq
// exactly. Deadlocks between two stale writers (each waiting for the
// other's uncommitted rows) are retried; the rows go in ordered by
// channel so that they are rare.
func (s *Store) Append(ctx context.Context, msgs []chat.Message) ([]error, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	s.logMu.Lock()
	defer s.logMu.Unlock()
	a := &s.log
	defer a.batch.Release() // let the texts go
	increasing := a.batch.Group(msgs)
	for attempt := 1; ; attempt++ {
		res, err := a.tryAppend(ctx, s, msgs, increasing)
		if err != nil && attempt < 5 && (isCode(err, "40P01") || isCode(err, "40001")) {
			continue // deadlock_detected, serialization_failure: nothing was written
		}
		if err != nil {
			return nil, fmt.Errorf("store: append: %w", err)
		}
		return res, nil
	}
}

func (a *appender) tryAppend(ctx context.Context, s *Store, msgs []chat.Message, increasing bool) ([]error, error) {
	if increasing {
		var res []error
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := a.putAll(ctx, tx); err != nil {
				return err
			}
			res = a.batch.Results(msgs)
			return nil
		})
		if !errors.Is(err, segment.ErrRefused) {
			return res, err
		}
	}
	// Redo the batch run by run (a new Group: PutEach moves the cuts).
	a.batch.Group(msgs)
	var res []error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		put := func(part []chat.Message) (bool, error) {
			a.cols.reset()
			a.body = a.body[:0]
			a.addRow(part)
			return a.put(ctx, tx, 1)
		}
		next := func(channel string, from uint64) (uint64, error) {
			var seq int64
			err := tx.QueryRow(ctx, firstWritten, channel, int64(from)).Scan(&seq)
			return uint64(seq), err // -1: MaxUint64
		}
		if err := a.batch.PutEach(put, next); err != nil {
			return err
		}
		res = a.batch.Results(msgs)
		return nil
	})
	return res, err
}

// putAll writes every run in one INSERT; segment.ErrRefused when one was
// not written.
func (a *appender) putAll(ctx context.Context, tx pgx.Tx) error {
	runs := a.batch.Runs
	a.order = a.order[:0]
	for i := range runs {
		a.order = append(a.order, i)
	}
	slices.SortFunc(a.order, func(i, j int) int {
		if c := cmp.Compare(a.batch.Msgs(&runs[i])[0].Channel, a.batch.Msgs(&runs[j])[0].Channel); c != 0 {
			return c
		}
		return cmp.Compare(runs[i].First, runs[j].First)
	})
	a.cols.reset()
	a.body = a.body[:0]
	for _, i := range a.order {
		a.addRow(a.batch.Msgs(&runs[i]))
	}
	ok, err := a.put(ctx, tx, len(runs))
	if err == nil && !ok {
		err = segment.ErrRefused
	}
	return err
}

// put inserts the rows in a.cols; false when fewer than n went in.
func (a *appender) put(ctx context.Context, tx pgx.Tx, n int) (bool, error) {
	c := &a.cols
	tag, err := tx.Exec(ctx, putSegments, c.channel, c.first, c.last, c.firstTS, c.tsSpan, c.body)
	clear(c.body)
	return err == nil && tag.RowsAffected() == int64(n), err
}

// addRow appends the row of part to a.cols.
func (a *appender) addRow(part []chat.Message) {
	var row segment.Row
	row, a.body = segment.NewRow(a.body, part)
	c := &a.cols
	c.channel = append(c.channel, row.Channel)
	c.first = append(c.first, row.First)
	c.last = append(c.last, row.Last)
	c.firstTS = append(c.firstTS, row.FirstTS)
	c.tsSpan = append(c.tsSpan, row.TSSpan)
	c.body = append(c.body, row.Body)
}

func (c *columns) reset() {
	c.channel, c.first, c.last, c.firstTS, c.tsSpan, c.body = c.channel[:0], c.first[:0], c.last[:0], c.firstTS[:0], c.tsSpan[:0], c.body[:0]
}
