package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// Store is the PostgreSQL store. Safe for concurrent use; any number of
// processes on any number of machines may share one database.
type Store struct {
	pool *pgxpool.Pool
	once sync.Once

	logMu sync.Mutex // one Append at a time per process, as in store/sqlite
	log   appender
}

var _ store.Store = (*Store)(nil)

// callTimeout bounds every call into the database that the caller's
// context does not bound sooner: a database that stops answering turns
// into errors the roles handle (an owner drops its state, a publisher
// retries) instead of requests that hang.
const callTimeout = 10 * time.Second

// openTimeout bounds connecting and migrating at start-up (migrating
// may wait for another node's migration).
const openTimeout = 10 * time.Minute

// Open connects to the database at url (postgres://user@host/db?...,
// any libpq URL or key=value string pgx accepts), migrates it and
// returns the store. A URL without pool_max_conns gets a pool of
// max(8, 4×GOMAXPROCS) connections. Its errors never show a password.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err) // pgconn redacts the password
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	params := cfg.ConnConfig.RuntimeParams
	// An ack promises the message survives the database server's crash:
	// whatever the server's default, our commits wait for the WAL flush.
	params["synchronous_commit"] = "on"
	if params["application_name"] == "" {
		params["application_name"] = "ringcast"
	}
	where := fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	pctx, pcancel := context.WithTimeout(ctx, callTimeout)
	err = pool.Ping(pctx)
	pcancel()
	if err == nil {
		err = migrate(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool. Safe to call twice.
func (s *Store) Close() error {
	s.once.Do(s.pool.Close)
	return nil
}

// bound returns ctx with the call's deadline: the caller's or
// callTimeout from now, whichever is sooner.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

// exec runs a statement under the call's deadline.
func (s *Store) exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return s.pool.Exec(ctx, q, args...)
}

// list runs a query under the call's deadline and scans every row.
func list[T any](ctx context.Context, s *Store, q string, scan func(Scanner) (T, error), args ...any) ([]T, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if len(out) == 0 {
		out = nil // as store/sqlite: an empty list is nil
	}
	return out, err
}

// byChannel reads a query's (channel, bigint) rows into a map, val
// making each row's value.
func byChannel[V any](ctx context.Context, s *Store, q string, val func(int64) V, args ...any) (map[string]V, error) {
	type row struct {
		ch string
		v  int64
	}
	rows, err := list(ctx, s, q, func(r Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.ch, &x.v)
	}, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]V, len(rows))
	for _, x := range rows {
		out[x.ch] = val(x.v)
	}
	return out, nil
}

// Scanner is a row of a result.
type Scanner interface{ Scan(dest ...any) error }

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// isCode reports whether err is a PostgreSQL error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

const uniqueViolation = "23505"

// Meta implements store.Store.
func (s *Store) Meta(ctx context.Context, key, value string) (string, error) {
	if _, err := s.exec(ctx, `INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT DO NOTHING`, key, value); err != nil {
		return "", fmt.Errorf("store: meta %s: %w", key, err)
	}
	// A new statement: it sees the row of whoever inserted it first.
	return one(ctx, s, `SELECT value FROM meta WHERE key = $1`, scanString, key)
}

const userCols = `id, name, real_name, email, is_bot, is_admin, deleted, created, away, limit_class`

func scanUser(row Scanner) (chat.User, error) {
	var u chat.User
	return u, row.Scan(&u.ID, &u.Name, &u.RealName, &u.Email, &u.IsBot, &u.IsAdmin, &u.Deleted, &u.Created, &u.Away, &u.LimitClass)
}

// one runs a single-row query under the call's deadline and scans it.
func one[T any](ctx context.Context, s *Store, q string, scan func(Scanner) (T, error), args ...any) (T, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	v, err := scan(s.pool.QueryRow(ctx, q, args...))
	return v, notFound(err)
}

func (s *Store) user(ctx context.Context, where string, arg string) (chat.User, error) {
	return one(ctx, s, `SELECT `+userCols+` FROM users WHERE `+where+` = $1`, scanUser, arg)
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u chat.User) error {
	_, err := s.exec(ctx, `INSERT INTO users(`+userCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		u.ID, u.Name, u.RealName, u.Email, u.IsBot, u.IsAdmin, u.Deleted, u.Created, u.Away, u.LimitClass)
	if isCode(err, uniqueViolation) {
		return store.ErrNameTaken
	}
	return err
}

