package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
)

// Bots looks up the app of a message's author for the readers of the
// log that show it (bot_id, app_id, bot_profile: the log keeps only the
// author), each answer cached for TTL, a person's (no app) too. Safe for
// concurrent use; the zero value caches for DefaultBotsTTL.
type Bots struct {
	TTL time.Duration

	mu     sync.Mutex
	byUser map[string]botEntry
}

type botEntry struct {
	bot     chat.Bot // zero: the user is no app's bot
	expires time.Time
}

// DefaultBotsTTL is how long Bots keeps an answer unless told.
const DefaultBotsTTL = 30 * time.Second

// maxBots bounds the cache: past it, it starts again empty.
const maxBots = 100_000

// Of returns user's app's bot profile (zero when the user is no app's
// bot).
func (b *Bots) Of(ctx context.Context, st Apps, user string) (chat.Bot, error) {
	now := time.Now()
	b.mu.Lock()
	e, ok := b.byUser[user]
	b.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.bot, nil
	}
	app, err := st.AppByBot(ctx, user)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return chat.Bot{}, err
	}
	ttl := b.TTL
	if ttl == 0 {
		ttl = DefaultBotsTTL
	}
	e = botEntry{expires: now.Add(ttl)}
	if err == nil {
		e.bot = app.Bot()
	}
	b.mu.Lock()
	if b.byUser == nil || len(b.byUser) >= maxBots {
		b.byUser = map[string]botEntry{}
	}
	b.byUser[user] = e
	b.mu.Unlock()
	return e.bot, nil
}

// Forget drops user's answer (its app changed).
func (b *Bots) Forget(user string) {
	b.mu.Lock()
	delete(b.byUser, user)
	b.mu.Unlock()
}
