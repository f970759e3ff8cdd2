package admin

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"net/url"
	"slices"
	"strings"
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
	now := time.Now().Unix()
	app := chat.App{ID: chat.NewID('A'), BotID: chat.NewID('B'), SigningSecret: newSecret(), Created: now}
	if err := a.appArgs(c, &app, ""); err != nil {
		return nil, err
	}
	if app.Name == "" {
		return nil, chat.Error("invalid_name")
	}
	bot := chat.User{ID: chat.NewID('U'), Name: app.Name, RealName: app.Name, IsBot: true, Created: now, LimitClass: string(limit.Bot)}
	app.BotUser = bot.ID
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
	out := appObject(&app)
	out["bot_token"], out["app_token"], out["signing_secret"] = botTok, appTok, app.SigningSecret
	return out, nil
}

// noURL as request_url turns an app's Events API off (an empty argument
// counts as absent).
const noURL = "none"

// appArgs applies the arguments given of name, events and request_url
// to app, each checked (invalid_name, invalid_event_type,
// invalid_request_url); a request URL other than was, the app's before,
// must answer the url_verification challenge (url_verification_failed).
func (a *API) appArgs(c *call, app *chat.App, was string) error {
	if name, ok := c.args["name"]; ok {
		if app.Name = strings.ToLower(name); !validUserName(app.Name) {
			return chat.Error("invalid_name")
		}
	}
	if _, ok := c.args["events"]; ok {
		events, err := c.args.list("events")
		if err != nil {
			return err
		}
		for _, ev := range events {
			if !slices.Contains(chat.AppEvents, ev) {
				return chat.Error("invalid_event_type")
			}
		}
		app.Events = events
	}
	if u, ok := c.args["request_url"]; ok {
		if u == noURL {
			u = ""
		} else if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return chat.Error("invalid_request_url")
		}
		app.RequestURL = u
	}
	if app.RequestURL != "" && app.RequestURL != was {
		if err := appevent.VerifyURL(c.ctx, a.http, app.RequestURL, app.SigningSecret); err != nil {
			return chat.Error("url_verification_failed")
		}
	}
	return nil
}

// appObject is what admin.apps.* answer of an app (no secrets).
func appObject(app *chat.App) map[string]any {
	events := app.Events
	if events == nil {
		events = []string{}
	}
	return map[string]any{"app_id": app.ID, "bot_user_id": app.BotUser, "bot_id": app.BotID, "name": app.Name,
		"events": events, "request_url": app.RequestURL}
}

// liveApp is the app the call's app_id names: app_not_found when there
// is none, or it was deleted.
func (a *API) liveApp(c *call) (chat.App, error) {
	id := c.args["app_id"]
	if id == "" {
		return chat.App{}, chat.Error("app_not_found")
	}
	app, err := a.cfg.Store.App(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && app.Deleted) {
		return chat.App{}, chat.Error("app_not_found")
	}
	return app, err
}

// adminAppsUpdate answers admin.apps.update (app_id; name, events,
// request_url, each optional, request_url "none" for Socket Mode only):
// the app after the change. A new request URL answers the
// url_verification challenge first; the bot user is renamed with the
// app. The node that hosts the app applies the change within a second
// (a new request URL restarts its deliveries from the stored
// positions).
func (a *API) adminAppsUpdate(c *call) (map[string]any, error) {
	app, err := a.liveApp(c)
	if err != nil {
		return nil, err
	}
	if err := a.appArgs(c, &app, app.RequestURL); err != nil {
		return nil, err
	}
	if err := a.cfg.Store.UpdateApp(c.ctx, app); errors.Is(err, store.ErrNameTaken) {
		return nil, chat.Error("name_taken")
	} else if errors.Is(err, store.ErrNotFound) {
		return nil, chat.Error("app_not_found")
	} else if err != nil {
		return nil, err
	}
	a.bots.Forget(app.BotUser) // this node's; the others' within store.DefaultBotsTTL
	return appObject(&app), nil
}

// adminAppsDelete answers admin.apps.delete (app_id): the app-level
// and bot tokens are revoked and the bot user deactivated (its RTM
// sessions closed), and on every node within the revocation log's
// polling interval the app's Socket Mode connections are closed
// (disconnect link_disabled) and its deliveries stop. Its bot's messages
// keep their bot_id, with bot_profile.deleted.
func (a *API) adminAppsDelete(c *call) (map[string]any, error) {
	app, err := a.liveApp(c)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Store.DeleteApp(c.ctx, app.ID); errors.Is(err, store.ErrNotFound) {
		return nil, chat.Error("app_not_found")
	} else if err != nil {
		return nil, err
	}
	a.Revoked(store.Revocation{User: app.BotUser})
	a.bots.Forget(app.BotUser)
	return nil, nil
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
