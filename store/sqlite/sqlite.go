package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/segment"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is the embedded store. Safe for concurrent use.
type Store struct {
	w, r  *sql.DB
	logDB *sql.DB // one connection, the appender's
	idx   *sql.DB // one connection, the search indexer's
	stop  chan struct{}
	done  chan struct{}
	// indexDone is closed when the search indexer (search.go) returns.
	indexDone chan struct{}
	once      sync.Once
	appended  atomic.Uint64 // messages given to Append: the indexer yields while they come fast

	log *appender // writes messages

	readMu sync.Mutex           // guards reads
	reads  map[string]*sql.Stmt // prepared read statements, by query
}

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = time.Second

// walPages is the WAL's size, in pages, past which the writer itself
// checkpoints after a commit (8 MiB with 4 KiB pages).
const walPages = 2000

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path.
func Open(path string) (*Store, error) { return open(path, true) }

// open is Open; without indexing no indexer runs (a benchmark of
// searches from the log's tail alone).
func open(path string, indexing bool) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(OFF)")
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			q.Add(k, v)
		}
		return "file:" + path + "?" + q.Encode()
	}
	// A background goroutine copies the WAL back into the database off the
	// commit's path. That alone never lets the WAL start over while
	// commits follow each other closely (a restart needs a checkpoint that
	// finished with nothing appended since), so under sustained load the
	// file would grow without bound. The writer therefore checkpoints
	// too, once the WAL passes walPages: with nothing to race, its
	// checkpoint finishes, mostly finding the pages already copied, and
	// the next commit writes the WAL from its start again.
	autoCheckpoint := fmt.Sprintf("_pragma=wal_autocheckpoint(%d)", walPages)
	w, err := sql.Open("sqlite", dsn("_txlock=immediate", autoCheckpoint))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), migrationLockWait+time.Minute)
	defer cancel()
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	logDB, log, err := openLog(dsn(autoCheckpoint))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// The search indexer's writes need no fsync of their own (search.go):
	// a lost one is redone from the log.
	idx, err := sql.Open("sqlite", dsn("_txlock=immediate", autoCheckpoint, "_pragma=synchronous(NORMAL)"))
	if err != nil {
		log.close()
		errors.Join(log.conn.Close(), logDB.Close(), w.Close(), r.Close())
		return nil, err
	}
	idx.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, idx: idx, logDB: logDB, log: log, stop: make(chan struct{}), done: make(chan struct{}),
		indexDone: make(chan struct{})}
	go s.checkpoints()
	if indexing {
		go s.indexer()
	} else {
		close(s.indexDone)
	}
	return s, nil
}

// checkpoints copies the WAL back into the database every second
// (PASSIVE: it never blocks writers or readers).
func (s *Store) checkpoints() {
	defer close(s.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.r.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// Close closes the connections. Safe to call twice.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		<-s.indexDone
		for _, st := range s.reads {
			st.Close()
		}
		s.log.close()
		err = errors.Join(s.log.conn.Close(), s.logDB.Close(), s.idx.Close(), s.w.Close(), s.r.Close())
	})
	return err
}

// read returns the prepared statement of a read query, preparing it on
// first use: queries are prepared once, not on every call.
func (s *Store) read(q string) (*sql.Stmt, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if st := s.reads[q]; st != nil {
		return st, nil
	}
	st, err := s.r.Prepare(q)
	if err != nil {
		return nil, err
	}
	if s.reads == nil {
		s.reads = map[string]*sql.Stmt{}
	}
	s.reads[q] = st
	return st, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.read(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// rowScanner is a single-row result whose preparation may have failed.
type rowScanner struct {
	row *sql.Row
	err error
}

func (r rowScanner) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	st, err := s.read(q)
	if err != nil {
		return rowScanner{err: err}
	}
	return rowScanner{row: st.QueryRowContext(ctx, args...)}
}

// Meta implements store.Store.
func (s *Store) Meta(ctx context.Context, key, value string) (string, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT DO NOTHING`, key, value); err != nil {
		return "", fmt.Errorf("store: meta %s: %w", key, err)
	}
	var v string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	return v, err
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

const userCols = `id, name, real_name, email, is_bot, is_admin, deleted, created, away, limit_class`

func scanUser(row interface{ Scan(...any) error }) (chat.User, error) {
	var u chat.User
	err := row.Scan(&u.ID, &u.Name, &u.RealName, &u.Email, &u.IsBot, &u.IsAdmin, &u.Deleted, &u.Created, &u.Away, &u.LimitClass)
	return u, notFound(err)
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u chat.User) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO users(`+userCols+`) VALUES(?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.Name, u.RealName, u.Email, u.IsBot, u.IsAdmin, u.Deleted, u.Created, u.Away, u.LimitClass)
	if isUnique(err) {
		return store.ErrNameTaken
	}
	return err
}

// User implements store.Users.
func (s *Store) User(ctx context.Context, id string) (chat.User, error) {
	return scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// UserByName implements store.Users.
func (s *Store) UserByName(ctx context.Context, name string) (chat.User, error) {
	return scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]chat.User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// PutToken implements store.Users.
func (s *Store) PutToken(ctx context.Context, hash []byte, userID string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO tokens(hash, user_id) VALUES(?, ?)`, hash, userID)
	return err
}