// User implements store.Users.
func (s *Store) User(ctx context.Context, id string) (chat.User, error) {
	return s.user(ctx, "id", id)
}

// UserByName implements store.Users.
func (s *Store) UserByName(ctx context.Context, name string) (chat.User, error) {
	return s.user(ctx, "name", name)
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]chat.User, error) {
	return list(ctx, s, `SELECT `+userCols+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, scanUser, after, limit)
}

// PutToken implements store.Users.
func (s *Store) PutToken(ctx context.Context, hash []byte, userID string) error {
	_, err := s.exec(ctx, `INSERT INTO tokens(hash, user_id) VALUES($1, $2)`, hash, userID)
	return err
}

// TokenUser implements store.Users.
func (s *Store) TokenUser(ctx context.Context, hash []byte) (string, error) {
	type token struct {
		user    string
		revoked bool
	}
	t, err := one(ctx, s, `SELECT user_id, revoked FROM tokens WHERE hash = $1`, func(r Scanner) (token, error) {
		var t token
		return t, r.Scan(&t.user, &t.revoked)
	}, hash)
	if err == nil && t.revoked {
		return "", store.ErrRevoked
	}
	return t.user, err
}

// SetAway implements store.Users.
func (s *Store) SetAway(ctx context.Context, id string, away bool) error {
	return updateUser(ctx, s.pool, `UPDATE users SET away = $1 WHERE id = $2`, away, id)
}

// SetLimitClass implements store.Users.
func (s *Store) SetLimitClass(ctx context.Context, id, class string) error {
	return updateUser(ctx, s.pool, `UPDATE users SET limit_class = $1 WHERE id = $2`, class, id)
}

// updateUser runs an UPDATE of one user's row under the call's deadline:
// ErrNotFound when there is no such user.
func updateUser(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, q string, args ...any) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	tag, err := db.Exec(ctx, q, args...)
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return err
}

// revocationsKept is how long the revocation log keeps an entry (as in
// store/sqlite).
const revocationsKept = 24 * time.Hour

// RevokeToken implements store.Users.
func (s *Store) RevokeToken(ctx context.Context, hash []byte) (string, error) {
	var user string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE tokens SET revoked = true WHERE hash = $1 RETURNING user_id`, hash).Scan(&user); err != nil {
			return notFound(err)
		}
		return logRevocation(ctx, tx, hash, user)
	})
	return user, err
}

// SetDeleted implements store.Users.
func (s *Store) SetDeleted(ctx context.Context, id string, deleted bool) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := updateUser(ctx, tx, `UPDATE users SET deleted = $1 WHERE id = $2`, deleted, id); err != nil || !deleted {
			return err
		}
		return logRevocation(ctx, tx, nil, id)
	})
}

// inTx runs fn in a transaction under the call's deadline.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// logRevocation appends to the revocation log, forgetting entries older
// than revocationsKept.
func logRevocation(ctx context.Context, tx pgx.Tx, hash []byte, user string) error {
	now := time.Now()
	if _, err := tx.Exec(ctx, `DELETE FROM revocations WHERE at < $1`, now.Add(-revocationsKept).Unix()); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO revocations(token, user_id, at) VALUES($1, $2, $3)`, hash, user, now.Unix())
	return err
}

// Revocations implements store.Users.
func (s *Store) Revocations(ctx context.Context, after int64, limit int) ([]store.Revocation, error) {
	return list(ctx, s, `SELECT id, token, user_id FROM revocations WHERE id > $1 ORDER BY id LIMIT $2`,
		func(r Scanner) (store.Revocation, error) {
			var v store.Revocation
			return v, r.Scan(&v.ID, &v.Token, &v.User)
		}, after, limit)
}

const channelCols = `id, name, creator, created, is_private, is_archived, topic, purpose, kind`

func scanChannel(row Scanner) (chat.Channel, error) {
	var c chat.Channel
	var kind int16
	err := row.Scan(&c.ID, &c.Name, &c.Creator, &c.Created, &c.IsPrivate, &c.IsArchived, &c.Topic, &c.Purpose, &kind)
	c.Type = chat.ChannelType(kind)
	return c, err
}

