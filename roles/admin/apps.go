package admin

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/appevent"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Token prefixes: a bot user's token and an app-level token (Socket
// Mode only), as Slack's.
const (
	botPrefix = "xoxb-"
	appPrefix = "xapp-"
)

// newSecret is a random token body.
func newSecret() string { return strings.ToLower(crand.Text()) }

// adminAppsCreate answers admin.apps.create (name, events, request_url):
// the app, its bot user (is_bot, limit class bot) with a bot token, an
// app-level token and a signing secret. Tokens are kept as hashes, the
// signing secret in the clear (it signs every Events API request).
func (a *API) adminAppsCreate(c *call) (map[string]any, error) {
	name := strings.ToLower(c.args["name"])
	if !validUserName(name) {
		return nil, chat.Error("invalid_name")
	}
	events, err := c.args.list("events")
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		if !(&chat.App{Events: chat.AppEvents}).Subscribes(ev) {
			return nil, chat.Error("invalid_event_type")
		}
	}
	reqURL := c.args["request_url"]
	if reqURL != "" {
		if u, err := url.Parse(reqURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, chat.Error("invalid_request_url")
		}
	}
	now := time.Now().Unix()
	bot := chat.User{ID: chat.NewID('U'), Name: name, RealName: name, IsBot: true, Created: now, LimitClass: string(limit.Bot)}
	app := chat.App{ID: chat.NewID('A'), Name: name, BotUser: bot.ID, BotID: chat.NewID('B'), Events: events,
		SigningSecret: newSecret(), RequestURL: reqURL, Created: now}
	if reqURL != "" {
		if err := appevent.VerifyURL(c.ctx, a.http, app.RequestURL, app.SigningSecret); err != nil {
			return nil, chat.Error("url_verification_failed")
		}
	}
	// The bot user first: its name is the app's, so a taken name stops
	// here before anything is written.
	if err := a.cfg.Store.CreateUser(c.ctx, bot); errors.Is(err, store.ErrNameTaken) {
		return nil, chat.Error("name_taken")
	} else if err != nil {
		return nil, err
	}
	if err := a.cfg.Store.CreateApp(c.ctx, app); errors.Is(err, store.ErrNameTaken) {
		return nil, chat.Error("name_taken")
	} else if err != nil {
		return nil, err
	}
	botTok, appTok := botPrefix+newSecret(), appPrefix+newSecret()
	for tok, owner := range map[string]string{botTok: bot.ID, appTok: app.ID} {
		h := sha256.Sum256([]byte(tok))
		if err := a.cfg.Store.PutToken(c.ctx, h[:], owner); err != nil {
			return nil, err
		}
	}
	return map[string]any{
		"app_id": app.ID, "bot_user_id": bot.ID, "bot_id": app.BotID, "name": name, "events": events,
		"request_url": reqURL, "bot_token": botTok, "app_token": appTok, "signing_secret": app.SigningSecret,
	}, nil
}

// adminAppsRevokeToken answers admin.apps.revokeToken (app_token): the
// app-level token stops opening connections (token_revoked).
func (a *API) adminAppsRevokeToken(c *call) (map[string]any, error) {
	tok := c.args["app_token"]
	if !strings.HasPrefix(tok, appPrefix) {
		return nil, chat.ErrInvalidAuth
	}
	h := sha256.Sum256([]byte(tok))
	if _, err := a.cfg.Store.RevokeToken(c.ctx, h[:]); errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrInvalidAuth
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

// appOf maps an app-level token to its app. Not cached: a connection
// is opened rarely, and a revoked token must stop at once.
func (a *API) appOf(ctx context.Context, tok string) (chat.App, [32]byte, error) {
	h := sha256.Sum256([]byte(tok))
	if !strings.HasPrefix(tok, appPrefix) {
		// A bot or user token is a real token, but not this kind.
		return chat.App{}, h, chat.Error("not_allowed_token_type")
	}
	id, err := a.cfg.Store.TokenUser(ctx, h[:])
	switch {
	case errors.Is(err, store.ErrNotFound):
		return chat.App{}, h, chat.ErrInvalidAuth
	case errors.Is(err, store.ErrRevoked):
		return chat.App{}, h, chat.ErrTokenRevoked
	case err != nil:
		return chat.App{}, h, err
	}
	app, err := a.cfg.Store.App(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return chat.App{}, h, chat.ErrInvalidAuth
	}
	return app, h, err
}

// appsConnectionsOpen answers apps.connections.open: a single-use
// websocket URL on the node that hosts the app (cluster.AppHosts).
func (a *API) appsConnectionsOpen(c *call) (map[string]any, error) {
	host, ok := cluster.NewAppHosts(a.cfg.View()).Host(c.app.ID)
	if !ok {
		return nil, chat.ErrUnavailable
	}
	tk := rtm.NewTicket(c.app.ID, rtm.TokenIDOf(c.token[:]), host.Name, host.Epoch, time.Now())
	return map[string]any{"url": "ws://" + host.HTTP + "/apps/socket/" + tk.Sign(a.cfg.Key)}, nil
}

// bots maps bot users to their app's bot profile, for the bot_id,
// app_id and bot_profile of the messages they post. Safe for concurrent
// use.
type bots struct {
	mu   sync.Mutex
	byID map[string]botEntry
}

type botEntry struct {
	bot     chat.Bot // zero for a user who is no app's bot
	expires time.Time
}

// of returns user's app's bot profile (zero when the user is no app's
// bot), cached for tokenTTL.
func (b *bots) of(ctx context.Context, st store.Store, user string) (chat.Bot, error) {
	now := time.Now()
	b.mu.Lock()
	e, ok := b.byID[user]
	b.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.bot, nil
	}
	app, err := st.AppByBot(ctx, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return chat.Bot{}, err
	}
	e = botEntry{expires: now.Add(tokenTTL)}
	if err == nil {
		e.bot = app.Bot()
	}
	b.mu.Lock()
	if b.byID == nil || len(b.byID) > 100_000 {
		b.byID = map[string]botEntry{}
	}
	b.byID[user] = e
	b.mu.Unlock()
	return e.bot, nil
}
