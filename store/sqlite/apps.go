package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

const appCols = `id, name, bot_user, bot_id, events, signing_secret, request_url, created`

// selectApp reads an app with whether its bot user is deactivated (the
// app deleted).
const selectApp = `SELECT a.id, a.name, a.bot_user, a.bot_id, a.events, a.signing_secret, a.request_url, a.created,
	coalesce(u.deleted, 0) FROM apps a LEFT JOIN users u ON u.id = a.bot_user`

func scanApp(row interface{ Scan(...any) error }) (chat.App, error) {
	var a chat.App
	var events string
	err := row.Scan(&a.ID, &a.Name, &a.BotUser, &a.BotID, &events, &a.SigningSecret, &a.RequestURL, &a.Created, &a.Deleted)
	if events != "" {
		a.Events = strings.Split(events, ",")
	}
	return a, notFound(err)
}

// CreateApp implements store.Apps.
func (s *Store) CreateApp(ctx context.Context, a chat.App) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO apps(`+appCols+`) VALUES(?,?,?,?,?,?,?,?)`,
		a.ID, a.Name, a.BotUser, a.BotID, strings.Join(a.Events, ","), a.SigningSecret, a.RequestURL, a.Created)
	if isUnique(err) {
		return store.ErrNameTaken
	}
	return err
}

// App implements store.Apps.
func (s *Store) App(ctx context.Context, id string) (chat.App, error) {
	return scanApp(s.queryRow(ctx, selectApp+` WHERE a.id = ?`, id))
}

// AppByBot implements store.Apps.
func (s *Store) AppByBot(ctx context.Context, user string) (chat.App, error) {
	return scanApp(s.queryRow(ctx, selectApp+` WHERE a.bot_user = ?`, user))
}

// ListApps implements store.Apps.
func (s *Store) ListApps(ctx context.Context, after string, limit int) ([]chat.App, error) {
	rows, err := s.query(ctx, selectApp+` WHERE a.id > ? AND coalesce(u.deleted, 0) = 0 ORDER BY a.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanApp)
}

// UpdateApp implements store.Apps.
func (s *Store) UpdateApp(ctx context.Context, a chat.App) error {
	err := s.revoke(ctx, func(tx *sql.Tx) error {
		var bot string
		if err := tx.QueryRowContext(ctx, `UPDATE apps SET name = ?, events = ?, request_url = ? WHERE id = ? RETURNING bot_user`,
			a.Name, strings.Join(a.Events, ","), a.RequestURL, a.ID).Scan(&bot); err != nil {
			return notFound(err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, real_name = ? WHERE id = ?`, a.Name, a.Name, bot)
		return err
	})
	if isUnique(err) {
		return store.ErrNameTaken
	}
	return err
}

// DeleteApp implements store.Apps.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.revoke(ctx, func(tx *sql.Tx) error {
		var bot string
		if err := tx.QueryRowContext(ctx, `SELECT a.bot_user FROM apps a JOIN users u ON u.id = a.bot_user
			WHERE a.id = ? AND u.deleted = 0`, id).Scan(&bot); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET deleted = 1 WHERE id = ?`, bot); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE user_id IN (?, ?)`, id, bot); err != nil {
			return err
		}
		if err := logRevocation(ctx, tx, nil, id); err != nil {
			return err
		}
		return logRevocation(ctx, tx, nil, bot)
	})
}

// Positions implements store.Apps.
func (s *Store) Positions(ctx context.Context, app string) (map[string]uint64, error) {
	return byChannel(ctx, s, `SELECT channel, seq FROM app_positions WHERE app = ?`,
		func(seq int64) uint64 { return uint64(seq) }, app)
}

// SetPositions implements store.Apps.
func (s *Store) SetPositions(ctx context.Context, app string, pos map[string]uint64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for ch, seq := range pos {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_positions(app, channel, seq) VALUES(?, ?, ?)
			ON CONFLICT(app, channel) DO UPDATE SET seq = excluded.seq`, app, ch, int64(seq)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
