package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

const appCols = `id, name, bot_user, bot_id, events, signing_secret, request_url, created`

func scanApp(row Scanner) (chat.App, error) {
	var a chat.App
	var events string
	err := row.Scan(&a.ID, &a.Name, &a.BotUser, &a.BotID, &events, &a.SigningSecret, &a.RequestURL, &a.Created)
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
	return one(ctx, s, `SELECT `+appCols+` FROM apps WHERE id = $1`, scanApp, id)
}

// AppByBot implements store.Apps.
func (s *Store) AppByBot(ctx context.Context, user string) (chat.App, error) {
	return one(ctx, s, `SELECT `+appCols+` FROM apps WHERE bot_user = $1`, scanApp, user)
}

// ListApps implements store.Apps.
func (s *Store) ListApps(ctx context.Context, after string, limit int) ([]chat.App, error) {
	return list(ctx, s, `SELECT `+appCols+` FROM apps WHERE id > $1 ORDER BY id LIMIT $2`, scanApp, after, limit)
}

type position struct {
	channel string
	seq     int64
}

// Positions implements store.Apps.
func (s *Store) Positions(ctx context.Context, app string) (map[string]uint64, error) {
	ps, err := list(ctx, s, `SELECT channel, seq FROM app_positions WHERE app = $1`, func(r Scanner) (position, error) {
		var p position
		return p, r.Scan(&p.channel, &p.seq)
	}, app)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(ps))
	for _, p := range ps {
		out[p.channel] = uint64(p.seq)
	}
	return out, nil
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
