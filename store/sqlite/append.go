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
	db                      *sql.DB // one connection, conn
	conn                    *sql.Conn
	begin, commit, rollback *sql.Stmt
	put                     *sql.Stmt         // one segment, unless it overlaps a written one
	puts                    map[int]*sql.Stmt // put of many segments, by count
	holding, next           *sql.Stmt         // the segment holding a seq / the one after it

	// Scratch of one Append.
	runs  []run
	open  map[string]int // channel -> its last run in runs
	runOf []int          // msgs[i] is in runs[runOf[i]]
	order []chat.Message // msgs grouped by run
	body  []byte
	args  []any
}

// run is one segment to write: msgs of one channel with consecutive seqs,
// order[start:start+n].
type run struct {
	first, last uint64
	start, n    int
	cut         uint64 // seqs >= cut conflict (last+1: none)
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
	// SQLite's business (today it does: no temporary table), so group
	// sends a batch whose runs of a channel do not go up row by row.
	putSegments = `INSERT OR IGNORE INTO segments(channel, first, last, first_ts, ts_span, body)
		SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (VALUES %s) AS v
		WHERE coalesce((SELECT s.last FROM segments AS s WHERE s.channel = v.column1 AND s.first <= v.column3
			ORDER BY s.first DESC LIMIT 1), 0) < v.column2`
	segmentHead    = `first, last, first_ts, ts_span` // all in the index
	segmentCols    = segmentHead + `, body`
	holdingSegment = `SELECT ` + segmentHead + ` FROM segments WHERE channel = ? AND first <= ? ORDER BY first DESC LIMIT 1`
	segmentBody    = `SELECT body FROM segments WHERE channel = ? AND first = ?`
	nextSegment    = `SELECT first FROM segments WHERE channel = ? AND first > ? ORDER BY first LIMIT 1`
)