// SetAway implements store.Users.
func (s *Store) SetAway(ctx context.Context, id string, away bool) error {
	return s.updateUser(ctx, s.w, `UPDATE users SET away = ? WHERE id = ?`, away, id)
}

// SetLimitClass implements store.Users.
func (s *Store) SetLimitClass(ctx context.Context, id, class string) error {
	return s.updateUser(ctx, s.w, `UPDATE users SET limit_class = ? WHERE id = ?`, class, id)
}

// updateUser runs an UPDATE of one user's row: ErrNotFound when there is
// no such user.
func (s *Store) updateUser(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) error {
	r, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// TokenUser implements store.Users.
func (s *Store) TokenUser(ctx context.Context, hash []byte) (string, error) {
	var id string
	var revoked bool
	err := s.queryRow(ctx, `SELECT user_id, revoked FROM tokens WHERE hash = ?`, hash).Scan(&id, &revoked)
	if err == nil && revoked {
		return "", store.ErrRevoked
	}
	return id, notFound(err)
}

// revocationsKept is how long the revocation log keeps an entry: nodes
// poll it every fraction of a second, and one that starts reads it from
// the beginning (applying old entries is harmless).
const revocationsKept = 24 * time.Hour

// RevokeToken implements store.Users.
func (s *Store) RevokeToken(ctx context.Context, hash []byte) (string, error) {
	var user string
	err := s.revoke(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `UPDATE tokens SET revoked = 1 WHERE hash = ? RETURNING user_id`, hash).Scan(&user); err != nil {
			return notFound(err)
		}
		return logRevocation(ctx, tx, hash, user)
	})
	return user, err
}

// SetDeleted implements store.Users.
func (s *Store) SetDeleted(ctx context.Context, id string, deleted bool) error {
	return s.revoke(ctx, func(tx *sql.Tx) error {
		if err := s.updateUser(ctx, tx, `UPDATE users SET deleted = ? WHERE id = ?`, deleted, id); err != nil || !deleted {
			return err
		}
		return logRevocation(ctx, tx, nil, id)
	})
}

// revoke runs fn in a write transaction.
func (s *Store) revoke(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// logRevocation appends to the revocation log, forgetting entries older
// than revocationsKept.
func logRevocation(ctx context.Context, tx *sql.Tx, hash []byte, user string) error {
	now := time.Now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM revocations WHERE at < ?`, now.Add(-revocationsKept).Unix()); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO revocations(token, user_id, at) VALUES(?, ?, ?)`, hash, user, now.Unix())
	return err
}

