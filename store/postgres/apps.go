package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

const appCols = `id, name, bot_user, bot_id, events, signing_secret, request_url, created`

// selectApp reads an app with whether its bot user is deactivated (the
// app deleted).
const selectApp = `SELECT a.id, a.name, a.bot_user, a.bot_id, a.events, a.signing_secret, a.request_url, a.created,
	coalesce(u.deleted, false) FROM apps a LEFT JOIN users u ON u.id = a.bot_user`

func scanApp(row Scanner) (chat.App, error) {
	var a chat.App
	var events string
	err := row.Scan(&a.ID, &a.Name, &a.BotUser, &a.BotID, &events, &a.SigningSecret, &a.RequestURL, &a.Created, &a.Deleted)
	if events != "" {
		a.Events = strings.Split(events, ",")
	}
	return a, err
}

// CreateApp implements store.Apps.
func (s *Store) CreateApp(ctx context.Context, a chat.App) error {
	_, err := s.exec(ctx, `INSERT INTO apps(`+appCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8)`,
		a.ID, a.Name, a.BotUser, a.BotID, strings.Join(a.Events, ","), a.SigningSecret, a.RequestURL, a.Created)
	if isCode(err, uniqueViolation) {
		return store.ErrNameTaken
	}
	return err
}

// App implements store.Apps.
func (s *Store) App(ctx context.Context, id string) (chat.App, error) {
	return one(ctx, s, selectApp+` WHERE a.id = $1`, scanApp, id)
}

// AppByBot implements store.Apps.
func (s *Store) AppByBot(ctx context.Context, user string) (chat.App, error) {
	return one(ctx, s, selectApp+` WHERE a.bot_user = $1`, scanApp, user)
}

// ListApps implements store.Apps.
func (s *Store) ListApps(ctx context.Context, after string, limit int) ([]chat.App, error) {
	return list(ctx, s, selectApp+` WHERE a.id > $1 AND NOT coalesce(u.deleted, false) ORDER BY a.id LIMIT $2`, scanApp, after, limit)
}

// UpdateApp implements store.Apps.
func (s *Store) UpdateApp(ctx context.Context, a chat.App) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var bot string
		if err := tx.QueryRow(ctx, `UPDATE apps SET name = $1, events = $2, request_url = $3 WHERE id = $4 RETURNING bot_user`,
			a.Name, strings.Join(a.Events, ","), a.RequestURL, a.ID).Scan(&bot); err != nil {
			return notFound(err)
		}
		_, err := tx.Exec(ctx, `UPDATE users SET name = $1, real_name = $1 WHERE id = $2`, a.Name, bot)
		return err
	})
	if isCode(err, uniqueViolation) {
		return store.ErrNameTaken
	}
	return err
}

// DeleteApp implements store.Apps.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var bot string
		if err := tx.QueryRow(ctx, `SELECT a.bot_user FROM apps a JOIN users u ON u.id = a.bot_user
			WHERE a.id = $1 AND NOT u.deleted`, id).Scan(&bot); err != nil {
			return notFound(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET deleted = true WHERE id = $1`, bot); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked = true WHERE user_id IN ($1, $2)`, id, bot); err != nil {
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
	return byChannel(ctx, s, `SELECT channel, seq FROM app_positions WHERE app = $1`,
		func(seq int64) uint64 { return uint64(seq) }, app)
}

// SetPositions implements store.Apps.
func (s *Store) SetPositions(ctx context.Context, app string, pos map[string]uint64) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for ch, seq := range pos {
			if _, err := tx.Exec(ctx, `INSERT INTO app_positions(app, channel, seq) VALUES($1, $2, $3)
				ON CONFLICT(app, channel) DO UPDATE SET seq = excluded.seq`, app, ch, int64(seq)); err != nil {
				return err
			}
		}
		return nil
	})
}
