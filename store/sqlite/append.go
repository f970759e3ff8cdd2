package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

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
	one                     *sql.Stmt         // single-row insert, for the conflict path
	multi                   map[int]*sql.Stmt // multi-row inserts by row count
	args                    []any             // argument buffer
}

// appendChunk is the most rows one INSERT statement carries.
const appendChunk = 64

func openAppender(dsn string) (*appender, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	a := &appender{db: db, multi: map[int]*sql.Stmt{}}
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
		{&a.one, `INSERT OR IGNORE INTO messages(channel, seq, ts, user_id, text, thread_ts, client_msg_id) VALUES(?,?,?,?,?,?,?)`},
	} {
		if *p.stmt, err = a.conn.PrepareContext(bg, p.q); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

func (a *appender) close() error {
	for _, st := range []*sql.Stmt{a.begin, a.commit, a.rollback, a.one} {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range a.multi {
		st.Close()
	}
	if a.conn != nil {
		a.conn.Close()
	}
	return a.db.Close()
}

// insert returns the INSERT of n rows, preparing it on first use. It is
// OR IGNORE, not ON CONFLICT DO NOTHING: with the latter a NOT NULL
// column may still abort the statement midway, so SQLite keeps a
// statement journal, a copy of every page the INSERT touches written to
// a temporary file (40% of the CPU of a large batch). Our rows never hold
// NULLs, so both ignore exactly the rows whose (channel, seq) exists.
func (a *appender) insert(n int) (*sql.Stmt, error) {
	if st := a.multi[n]; st != nil {
		return st, nil
	}
	q := "INSERT OR IGNORE INTO messages(channel, seq, ts, user_id, text, thread_ts, client_msg_id) VALUES" +
		strings.Repeat("(?,?,?,?,?,?,?),", n)
	st, err := a.conn.PrepareContext(context.Background(), q[:len(q)-1])
	if err != nil {
		return nil, err
	}
	a.multi[n] = st
	return st, nil
}

// Append implements store.Log. Rows go in by multi-row INSERTs; if any
// row conflicts, the transaction is redone row by row, which reports
// each conflict and skips the rest of that channel exactly.
func (s *Store) Append(ctx context.Context, msgs []store.Message) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := s.log
	a.mu.Lock()
	defer a.mu.Unlock()
	res, err := a.append(msgs)
	if err != nil {
		return nil, fmt.Errorf("store: append: %w", err)
	}
	return res, nil
}

func (a *appender) append(msgs []store.Message) ([]error, error) {
	bg := context.Background()
	if _, err := a.begin.ExecContext(bg); err != nil {
		return nil, err
	}
	clean := true
	for i := 0; i < len(msgs) && clean; i += appendChunk {
		part := msgs[i:min(i+appendChunk, len(msgs))]
		stmt, err := a.insert(len(part))
		if err != nil {
			a.rollback.ExecContext(bg)
			return nil, err
		}
		a.args = a.args[:0]
		for _, m := range part {
			a.args = append(a.args, m.Channel, int64(m.Seq), int64(m.TS), m.User, m.Text, int64(m.ThreadTS), m.ClientMsgID)
		}
		r, err := stmt.ExecContext(bg, a.args...)
		clear(a.args)
		if err != nil {
			a.rollback.ExecContext(bg)
			return nil, err
		}
		n, _ := r.RowsAffected()
		clean = n == int64(len(part))
	}
	if !clean {
		if _, err := a.rollback.ExecContext(bg); err != nil {
			return nil, err
		}
		return a.appendRows(msgs)
	}
	if _, err := a.commit.ExecContext(bg); err != nil {
		a.rollback.ExecContext(bg)
		return nil, err
	}
	return make([]error, len(msgs)), nil
}

// appendRows is append one row at a time: the path taken when a stale
// writer collided with another.
func (a *appender) appendRows(msgs []store.Message) ([]error, error) {
	bg := context.Background()
	res := make([]error, len(msgs))
	if _, err := a.begin.ExecContext(bg); err != nil {
		return nil, err
	}
	var stale map[string]bool
	for i, m := range msgs {
		if stale[m.Channel] {
			res[i] = store.ErrConflict
			continue
		}
		r, err := a.one.ExecContext(bg, m.Channel, int64(m.Seq), int64(m.TS), m.User, m.Text, int64(m.ThreadTS), m.ClientMsgID)
		if err != nil {
			a.rollback.ExecContext(bg)
			return nil, err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res[i] = store.ErrConflict
			if stale == nil {
				stale = map[string]bool{}
			}
			stale[m.Channel] = true
		}
	}
	if _, err := a.commit.ExecContext(bg); err != nil {
		a.rollback.ExecContext(bg)
		return nil, err
	}
	return res, nil
}