// Revocations implements store.Users.
func (s *Store) Revocations(ctx context.Context, after int64, limit int) ([]store.Revocation, error) {
	rows, err := s.query(ctx, `SELECT id, token, user_id FROM revocations WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (store.Revocation, error) {
		var v store.Revocation
		return v, r.Scan(&v.ID, &v.Token, &v.User)
	})
}

const channelCols = `id, name, creator, created, is_private, is_archived, topic, purpose, kind`

func scanChannel(row interface{ Scan(...any) error }) (chat.Channel, error) {
	var c chat.Channel
	err := row.Scan(&c.ID, &c.Name, &c.Creator, &c.Created, &c.IsPrivate, &c.IsArchived, &c.Topic, &c.Purpose, &c.Type)
	return c, notFound(err)
}

// CreateChannel implements store.Channels.
func (s *Store) CreateChannel(ctx context.Context, c chat.Channel) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO channels(`+channelCols+`) VALUES(?,?,?,?,?,?,?,?,?)`,
		c.ID, c.Name, c.Creator, c.Created, c.IsPrivate, c.IsArchived, c.Topic, c.Purpose, c.Type)
	if isUnique(err) {
		return store.ErrNameTaken
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO members(channel, user_id) VALUES(?, ?)`, c.ID, c.Creator); err != nil {
		return err
	}
	return tx.Commit()
}

// OpenDM implements store.Channels. The write connection's
// transactions take SQLite's write lock at BEGIN, so of two processes
// opening the same conversation the second finds the first's.
func (s *Store) OpenDM(ctx context.Context, c chat.Channel, members []string) (chat.Channel, bool, error) {
	c.Name = chat.DMName(members)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.Channel{}, false, err
	}
	defer tx.Rollback()
	old, err := scanChannel(tx.QueryRowContext(ctx, `SELECT `+channelCols+` FROM channels WHERE name = ?`, c.Name))
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return old, false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO channels(`+channelCols+`) VALUES(?,?,?,?,?,?,?,?,?)`,
		c.ID, c.Name, c.Creator, c.Created, c.IsPrivate, c.IsArchived, c.Topic, c.Purpose, c.Type); err != nil {
		return chat.Channel{}, false, err
	}
	for _, m := range members {
		if _, err := tx.ExecContext(ctx, `INSERT INTO members(channel, user_id) VALUES(?, ?)`, c.ID, m); err != nil {
			return chat.Channel{}, false, err
		}
	}
	return c, true, tx.Commit()
}

// SetLastRead implements store.Marks.
func (s *Store) SetLastRead(ctx context.Context, user, channel string, ts chat.TS) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO marks(user_id, channel, last_read) VALUES(?, ?, ?)
		ON CONFLICT(user_id, channel) DO UPDATE SET last_read = excluded.last_read`, user, channel, int64(ts))
	return err
}

// LastRead implements store.Marks.
func (s *Store) LastRead(ctx context.Context, user, channel string) (chat.TS, error) {
	var ts int64
	err := s.queryRow(ctx, `SELECT last_read FROM marks WHERE user_id = ? AND channel = ?`, user, channel).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return chat.TS(ts), err
}

// LastReads implements store.Marks.
func (s *Store) LastReads(ctx context.Context, user string) (map[string]chat.TS, error) {
	return byChannel(ctx, s, `SELECT channel, last_read FROM marks WHERE user_id = ?`,
		func(ts int64) chat.TS { return chat.TS(ts) }, user)
}

// ClosedDMs implements store.Marks.
func (s *Store) ClosedDMs(ctx context.Context, user string) (map[string]bool, error) {
	return byChannel(ctx, s, `SELECT channel, 1 FROM dm_closed WHERE user_id = ?`,
		func(int64) bool { return true }, user)
}

// byChannel reads a query's (channel, integer) rows into a map, val
// making each row's value.
func byChannel[V any](ctx context.Context, s *Store, q string, val func(int64) V, args ...any) (map[string]V, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]V{}
	for rows.Next() {
		var ch string
		var v int64
		if err := rows.Scan(&ch, &v); err != nil {
			return nil, err
		}
		out[ch] = val(v)
	}
	return out, rows.Err()
}

// SetClosed implements store.Marks.
func (s *Store) SetClosed(ctx context.Context, user, channel string, closed bool) (bool, error) {
	q := `DELETE FROM dm_closed WHERE user_id = ? AND channel = ?`
	if closed {
		q = `INSERT INTO dm_closed(user_id, channel) VALUES(?, ?) ON CONFLICT DO NOTHING`
	}
	r, err := s.w.ExecContext(ctx, q, user, channel)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// Channel implements store.Channels.
func (s *Store) Channel(ctx context.Context, id string) (chat.Channel, error) {
	return scanChannel(s.queryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE id = ?`, id))
}

// ChannelByName implements store.Channels.
func (s *Store) ChannelByName(ctx context.Context, name string) (chat.Channel, error) {
	return scanChannel(s.queryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE name = ?`, name))
}

// ListChannels implements store.Channels.
func (s *Store) ListChannels(ctx context.Context, after string, limit int) ([]chat.Channel, error) {
	rows, err := s.query(ctx, `SELECT `+channelCols+` FROM channels WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanChannel)
}

