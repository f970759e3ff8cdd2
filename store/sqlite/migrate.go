package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// migration is one numbered step of the schema: migrations[i] brings a
// database from version i to i+1. Steps are only ever appended: a step
// that has shipped is never edited or reordered. Each runs inside the
// write transaction that records it, so a step is applied whole or not
// at all.
type migration struct {
	name  string
	apply func(ctx context.Context, conn *sql.Conn) error
}

// migrations is the schema's history. Databases made before versions
// were recorded (version 0) are brought up by the same steps, which is
// why the early ones tolerate what such a database already has.
var migrations = []migration{
	{"the first tables (one row per message)", execStep(`
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users(
	id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, real_name TEXT NOT NULL,
	email TEXT NOT NULL, is_bot INTEGER NOT NULL, is_admin INTEGER NOT NULL,
	deleted INTEGER NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens(hash BLOB PRIMARY KEY, user_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channels(
	id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, creator TEXT NOT NULL,
	created INTEGER NOT NULL, is_private INTEGER NOT NULL, is_archived INTEGER NOT NULL,
	topic TEXT NOT NULL, purpose TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members(channel TEXT NOT NULL, user_id TEXT NOT NULL,
	PRIMARY KEY(channel, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members(user_id, channel);
CREATE TABLE IF NOT EXISTS messages(
	channel TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
	user_id TEXT NOT NULL, text TEXT NOT NULL, thread_ts INTEGER NOT NULL,
	client_msg_id TEXT NOT NULL, PRIMARY KEY(channel, seq)) WITHOUT ROWID;`)},
	{"users.away (users.setPresence)", addAway},
	{"no ts index on the message log", execStep(`DROP INDEX IF EXISTS messages_by_ts`)},
	// The log (segments, see store/segment) is a rowid table, so bodies
	// are appended where the last commit's ended, and an index that holds
	// every column but the body: searches and the fencing check read only
	// the index. (A WITHOUT ROWID table keyed by (channel, first) makes
	// every key comparison on a row that spills into overflow pages read
	// the whole row: half the server's CPU in the publish benchmark.) It
	// has no index on ts: within a channel ts grows with seq, so a ts
	// bound is found by binary search over seqs (History).
	{"the message log as segments", toSegments},
	// Security (issue 12): a user's rate-limit class; tokens revoked for
	// good rather than deleted, so that a later call can say
	// token_revoked; and the revocation log every node polls to drop
	// cached tokens and close sessions.
	{"limit classes, revoked tokens, the revocation log", execStep(`
ALTER TABLE users ADD COLUMN limit_class TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
CREATE TABLE revocations(id INTEGER PRIMARY KEY AUTOINCREMENT, token BLOB, user_id TEXT NOT NULL, at INTEGER NOT NULL);`)},
	// Conversations (issue 14): direct messages are channels of another
	// kind (named chat.DMName, so the unique name makes the same people
	// find the same one), and how far each member has read each one.
	{"direct messages, read marks", execStep(`
ALTER TABLE channels ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
CREATE TABLE marks(user_id TEXT NOT NULL, channel TEXT NOT NULL, last_read INTEGER NOT NULL,
	PRIMARY KEY(user_id, channel)) WITHOUT ROWID;`)},
	// Apps (issue 15): an app, its bot user and event subscriptions; per
	// app and channel, the seq its events were delivered up to.
	{"apps and their delivery positions", execStep(`
CREATE TABLE apps(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, bot_user TEXT NOT NULL UNIQUE,
	bot_id TEXT NOT NULL, events TEXT NOT NULL, signing_secret TEXT NOT NULL, request_url TEXT NOT NULL,
	created INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE app_positions(app TEXT NOT NULL, channel TEXT NOT NULL, seq INTEGER NOT NULL,
	PRIMARY KEY(app, channel)) WITHOUT ROWID;`)},
	// Issue 14: the current state of the messages that changed (edited,
	// deleted, reacted to, thread parents) and of every thread reply,
	// written by Append with the entries (store.ApplyEntry); by thread
	// for Replies.
	{"message state rows", execStep(`
CREATE TABLE msgstate(channel TEXT NOT NULL, ts INTEGER NOT NULL, thread_ts INTEGER NOT NULL, body BLOB NOT NULL,
	PRIMARY KEY(channel, ts)) WITHOUT ROWID;
CREATE INDEX msgstate_by_thread ON msgstate(channel, thread_ts, ts);`)},
	// search.messages (issue 14): the full-text index (search.go), filled
	// with what the log holds.
	{"the full-text search index", addSearch},
	// Issue 14: the direct messages each person closed
	// (conversations.close; conversations.open opens them again).
	{"closed direct messages", execStep(`
CREATE TABLE dm_closed(user_id TEXT NOT NULL, channel TEXT NOT NULL, PRIMARY KEY(user_id, channel)) WITHOUT ROWID;`)},
}

