package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/segment"
)

// appender writes the message log on a connection of its own, one
// Append at a time, with prepared BEGIN IMMEDIATE / COMMIT statements
// run without a cancellable context. database/sql's BeginTx starts a
// goroutine per transaction and the driver one per statement run under a
// context that can end; on the commit path of every message those
// goroutines were a third of a small batch's CPU. An Append, once
// started, is bounded by the busy timeout, not by its caller's context.
type appender struct {
	mu                      sync.Mutex
	conn                    *sql.Conn
	begin, commit, rollback *sql.Stmt
	put                     *sql.Stmt         // one segment, unless it overlaps a written one
	puts                    map[int]*sql.Stmt // put of many segments, by count
	holding, next           *sql.Stmt         // the segment holding a seq / the one after it
	newest, segBody         *sql.Stmt         // the channel's last segment / a segment's body
	getState, putState      *sql.Stmt         // a message's state row, prepared on first use (the migration to segments has no state table yet)

	// Scratch of one Append.
	batch segment.Batch
	body  []byte
	args  []any
}

// Segment statements. put inserts a segment only if no written segment
// shares a seq with it: the segment with the greatest first <= its last
// is the only one that can, and must end before its first. The check
// makes a stale writer's segment conflict wherever it starts. (OR IGNORE
// changes nothing for our rows, which never hold NULLs, but without it a
// NOT NULL column could abort a multi-row INSERT midway, so SQLite would
// journal every page the statement touches to a temporary file.)
const (
	putSegment = `INSERT OR IGNORE INTO segments(channel, first, last, first_ts, ts_span, body)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE coalesce((SELECT last FROM segments
			WHERE channel = ?1 AND first <= ?3 ORDER BY first DESC LIMIT 1), 0) < ?2`
	// putSegments is putSegment for the rows of a VALUES list. Whether a
	// row's check sees the rows the same statement inserted before it is
	// SQLite's business (today it does: no temporary table), so Append
	// sends a batch whose runs of a channel do not go up row by row.
	putSegments = `INSERT OR IGNORE INTO segments(channel, first, last, first_ts, ts_span, body)
		SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (VALUES %s) AS v
		WHERE coalesce((SELECT s.last FROM segments AS s WHERE s.channel = v.column1 AND s.first <= v.column3
			ORDER BY s.first DESC LIMIT 1), 0) < v.column2`
	segmentHead    = `first, last, first_ts, ts_span` // all in the index
	segmentCols    = segmentHead + `, body`
	holdingSegment = `SELECT ` + segmentHead + ` FROM segments WHERE channel = ? AND first <= ? ORDER BY first DESC LIMIT 1`
	newestSegment  = `SELECT ` + segmentHead + ` FROM segments WHERE channel = ? ORDER BY first DESC LIMIT 1`
	segmentBody    = `SELECT body FROM segments WHERE channel = ? AND first = ?`
	nextSegment    = `SELECT first FROM segments WHERE channel = ? AND first > ? ORDER BY first LIMIT 1`
	getState       = `SELECT body FROM msgstate WHERE channel = ? AND ts = ?`
	putState       = `INSERT OR REPLACE INTO msgstate(channel, ts, thread_ts, body) VALUES(?, ?, ?, ?)`
	statesBetween  = `SELECT ts, body FROM msgstate WHERE channel = ? AND ts BETWEEN ? AND ?`
	threadStates   = `SELECT ts, body FROM msgstate WHERE channel = ? AND thread_ts = ? AND ts >= ? ORDER BY ts LIMIT ?`
)