func openAppender(dsn string) (*appender, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	a := &appender{db: db, open: map[string]int{}, puts: map[int]*sql.Stmt{}}
	bg := context.Background()
	if a.conn, err = db.Conn(bg); err != nil {
		db.Close()
		return nil, err
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		q    string
	}{
		{&a.begin, `BEGIN IMMEDIATE`}, {&a.commit, `COMMIT`}, {&a.rollback, `ROLLBACK`},
		{&a.put, putSegment}, {&a.holding, holdingSegment}, {&a.next, nextSegment},
	} {
		if *p.stmt, err = a.conn.PrepareContext(bg, p.q); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

func (a *appender) close() error {
	for _, st := range []*sql.Stmt{a.begin, a.commit, a.rollback, a.put, a.holding, a.next} {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range a.puts {
		st.Close()
	}
	if a.conn != nil {
		a.conn.Close()
	}
	return a.db.Close()
}

// Append implements store.Log: each channel's consecutive messages in
// msgs become one segment row. The segments go in by multi-row INSERTs;
// if any is refused (a stale writer), the transaction is redone segment
// by segment, which finds each conflicting seq exactly.
func (s *Store) Append(ctx context.Context, msgs []chat.Message) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := s.log
	a.mu.Lock()
	defer a.mu.Unlock()
	increasing := a.group(msgs)
	res, err := a.inTx(func() ([]error, error) {
		if !increasing {
			return nil, errRefused
		}
		if err := a.putAll(); err != nil {
			return nil, err
		}
		return a.results(msgs), nil
	})
	if errors.Is(err, errRefused) {
		res, err = a.inTx(func() ([]error, error) {
			if err := a.putEach(); err != nil {
				return nil, err
			}
			return a.results(msgs), nil
		})
	}
	clear(a.order) // let the texts go
	if err != nil {
		return nil, fmt.Errorf("store: append: %w", err)
	}
	return res, nil
}

// errRefused: a segment of a multi-row INSERT was not written.
var errRefused = errors.New("a segment overlaps a written one")

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

// putAll writes every run, many per statement; errRefused when one was
// not written.
func (a *appender) putAll() error {
	for i := 0; i < len(a.runs); i += putChunk {
		runs := a.runs[i:min(i+putChunk, len(a.runs))]
		stmt, err := a.putMany(len(runs))
		if err != nil {
			return err
		}
		a.body, a.args = a.body[:0], a.args[:0]
		for _, r := range runs {
			a.addRow(a.order[r.start : r.start+r.n])
		}
		res, err := stmt.ExecContext(context.Background(), a.args...)
		clear(a.args)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(runs)) {
			return errors.Join(err, errRefused)
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

// putEach writes the runs one at a time, finding where each conflicts.
func (a *appender) putEach() error {
	var stale map[string]bool // channels fenced in this Append
	for i := range a.runs {
		r := &a.runs[i]
		part := a.order[r.start : r.start+r.n]
		ch := part[0].Channel
		if stale[ch] {
			r.cut = r.first
			continue
		}
		ok, err := a.putRun(part)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		// Some seq of the run is written already: write the seqs before
		// the first such one, and nothing more of this channel.
		if r.cut, err = a.firstWritten(ch, r.first); err != nil {
			return err
		}
		if r.cut > r.last { // refused, yet nothing written overlaps it
			return fmt.Errorf("segment %s %d-%d refused without an overlapping one", ch, r.first, r.last)
		}
		if r.cut > r.first {
			if ok, err := a.putRun(part[:r.cut-r.first]); err != nil || !ok {
				return errors.Join(err, fmt.Errorf("segment %s %d-%d conflicts without cause", ch, r.first, r.cut-1))
			}
		}
		if stale == nil {
			stale = map[string]bool{}
		}
		stale[ch] = true
	}
	return nil
}

// results is the outcome of each of msgs once the runs are written.
func (a *appender) results(msgs []chat.Message) []error {
	res := make([]error, len(msgs))
	for i, m := range msgs {
		if m.Seq >= a.runs[a.runOf[i]].cut {
			res[i] = store.ErrConflict
		}
	}
	return res
}

// group splits msgs into runs (a channel's consecutive seqs, in the order
// they appear) and lays them out in a.order run by run. It reports
// whether each channel's runs go up: only then can the segments of a
// multi-row INSERT not overlap each other, whatever each row's check
// sees of the rows before it.
func (a *appender) group(msgs []chat.Message) (increasing bool) {
	a.runs, a.runOf = a.runs[:0], a.runOf[:0]
	clear(a.open)
	increasing = true
	for _, m := range msgs {
		j, ok := a.open[m.Channel]
		if ok && a.runs[j].last+1 == m.Seq && a.runs[j].n < maxSegment {
			a.runs[j].last++
			a.runs[j].n++
		} else {
			increasing = increasing && (!ok || m.Seq > a.runs[j].last)
			j = len(a.runs)
			a.runs = append(a.runs, run{first: m.Seq, last: m.Seq, n: 1})
			a.open[m.Channel] = j
		}
		a.runOf = append(a.runOf, j)
	}
	at := 0
	for i := range a.runs {
		r := &a.runs[i]
		r.start, r.cut = at, r.last+1
		at, r.n = at+r.n, 0 // n counts again as the run is laid out
	}
	if cap(a.order) < len(msgs) {
		a.order = make([]chat.Message, len(msgs))
	}
	a.order = a.order[:len(msgs)]
	for i, m := range msgs {
		r := &a.runs[a.runOf[i]]
		a.order[r.start+r.n] = m
		r.n++
	}
	return increasing
}

// maxSegment bounds the messages of one segment, and so what a read
// that wants one of them decodes (a busy channel's commit can hold
// thousands).
const maxSegment = 256

// addRow appends the segment of part to a.body and its row's arguments,
// in the order of putSegment's columns, to a.args.
func (a *appender) addRow(part []chat.Message) {
	at := len(a.body)
	a.body = appendSegment(a.body, part)
	first, last := part[0], part[len(part)-1]
	a.args = append(a.args, first.Channel, int64(first.Seq), int64(last.Seq),
		int64(first.TS), int64(last.TS-first.TS), a.body[at:len(a.body):len(a.body)])
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
	seg, err := scanHead(a.holding.QueryRowContext(bg, channel, int64(from)))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if err == nil && seg.last >= from {
		return from, nil
	}
	var first int64
	err = a.next.QueryRowContext(bg, channel, int64(from)).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return ^uint64(0), nil
	}
	return uint64(first), err
}

// migrateChunk is how many old rows the migration moves per step.
const migrateChunk = 4096

// migrateMessages moves a log kept one row per message (the table
// messages, before segments) into segments and drops the old table, all
// in one transaction: an interrupted migration leaves the old table
// whole and runs again at the next Open.
func (a *appender) migrateMessages() error {
	bg := context.Background()
	var n int
	if err := a.conn.QueryRowContext(bg, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err := a.inTx(func() ([]error, error) {
		var chunk []chat.Message
		for after := (chat.Message{}); ; {
			rows, err := a.conn.QueryContext(bg, `SELECT channel, seq, ts, user_id, text, thread_ts, client_msg_id FROM messages
				WHERE (channel, seq) > (?, ?) ORDER BY channel, seq LIMIT ?`, after.Channel, int64(after.Seq), migrateChunk)
			if err != nil {
				return nil, err
			}
			chunk = chunk[:0]
			for rows.Next() {
				var m chat.Message
				var seq, ts, thread int64
				if err := rows.Scan(&m.Channel, &seq, &ts, &m.User, &m.Text, &thread, &m.ClientMsgID); err != nil {
					rows.Close()
					return nil, err
				}
				m.Seq, m.TS, m.ThreadTS = uint64(seq), chat.TS(ts), chat.TS(thread)
				chunk = append(chunk, m)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return nil, err
			}
			if len(chunk) == 0 {
				break
			}
			a.group(chunk)
			if err := a.putEach(); err != nil {
				return nil, err
			}
			for i, e := range a.results(chunk) {
				if e != nil {
					return nil, fmt.Errorf("migrate %s seq %d: %w", chunk[i].Channel, chunk[i].Seq, e)
				}
			}
			after = chunk[len(chunk)-1]
		}
		_, err := a.conn.ExecContext(bg, `DROP TABLE messages`)
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("migrate the message log to segments: %w", err)
	}
	return nil
}