func scanString(row interface{ Scan(...any) error }) (string, error) {
	var s string
	return s, row.Scan(&s)
}

// Members implements store.Channels.
func (s *Store) Members(ctx context.Context, channel string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT user_id FROM members WHERE channel = ? ORDER BY user_id`, channel)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanString)
}

// IsMember implements store.Channels.
func (s *Store) IsMember(ctx context.Context, channel, user string) (bool, error) {
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM members WHERE channel = ? AND user_id = ?`, channel, user).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// UserChannels implements store.Channels.
func (s *Store) UserChannels(ctx context.Context, user string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT channel FROM members WHERE user_id = ? ORDER BY channel`, user)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanString)
}

// Messages implements store.Log.
func (s *Store) Messages(ctx context.Context, channel string, after uint64, limit int) ([]chat.Message, error) {
	return store.ReadMessages(ctx, reader{s}, channel, after, limit)
}

// History implements store.Log.
func (s *Store) History(ctx context.Context, channel string, q store.HistoryQuery) ([]chat.Message, bool, error) {
	return store.ReadHistory(ctx, reader{s}, reader{s}, channel, q)
}

// MessageAt implements store.Log.
func (s *Store) MessageAt(ctx context.Context, channel string, ts chat.TS) (chat.Message, error) {
	return store.ReadMessageAt(ctx, reader{s}, reader{s}, channel, ts)
}

// Replies implements store.Log.
func (s *Store) Replies(ctx context.Context, channel string, q store.RepliesQuery) ([]chat.Message, bool, error) {
	return store.ReadReplies(ctx, reader{s}, reader{s}, channel, q)
}

// Last implements store.Log.
func (s *Store) Last(ctx context.Context, channel string) (uint64, chat.TS, error) {
	return store.ReadLast(ctx, reader{s}, channel)
}

// reader is the log's store.LogReader over segments, from the read pool.
type reader struct{ s *Store }

func (r reader) Newest(ctx context.Context, channel string) (store.Span, bool, error) {
	var h store.Span
	err := segment.ScanHead(r.s.queryRow(ctx, newestSegment, channel), &h)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	return h, err == nil, err
}

func (r reader) Holding(ctx context.Context, channel string, seq uint64) (store.Span, error) {
	var h store.Span
	return h, notFound(segment.ScanHead(r.s.queryRow(ctx, holdingSegment, channel, int64(seq)), &h))
}

func (r reader) Expand(ctx context.Context, channel string, sp store.Span) ([]chat.Message, error) {
	seg := segment.Segment{Span: sp}
	if err := r.s.queryRow(ctx, segmentBody, channel, int64(sp.First)).Scan(&seg.Body); err != nil {
		return nil, notFound(err)
	}
	return seg.Decode(nil, channel)
}

// Read stops reading segments when f says so; limit needs no SQL.
func (r reader) Read(ctx context.Context, channel string, from, to uint64, desc bool, _ int, f func(chat.Message) bool) error {
	q := `SELECT ` + segmentCols + ` FROM segments WHERE channel = ?1 AND first <= ?3
		AND first >= coalesce((SELECT first FROM segments WHERE channel = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1), 0)
		ORDER BY first`
	if desc {
		q += ` DESC`
	}
	rows, err := r.s.query(ctx, q, channel, int64(from), int64(to))
	if err != nil {
		return err
	}
	defer rows.Close()
	return segment.Each(rows, channel, from, to, desc, f)
}

// States implements store.StateReader.
func (r reader) States(ctx context.Context, channel string, from, to chat.TS, f func(chat.Message)) error {
	rows, err := r.s.query(ctx, statesBetween, channel, int64(from), int64(to))
	if err != nil {
		return err
	}
	defer rows.Close()
	return store.EachState(rows, channel, func(m chat.Message) bool { f(m); return true })
}

// Thread implements store.StateReader.
func (r reader) Thread(ctx context.Context, channel string, thread, from chat.TS, limit int, f func(chat.Message) bool) error {
	rows, err := r.s.query(ctx, threadStates, channel, int64(thread), int64(from), limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	return store.EachState(rows, channel, f)
}

func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