// newAppender prepares the log's statements on conn, which it then owns
// until close (which does not close conn).
func newAppender(conn *sql.Conn) (*appender, error) {
	a := &appender{conn: conn, puts: map[int]*sql.Stmt{}}
	bg := context.Background()
	for _, p := range []struct {
		stmt **sql.Stmt
		q    string
	}{
		{&a.begin, `BEGIN IMMEDIATE`}, {&a.commit, `COMMIT`}, {&a.rollback, `ROLLBACK`},
		{&a.put, putSegment}, {&a.holding, holdingSegment}, {&a.next, nextSegment},
		{&a.newest, newestSegment}, {&a.segBody, segmentBody},
	} {
		var err error
		if *p.stmt, err = conn.PrepareContext(bg, p.q); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

// close closes the prepared statements.
func (a *appender) close() {
	for _, st := range []*sql.Stmt{a.begin, a.commit, a.rollback, a.put, a.holding, a.next, a.newest, a.segBody, a.getState, a.putState} {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range a.puts {
		st.Close()
	}
}

// Append implements store.Log: each channel's consecutive messages in
// msgs become one segment row. The segments go in by multi-row INSERTs;
// if any is refused (a stale writer), the transaction is redone segment
// by segment, which finds each conflicting seq exactly.
func (s *Store) Append(ctx context.Context, msgs []chat.Message) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.appended.Add(uint64(len(msgs)))
	a := s.log
	a.mu.Lock()
	defer a.mu.Unlock()
	b := &a.batch
	increasing := b.Group(msgs)
	res, err := a.inTx(func() ([]error, error) {
		if !increasing {
			return nil, segment.ErrRefused
		}
		if err := a.putAll(); err != nil {
			return nil, err
		}
		return a.applyAll(msgs, b.Results(msgs))
	})
	if errors.Is(err, segment.ErrRefused) {
		res, err = a.inTx(func() ([]error, error) {
			if err := b.PutEach(a.putRun, a.firstWritten); err != nil {
				return nil, err
			}
			return a.applyAll(msgs, b.Results(msgs))
		})
	}
	b.Release() // let the texts go
	if err != nil {
		return nil, fmt.Errorf("store: append: %w", err)
	}
	return res, nil
}

// inTx runs f in a write transaction, committed unless f fails.
func (a *appender) inTx(f func() ([]error, error)) ([]error, error) {
	bg := context.Background()
	if _, err := a.begin.ExecContext(bg); err != nil {
		return nil, err
	}
	res, err := f()
	if err == nil {
		_, err = a.commit.ExecContext(bg)
	}
	if err != nil {
		a.rollback.ExecContext(bg)
		return nil, err
	}
	return res, nil
}

// putAll writes every run, many per statement; segment.ErrRefused when
// one was not written.
func (a *appender) putAll() error {
	runs := a.batch.Runs
	for i := 0; i < len(runs); i += putChunk {
		chunk := runs[i:min(i+putChunk, len(runs))]
		stmt, err := a.putMany(len(chunk))
		if err != nil {
			return err
		}
		a.body, a.args = a.body[:0], a.args[:0]
		for j := range chunk {
			a.addRow(a.batch.Msgs(&chunk[j]))
		}
		res, err := stmt.ExecContext(context.Background(), a.args...)
		clear(a.args)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return errors.Join(err, segment.ErrRefused)
		}
	}
	return nil
}

// putChunk is the most segments one INSERT carries.
const putChunk = 64

// putMany returns the INSERT of n segments, preparing it on first use.
func (a *appender) putMany(n int) (*sql.Stmt, error) {
	if st := a.puts[n]; st != nil {
		return st, nil
	}
	values := strings.Repeat("(?,?,?,?,?,?),", n)
	st, err := a.conn.PrepareContext(context.Background(), fmt.Sprintf(putSegments, values[:len(values)-1]))
	if err != nil {
		return nil, err
	}
	a.puts[n] = st
	return st, nil
}

// addRow appends the segment of part to a.body and its row's arguments,
// in the order of putSegment's columns, to a.args.
func (a *appender) addRow(part []chat.Message) {
	var row segment.Row
	row, a.body = segment.NewRow(a.body, part)
	a.args = append(a.args, row.Channel, row.First, row.Last, row.FirstTS, row.TSSpan, row.Body)
}

// putRun writes part as one segment; false when it shares a seq with a
// written one.
func (a *appender) putRun(part []chat.Message) (bool, error) {
	a.body, a.args = a.body[:0], a.args[:0]
	a.addRow(part)
	r, err := a.put.ExecContext(context.Background(), a.args...)
	clear(a.args)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// firstWritten returns the smallest seq >= from that a written segment
// of the channel holds (math.MaxUint64 when none does).
func (a *appender) firstWritten(channel string, from uint64) (uint64, error) {
	bg := context.Background()
	var h store.Span
	err := segment.ScanHead(a.holding.QueryRowContext(bg, channel, int64(from)), &h)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if err == nil && h.Last >= from {
		return from, nil
	}
	var first int64
	err = a.next.QueryRowContext(bg, channel, int64(from)).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return ^uint64(0), nil
	}
	return uint64(first), err
}

// openLog opens the log's database handle with its one connection and
// the appender on it.
func openLog(dsn string) (*sql.DB, *appender, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	a, err := newAppender(conn)
	if err != nil {
		conn.Close()
		db.Close()
		return nil, nil, err
	}
	return db, a, nil
}

// applyAll applies the written entries of msgs to the state rows, in
// order, in the Append's transaction. Plain top-level messages, the hot
// path's, cost a method call each.
func (a *appender) applyAll(msgs []chat.Message, res []error) ([]error, error) {
	for i := range msgs {
		if res[i] == nil && (msgs[i].More != nil || msgs[i].ThreadTS != 0) {
			if err := store.ApplyEntry(context.Background(), txState{a}, &msgs[i]); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// txState is the appender's transaction as a store.StateTx, and its log
// as a store.LogReader (what the transaction wrote included).
type txState struct{ a *appender }

// prepareState prepares the state row statements once.
func (a *appender) prepareState() error {
	if a.putState != nil {
		return nil
	}
	get, err := a.conn.PrepareContext(context.Background(), getState)
	if err != nil {
		return err
	}
	put, err := a.conn.PrepareContext(context.Background(), putState)
	if err != nil {
		get.Close()
		return err
	}
	a.getState, a.putState = get, put
	return nil
}

func (t txState) State(ctx context.Context, channel string, ts chat.TS) (chat.Message, bool, error) {
	if err := t.a.prepareState(); err != nil {
		return chat.Message{}, false, err
	}
	var body []byte
	err := t.a.getState.QueryRowContext(ctx, channel, int64(ts)).Scan(&body)
	if err == nil {
		m, err := store.DecodeState(channel, ts, body)
		return m, err == nil, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return chat.Message{}, false, err
	}
	return store.FindTS(ctx, t, channel, ts)
}

func (t txState) PutState(ctx context.Context, m *chat.Message) error {
	if err := t.a.prepareState(); err != nil {
		return err
	}
	body, err := store.EncodeState(m)
	if err == nil {
		_, err = t.a.putState.ExecContext(ctx, m.Channel, int64(m.TS), int64(m.ThreadTS), body)
	}
	return err
}

func (t txState) Newest(ctx context.Context, channel string) (store.Span, bool, error) {
	var h store.Span
	err := segment.ScanHead(t.a.newest.QueryRowContext(ctx, channel), &h)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	return h, err == nil, err
}

func (t txState) Holding(ctx context.Context, channel string, seq uint64) (store.Span, error) {
	var h store.Span
	return h, notFound(segment.ScanHead(t.a.holding.QueryRowContext(ctx, channel, int64(seq)), &h))
}

func (t txState) Expand(ctx context.Context, channel string, sp store.Span) ([]chat.Message, error) {
	seg := segment.Segment{Span: sp}
	if err := t.a.segBody.QueryRowContext(ctx, channel, int64(sp.First)).Scan(&seg.Body); err != nil {
		return nil, notFound(err)
	}
	return seg.Decode(nil, channel)
}

// Read reads the segments holding from..to one by one (the transaction
// reads a message or two).
func (t txState) Read(ctx context.Context, channel string, from, to uint64, desc bool, _ int, f func(chat.Message) bool) error {
	for seq := from; seq <= to; {
		sp, err := t.Holding(ctx, channel, seq)
		if err != nil {
			return err
		}
		msgs, err := t.Expand(ctx, channel, sp)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Seq >= from && m.Seq <= to && !f(m) {
				return nil
			}
		}
		seq = sp.Last + 1
	}
	return nil
}

func (t txState) SetChannel(ctx context.Context, channel string, k chat.Kind, value string) error {
	// A name another channel took since the owner checked it is kept
	// (UNIQUE would fail the whole Append): that race leaves the old name.
	q, arg := channelUpdate(k, value)
	_, err := t.a.conn.ExecContext(ctx, `UPDATE OR IGNORE channels SET `+q+` = ? WHERE id = ?`, arg, channel)
	return err
}

func (t txState) SetMember(ctx context.Context, channel, user string, in bool) error {
	q := `DELETE FROM members WHERE channel = ? AND user_id = ?`
	if in {
		q = `INSERT INTO members(channel, user_id) VALUES(?, ?) ON CONFLICT DO NOTHING`
	}
	_, err := t.a.conn.ExecContext(ctx, q, channel, user)
	return err
}

// channelUpdate is the column a channel change sets, and its value.
func channelUpdate(k chat.Kind, value string) (string, any) {
	switch k {
	case chat.KindTopic:
		return "topic", value
	case chat.KindPurpose:
		return "purpose", value
	case chat.KindRename:
		return "name", value
	default:
		return "is_archived", k == chat.KindArchive
	}
}
