package sqlite

import (
	"context"
	"strings"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

const appCols = `id, name, bot_user, bot_id, events, signing_secret, request_url, created`

func scanApp(row interface{ Scan(...any) error }) (chat.App, error) {
	var a chat.App
	var events string
	err := row.Scan(&a.ID, &a.Name, &a.BotUser, &a.BotID, &events, &a.SigningSecret, &a.RequestURL, &a.Created)
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
	return scanApp(s.queryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
}

// AppByBot implements store.Apps.
func (s *Store) AppByBot(ctx context.Context, user string) (chat.App, error) {
	return scanApp(s.queryRow(ctx, `SELECT `+appCols+` FROM apps WHERE bot_user = ?`, user))
}

// ListApps implements store.Apps.
func (s *Store) ListApps(ctx context.Context, after string, limit int) ([]chat.App, error) {
	rows, err := s.query(ctx, `SELECT `+appCols+` FROM apps WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanApp)
}

// Positions implements store.Apps.
func (s *Store) Positions(ctx context.Context, app string) (map[string]uint64, error) {
	rows, err := s.query(ctx, `SELECT channel, seq FROM app_positions WHERE app = ?`, app)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var ch string
		var seq int64
		if err := rows.Scan(&ch, &seq); err != nil {
			return nil, err
		}
		out[ch] = uint64(seq)
	}
	return out, rows.Err()
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