// SchemaVersion is the schema version this binary brings a database to.
var SchemaVersion = len(migrations)

func execStep(q string) func(context.Context, *sql.Conn) error {
	return func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, q)
		return err
	}
}

// addAway adds users.away unless a database from before versions has it.
func addAway(ctx context.Context, conn *sql.Conn) error {
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('users') WHERE name = 'away'`).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := conn.ExecContext(ctx, `ALTER TABLE users ADD COLUMN away INTEGER NOT NULL DEFAULT 0`)
	return err
}

// migrationLockWait is how long a starting node waits for another that
// is migrating the same file (a long migration holds the write lock).
const migrationLockWait = 10 * time.Minute

// migrate brings the database up to SchemaVersion, one step per write
// transaction. BEGIN IMMEDIATE takes SQLite's write lock, and each step
// reads the version again under it: processes starting at once on one
// file apply every step exactly once, whichever gets there first. A
// database newer than the binary is refused.
func migrate(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, migrationLockWait.Milliseconds())); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `PRAGMA busy_timeout = 10000`)
	for {
		done, err := migrateStep(ctx, conn)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next step, if any, in one transaction.
func migrateStep(ctx context.Context, conn *sql.Conn) (done bool, err error) {
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations(
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`); err != nil {
		return false, err
	}
	var have int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return false, err
	}
	if have > len(migrations) {
		return false, store.SchemaTooNew(have, len(migrations))
	}
	if have < len(migrations) {
		m := migrations[have]
		if err := m.apply(ctx, conn); err != nil {
			return false, fmt.Errorf("schema version %d (%s): %w", have+1, m.name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied) VALUES(?, ?, ?)`,
			have+1, m.name, time.Now().Unix()); err != nil {
			return false, err
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return false, err
	}
	return have >= len(migrations)-1, nil
}

// migrateChunk is how many old rows the segments step moves per query.
const migrateChunk = 4096

// toSegments moves a log kept one row per message (the table messages)
// into segments and drops the old table.
func toSegments(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS segments(
	channel TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
	first_ts INTEGER NOT NULL, ts_span INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS segments_by_seq ON segments(channel, first, last, first_ts, ts_span);`); err != nil {
		return err
	}
	a, err := newAppender(conn)
	if err != nil {
		return err
	}
	defer a.close()
	var chunk []chat.Message
	for after := (chat.Message{}); ; {
		rows, err := conn.QueryContext(ctx, `SELECT channel, seq, ts, user_id, text, thread_ts, client_msg_id FROM messages
			WHERE (channel, seq) > (?, ?) ORDER BY channel, seq LIMIT ?`, after.Channel, int64(after.Seq), migrateChunk)
		if err != nil {
			return err
		}
		chunk = chunk[:0]
		for rows.Next() {
			var m chat.Message
			var seq, ts, thread int64
			if err := rows.Scan(&m.Channel, &seq, &ts, &m.User, &m.Text, &thread, &m.ClientMsgID); err != nil {
				rows.Close()
				return err
			}
			m.Seq, m.TS, m.ThreadTS = uint64(seq), chat.TS(ts), chat.TS(thread)
			chunk = append(chunk, m)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(chunk) == 0 {
			break
		}
		a.batch.Group(chunk)
		if err := a.batch.PutEach(a.putRun, a.firstWritten); err != nil {
			return err
		}
		for i, e := range a.batch.Results(chunk) {
			if e != nil {
				return fmt.Errorf("%s seq %d: %w", chunk[i].Channel, chunk[i].Seq, e)
			}
		}
		after = chunk[len(chunk)-1]
	}
	_, err = conn.ExecContext(ctx, `DROP TABLE messages`)
	return err
}
