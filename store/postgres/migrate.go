package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ringcast/ringcast/store"
)

// migrations is the schema's history: migrations[i] brings a database
// from version i to i+1. Steps are only ever appended; a step that has
// shipped is never edited or reordered.
var migrations = []struct{ name, sql string }{
	{"the first tables", `
CREATE TABLE meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE users(
	id text COLLATE "C" PRIMARY KEY, name text COLLATE "C" NOT NULL UNIQUE, real_name text NOT NULL,
	email text NOT NULL, is_bot boolean NOT NULL, is_admin boolean NOT NULL,
	deleted boolean NOT NULL, created bigint NOT NULL, away boolean NOT NULL DEFAULT false);
CREATE TABLE tokens(hash bytea PRIMARY KEY, user_id text COLLATE "C" NOT NULL);
CREATE TABLE channels(
	id text COLLATE "C" PRIMARY KEY, name text COLLATE "C" NOT NULL UNIQUE, creator text COLLATE "C" NOT NULL,
	created bigint NOT NULL, is_private boolean NOT NULL, is_archived boolean NOT NULL,
	topic text NOT NULL, purpose text NOT NULL);
CREATE TABLE members(channel text COLLATE "C" NOT NULL, user_id text COLLATE "C" NOT NULL,
	PRIMARY KEY(channel, user_id));
CREATE INDEX members_by_user ON members(user_id, channel);
-- The message log, a row per message. The primary key is the fence: no
-- two rows share a (channel, seq), whatever transactions, sessions or
-- machines write them, so a stale owner's INSERT ... ON CONFLICT DO
-- NOTHING skips the row (after waiting for an uncommitted one to commit
-- or roll back) instead of writing a seq twice. It also serves every
-- read; there is no index on ts (History searches seqs by ts).
CREATE TABLE messages(
	channel text COLLATE "C" NOT NULL, seq bigint NOT NULL CHECK (seq >= 1), ts bigint NOT NULL,
	user_id text COLLATE "C" NOT NULL, text text NOT NULL, thread_ts bigint NOT NULL, client_msg_id text NOT NULL,
	PRIMARY KEY(channel, seq));`},
	// Security (issue 12), as in store/sqlite's step 5.
	{"limit classes, revoked tokens, the revocation log", `
ALTER TABLE users ADD COLUMN limit_class text NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN revoked boolean NOT NULL DEFAULT false;
CREATE TABLE revocations(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, token bytea,
	user_id text COLLATE "C" NOT NULL, at bigint NOT NULL);`},
	// Conversations (issue 14), as in store/sqlite's step 6.
	{"direct messages, read marks", `
ALTER TABLE channels ADD COLUMN kind smallint NOT NULL DEFAULT 0;
CREATE TABLE marks(user_id text COLLATE "C" NOT NULL, channel text COLLATE "C" NOT NULL, last_read bigint NOT NULL,
	PRIMARY KEY(user_id, channel));`},
	// Apps (issue 15), as in store/sqlite's step 7.
	{"apps and their delivery positions", `
CREATE TABLE apps(id text COLLATE "C" PRIMARY KEY, name text COLLATE "C" NOT NULL UNIQUE,
	bot_user text COLLATE "C" NOT NULL UNIQUE, bot_id text NOT NULL, events text NOT NULL,
	signing_secret text NOT NULL, request_url text NOT NULL, created bigint NOT NULL);
CREATE TABLE app_positions(app text COLLATE "C" NOT NULL, channel text COLLATE "C" NOT NULL, seq bigint NOT NULL,
	PRIMARY KEY(app, channel));`},
	// Issue 14: an entry's chat.More (JSON; NULL for a plain message), and
	// the state rows of changed messages and thread replies, as in
	// store/sqlite's step 8.
	{"log entries' kinds, message state rows", `
ALTER TABLE messages ADD COLUMN more bytea;
CREATE TABLE message_state(channel text COLLATE "C" NOT NULL, ts bigint NOT NULL, thread_ts bigint NOT NULL,
	body bytea NOT NULL, PRIMARY KEY(channel, ts));
CREATE INDEX message_state_by_thread ON message_state(channel, thread_ts, ts);`},
	// search.messages (issue 14), as in store/sqlite's step 8.
	{"the full-text search index", searchSchema},
	// Issue 14: closed direct messages, as in store/sqlite's step 10.
	{"closed direct messages", `
CREATE TABLE dm_closed(user_id text COLLATE "C" NOT NULL, channel text COLLATE "C" NOT NULL,
	PRIMARY KEY(user_id, channel));`},
}

// SchemaVersion is the schema version this binary brings a database to.
var SchemaVersion = len(migrations)

// migrationLock is the advisory lock (per database) held while a node
// migrates: "ringcast" in ASCII.
const migrationLock = 0x72696e6763617374

// migrate brings the database up to SchemaVersion under an advisory
// lock, one transaction per step, so that nodes starting at once apply
// each step exactly once; a database newer than the binary is refused.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	for {
		done, err := migrateStep(ctx, conn.Conn())
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next step, if any, in one transaction.
func migrateStep(ctx context.Context, conn *pgx.Conn) (done bool, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations(
		version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, err
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return false, err
	}
	if have > len(migrations) {
		return false, store.SchemaTooNew(have, len(migrations))
	}
	if have == len(migrations) {
		return true, tx.Commit(ctx)
	}
	m := migrations[have]
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return false, fmt.Errorf("schema version %d (%s): %w", have+1, m.name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, name) VALUES($1, $2)`, have+1, m.name); err != nil {
		return false, err
	}
	return have+1 == len(migrations), errors.Join(tx.Commit(ctx))
}