func (s *Store) channel(ctx context.Context, where, arg string) (chat.Channel, error) {
	return one(ctx, s, `SELECT `+channelCols+` FROM channels WHERE `+where+` = $1`, scanChannel, arg)
}

func scanString(row Scanner) (string, error) {
	var v string
	return v, row.Scan(&v)
}

// CreateChannel implements store.Channels.
func (s *Store) CreateChannel(ctx context.Context, c chat.Channel) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO channels(`+channelCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			c.ID, c.Name, c.Creator, c.Created, c.IsPrivate, c.IsArchived, c.Topic, c.Purpose, int16(c.Type)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO members(channel, user_id) VALUES($1, $2)`, c.ID, c.Creator)
		return err
	})
	if isCode(err, uniqueViolation) {
		return store.ErrNameTaken
	}
	return err
}

// OpenDM implements store.Channels. Of two transactions inserting the
// same name, the second waits for the first on the unique index and then
// inserts nothing; its next statement (read committed) sees the first's
// row, so both return the same conversation.
func (s *Store) OpenDM(ctx context.Context, c chat.Channel, members []string) (chat.Channel, bool, error) {
	c.Name = chat.DMName(members)
	ctx, cancel := bound(ctx)
	defer cancel()
	var out chat.Channel
	created := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO channels(`+channelCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)
			ON CONFLICT (name) DO NOTHING`,
			c.ID, c.Name, c.Creator, c.Created, c.IsPrivate, c.IsArchived, c.Topic, c.Purpose, int16(c.Type))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			out, err = scanChannel(tx.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE name = $1`, c.Name))
			return err
		}
		for _, m := range members {
			if _, err := tx.Exec(ctx, `INSERT INTO members(channel, user_id) VALUES($1, $2)`, c.ID, m); err != nil {
				return err
			}
		}
		out, created = c, true
		return nil
	})
	if err != nil {
		return chat.Channel{}, false, err
	}
	return out, created, nil
}

// SetLastRead implements store.Marks.
func (s *Store) SetLastRead(ctx context.Context, user, channel string, ts chat.TS) error {
	_, err := s.exec(ctx, `INSERT INTO marks(user_id, channel, last_read) VALUES($1, $2, $3)
		ON CONFLICT (user_id, channel) DO UPDATE SET last_read = excluded.last_read`, user, channel, int64(ts))
	return err
}

// LastRead implements store.Marks.
func (s *Store) LastRead(ctx context.Context, user, channel string) (chat.TS, error) {
	ts, err := one(ctx, s, `SELECT last_read FROM marks WHERE user_id = $1 AND channel = $2`,
		func(r Scanner) (int64, error) {
			var v int64
			return v, r.Scan(&v)
		}, user, channel)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return chat.TS(ts), err
}

// LastReads implements store.Marks.
func (s *Store) LastReads(ctx context.Context, user string) (map[string]chat.TS, error) {
	return byChannel(ctx, s, `SELECT channel, last_read FROM marks WHERE user_id = $1`,
		func(ts int64) chat.TS { return chat.TS(ts) }, user)
}

// ClosedDMs implements store.Marks.
func (s *Store) ClosedDMs(ctx context.Context, user string) (map[string]bool, error) {
	return byChannel(ctx, s, `SELECT channel, 1::bigint FROM dm_closed WHERE user_id = $1`,
		func(int64) bool { return true }, user)
}

// SetClosed implements store.Marks.
func (s *Store) SetClosed(ctx context.Context, user, channel string, closed bool) (bool, error) {
	q := `DELETE FROM dm_closed WHERE user_id = $1 AND channel = $2`
	if closed {
		q = `INSERT INTO dm_closed(user_id, channel) VALUES($1, $2) ON CONFLICT DO NOTHING`
	}
	tag, err := s.exec(ctx, q, user, channel)
	return err == nil && tag.RowsAffected() == 1, err
}

// Channel implements store.Channels.
func (s *Store) Channel(ctx context.Context, id string) (chat.Channel, error) {
	return s.channel(ctx, "id", id)
}

// ChannelByName implements store.Channels.
func (s *Store) ChannelByName(ctx context.Context, name string) (chat.Channel, error) {
	return s.channel(ctx, "name", name)
}

// ListChannels implements store.Channels.
func (s *Store) ListChannels(ctx context.Context, after string, limit int) ([]chat.Channel, error) {
	return list(ctx, s, `SELECT `+channelCols+` FROM channels WHERE id > $1 ORDER BY id LIMIT $2`, scanChannel, after, limit)
}

// Members implements store.Channels.
func (s *Store) Members(ctx context.Context, channel string) ([]string, error) {
	return list(ctx, s, `SELECT user_id FROM members WHERE channel = $1 ORDER BY user_id`, scanString, channel)
}

// IsMember implements store.Channels.
func (s *Store) IsMember(ctx context.Context, channel, user string) (bool, error) {
	_, err := one(ctx, s, `SELECT user_id FROM members WHERE channel = $1 AND user_id = $2`, scanString, channel, user)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// UserChannels implements store.Channels.
func (s *Store) UserChannels(ctx context.Context, user string) ([]string, error) {
	return list(ctx, s, `SELECT channel FROM members WHERE user_id = $1 ORDER BY channel`, scanString, user)
}

// Messages implements store.Log.
func (s *Store) Messages(ctx context.Context, channel string, after uint64, limit int) ([]chat.Message, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return store.ReadMessages(ctx, reader{s.pool}, channel, after, limit)
}

// History implements store.Log.
func (s *Store) History(ctx context.Context, channel string, q store.HistoryQuery) ([]chat.Message, bool, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return store.ReadHistory(ctx, reader{s.pool}, reader{s.pool}, channel, q)
}

// MessageAt implements store.Log.
func (s *Store) MessageAt(ctx context.Context, channel string, ts chat.TS) (chat.Message, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return store.ReadMessageAt(ctx, reader{s.pool}, reader{s.pool}, channel, ts)
}

// Replies implements store.Log.
func (s *Store) Replies(ctx context.Context, channel string, q store.RepliesQuery) ([]chat.Message, bool, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return store.ReadReplies(ctx, reader{s.pool}, reader{s.pool}, channel, q)
}

// Last implements store.Log.
func (s *Store) Last(ctx context.Context, channel string) (uint64, chat.TS, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return store.ReadLast(ctx, reader{s.pool}, channel)
}

// reader is the log's store.LogReader (a span is one message's row) and
// its store.StateReader, on the pool or in a transaction. It runs under
// the deadline of the call that uses it.
type reader struct{ q querier }

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// span reads the seq and ts of one row as a span of one message.
func span(row Scanner) (store.Span, error) {
	var seq, ts int64
	err := row.Scan(&seq, &ts)
	return store.Span{First: uint64(seq), Last: uint64(seq), FirstTS: chat.TS(ts), LastTS: chat.TS(ts)}, err
}

func (r reader) Newest(ctx context.Context, channel string) (store.Span, bool, error) {
	sp, err := span(r.q.QueryRow(ctx, `SELECT seq, ts FROM messages WHERE channel = $1 ORDER BY seq DESC LIMIT 1`, channel))
	if errors.Is(err, pgx.ErrNoRows) {
		return sp, false, nil
	}
	return sp, err == nil, err
}

func (r reader) Holding(ctx context.Context, channel string, seq uint64) (store.Span, error) {
	sp, err := span(r.q.QueryRow(ctx, `SELECT seq, ts FROM messages WHERE channel = $1 AND seq <= $2
		ORDER BY seq DESC LIMIT 1`, channel, int64(seq)))
	return sp, notFound(err)
}

func (r reader) Expand(ctx context.Context, channel string, sp store.Span) ([]chat.Message, error) {
	var out []chat.Message
	err := r.Read(ctx, channel, sp.First, sp.Last, false, int(sp.Last-sp.First+1), func(m chat.Message) bool {
		out = append(out, m)
		return true
	})
	return out, err
}

func (r reader) Read(ctx context.Context, channel string, from, to uint64, desc bool, limit int, f func(chat.Message) bool) error {
	q := `SELECT seq, ts, user_id, text, thread_ts, client_msg_id, more FROM messages
		WHERE channel = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT $4`
	if desc {
		q = `SELECT seq, ts, user_id, text, thread_ts, client_msg_id, more FROM messages
		WHERE channel = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq DESC LIMIT $4`
	}
	rows, err := r.q.Query(ctx, q, channel, int64(min(from, 1<<63-1)), int64(min(to, 1<<63-1)), limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m := chat.Message{Channel: channel}
		var seq, ts, thread int64
		var more []byte
		if err := rows.Scan(&seq, &ts, &m.User, &m.Text, &thread, &m.ClientMsgID, &more); err != nil {
			return err
		}
		m.Seq, m.TS, m.ThreadTS = uint64(seq), chat.TS(ts), chat.TS(thread)
		if more != nil {
			m.More = new(chat.More)
			if err := json.Unmarshal(more, m.More); err != nil {
				return fmt.Errorf("%w: %s seq %d: %v", store.ErrCorruptLog, channel, seq, err)
			}
		}
		if !f(m) {
			return nil
		}
	}
	return rows.Err()
}

// States implements store.StateReader.
func (r reader) States(ctx context.Context, channel string, from, to chat.TS, f func(chat.Message)) error {
	rows, err := r.q.Query(ctx, `SELECT ts, body FROM message_state WHERE channel = $1 AND ts BETWEEN $2 AND $3`,
		channel, int64(from), int64(to))
	if err != nil {
		return err
	}
	defer rows.Close()
	return store.EachState(rows, channel, func(m chat.Message) bool { f(m); return true })
}

// Thread implements store.StateReader.
func (r reader) Thread(ctx context.Context, channel string, thread, from chat.TS, limit int, f func(chat.Message) bool) error {
	rows, err := r.q.Query(ctx, `SELECT ts, body FROM message_state WHERE channel = $1 AND thread_ts = $2 AND ts >= $3
		ORDER BY ts LIMIT $4`, channel, int64(thread), int64(from), limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	return store.EachState(rows, channel, f)
}

// txState is an Append's transaction as a store.StateTx.
type txState struct{ tx pgx.Tx }

func (t txState) State(ctx context.Context, channel string, ts chat.TS) (chat.Message, bool, error) {
	var body []byte
	err := t.tx.QueryRow(ctx, `SELECT body FROM message_state WHERE channel = $1 AND ts = $2`, channel, int64(ts)).Scan(&body)
	if err == nil {
		m, err := store.DecodeState(channel, ts, body)
		return m, err == nil, err
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return chat.Message{}, false, err
	}
	return store.FindTS(ctx, reader{t.tx}, channel, ts)
}

func (t txState) PutState(ctx context.Context, m *chat.Message) error {
	body, err := store.EncodeState(m)
	if err == nil {
		_, err = t.tx.Exec(ctx, `INSERT INTO message_state(channel, ts, thread_ts, body) VALUES($1, $2, $3, $4)
			ON CONFLICT (channel, ts) DO UPDATE SET thread_ts = excluded.thread_ts, body = excluded.body`,
			m.Channel, int64(m.TS), int64(m.ThreadTS), body)
	}
	return err
}

func (t txState) SetMember(ctx context.Context, channel, user string, in bool) error {
	q := `DELETE FROM members WHERE channel = $1 AND user_id = $2`
	if in {
		q = `INSERT INTO members(channel, user_id) VALUES($1, $2) ON CONFLICT DO NOTHING`
	}
	_, err := t.tx.Exec(ctx, q, channel, user)
	return err
}

func (t txState) SetChannel(ctx context.Context, channel string, k chat.Kind, value string) error {
	var err error
	switch k {
	case chat.KindTopic:
		_, err = t.tx.Exec(ctx, `UPDATE channels SET topic = $1 WHERE id = $2`, value, channel)
	case chat.KindPurpose:
		_, err = t.tx.Exec(ctx, `UPDATE channels SET purpose = $1 WHERE id = $2`, value, channel)
	case chat.KindRename:
		// A name another channel took since the owner checked it is kept
		// (a unique violation would fail the whole Append).
		_, err = t.tx.Exec(ctx, `UPDATE channels SET name = $1 WHERE id = $2
			AND NOT EXISTS (SELECT 1 FROM channels WHERE name = $1 AND id <> $2)`, value, channel)
	default:
		_, err = t.tx.Exec(ctx, `UPDATE channels SET is_archived = $1 WHERE id = $2`, k == chat.KindArchive, channel)
	}
	return err
}
