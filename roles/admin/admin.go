package admin

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/channel"
	"github.com/ringcast/ringcast/roles/presence"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Config configures the API.
type Config struct {
	Team     Team
	Region   string // rtm.connect prefers gateways in this region
	Key      []byte // cluster key: signs RTM tickets
	AdminKey string // protects admin.* methods
	Store    store.Store
	View     func() *ring.View
	Router   *channel.Router
	Presence *presence.Client
	Logger   *slog.Logger
	// Dev adds the dev.* methods, with which anyone who reaches the API
	// can sign in as any user (serve --dev only).
	Dev bool
}

// Team is the workspace every user belongs to.
type Team struct {
	ID, Name, Domain string
}

// API serves the Web API. Safe for concurrent use.
type API struct {
	cfg     Config
	log     *slog.Logger
	methods map[string]method

	tokensMu sync.Mutex // guards tokens
	tokens   map[[32]byte]cachedToken
}

type cachedToken struct {
	user    chat.User
	expires time.Time
}

// tokenTTL is how long a token lookup is cached.
const tokenTTL = 30 * time.Second

// call is one request: its arguments and (for authenticated methods)
// the caller.
type call struct {
	ctx  context.Context
	args args
	user chat.User
}

type method struct {
	auth int // authUser, authAdmin, authNone
	fn   func(*API, *call) (map[string]any, error)
}

const (
	authUser = iota
	authAdmin
	authNone
)

// New makes the API.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil || cfg.View == nil || cfg.Router == nil || cfg.Presence == nil || len(cfg.Key) == 0 || cfg.AdminKey == "" {
		return nil, errors.New("admin: Store, View, Router, Presence, Key and AdminKey are required")
	}
	a := &API{cfg: cfg, log: cfg.Logger.With("role", "admin"), tokens: map[[32]byte]cachedToken{}}
	a.methods = map[string]method{
		"api.test":                {authUser, (*API).apiTest},
		"auth.test":               {authUser, (*API).authTest},
		"rtm.connect":             {authUser, (*API).rtmConnect},
		"chat.postMessage":        {authUser, (*API).postMessage},
		"conversations.create":    {authUser, (*API).create},
		"conversations.join":      {authUser, (*API).join},
		"conversations.leave":     {authUser, (*API).leave},
		"conversations.invite":    {authUser, (*API).invite},
		"conversations.list":      {authUser, (*API).list},
		"conversations.info":      {authUser, (*API).info},
		"conversations.members":   {authUser, (*API).members},
		"conversations.history":   {authUser, (*API).history},
		"users.list":              {authUser, (*API).usersList},
		"users.info":              {authUser, (*API).usersInfo},
		"users.getPresence":       {authUser, (*API).getPresence},
		"users.setPresence":       {authUser, (*API).setPresence},
		"admin.users.create":      {authAdmin, (*API).adminUsersCreate},
		"admin.users.createToken": {authAdmin, (*API).adminCreateToken},
	}
	if cfg.Dev {
		a.methods["dev.users.list"] = method{authNone, (*API).devUsersList}
		a.methods["dev.signIn"] = method{authNone, (*API).devSignIn}
	}
	return a, nil
}

// requestTimeout bounds one API call.
const requestTimeout = 15 * time.Second

// ServeHTTP serves POST|GET /api/<method>.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		a.reply(w, nil, apiErr("invalid_post_type"))
		return
	}
	m, ok := a.methods[name]
	if !ok {
		a.reply(w, nil, apiErr("unknown_method"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody+1)
	args, err := parseArgs(r)
	if err != nil {
		a.reply(w, nil, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	c := &call{ctx: ctx, args: args}
	tok := token(r, args)
	switch {
	case m.auth == authNone:
	case tok == "":
		err = apiErr("not_authed")
	case m.auth == authAdmin:
		if subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminKey)) != 1 {
			err = apiErr("invalid_auth")
		}
	default:
		c.user, err = a.authenticate(ctx, tok)
	}
	if err != nil {
		a.reply(w, nil, err)
		return
	}
	body, err := m.fn(a, c)
	a.reply(w, body, err)
}

func (a *API) reply(w http.ResponseWriter, body map[string]any, err error) {
	status := http.StatusOK
	if err != nil {
		code, st, known := errorCode(err)
		if !known {
			a.log.Error("api call failed", "err", err)
		}
		status = st
		body = map[string]any{"ok": false, "error": code}
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
	} else {
		if body == nil {
			body = map[string]any{}
		}
		body["ok"] = true
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// authenticate maps a token to its user, through a short cache.
func (a *API) authenticate(ctx context.Context, tok string) (chat.User, error) {
	h := sha256.Sum256([]byte(tok))
	now := time.Now()
	a.tokensMu.Lock()
	ct, ok := a.tokens[h]
	a.tokensMu.Unlock()
	if ok && now.Before(ct.expires) {
		return ct.user, nil
	}
	id, err := a.cfg.Store.TokenUser(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		return chat.User{}, apiErr("invalid_auth")
	}
	if err != nil {
		return chat.User{}, err
	}
	u, err := a.cfg.Store.User(ctx, id)
	if err != nil {
		return chat.User{}, err
	}
	if u.Deleted {
		return chat.User{}, apiErr("account_inactive")
	}
	a.tokensMu.Lock()
	if len(a.tokens) > 100_000 {
		clear(a.tokens)
	}
	a.tokens[h] = cachedToken{u, now.Add(tokenTTL)}
	a.tokensMu.Unlock()
	return u, nil
}

// NewToken makes a user token ("xoxp-…") and its stored hash.
func NewToken() (tok string, hash []byte) {
	tok = "xoxp-" + strings.ToLower(crand.Text())
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

func (a *API) apiTest(c *call) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range c.args {
		if k != "token" {
			out[k] = v
		}
	}
	return map[string]any{"args": out}, nil
}

func (a *API) authTest(c *call) (map[string]any, error) {
	t := a.cfg.Team
	return map[string]any{
		"url": "https://" + t.Domain + "/", "team": t.Name, "user": c.user.Name,
		"team_id": t.ID, "user_id": c.user.ID, "is_enterprise_install": false,
	}, nil
}

// rtmConnect hands out a single-use websocket URL on a live gateway, in
// this node's region when one is there.
func (a *API) rtmConnect(c *call) (map[string]any, error) {
	gws := a.cfg.View().WithRole(ring.RoleGateway)
	var local []ring.Member
	for _, g := range gws {
		if g.Region == a.cfg.Region {
			local = append(local, g)
		}
	}
	if len(local) > 0 {
		gws = local
	}
	if len(gws) == 0 {
		return nil, apiErr("service_unavailable")
	}
	gw := gws[rand.IntN(len(gws))]
	tk := rtm.NewTicket(c.user.ID, gw.Name, time.Now())
	t := a.cfg.Team
	return map[string]any{
		"url":  "ws://" + gw.HTTP + "/rtm/" + tk.Sign(a.cfg.Key),
		"self": map[string]any{"id": c.user.ID, "name": c.user.Name},
		"team": map[string]any{"id": t.ID, "name": t.Name, "domain": t.Domain},
	}, nil
}

func (a *API) usersList(c *call) (map[string]any, error) {
	limit, err := c.args.limit(200, 1000)
	if err != nil {
		return nil, err
	}
	after, err := parseCursor(c.args["cursor"], "user")
	if err != nil {
		return nil, err
	}
	users, err := a.cfg.Store.ListUsers(c.ctx, after, limit+1)
	if err != nil {
		return nil, err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = makeCursor("user", users[limit-1].ID)
	}
	out := make([]map[string]any, len(users))
	for i, u := range users {
		out[i] = a.userObject(u)
	}
	return map[string]any{"members": out, "cache_ts": time.Now().Unix(), "response_metadata": meta(next)}, nil
}

func (a *API) usersInfo(c *call) (map[string]any, error) {
	id := c.args["user"]
	if id == "" {
		return nil, apiErr("user_not_found")
	}
	u, err := a.cfg.Store.User(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr("user_not_found")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"user": a.userObject(u)}, nil
}

// adminUsersCreate provisions a user and returns it with a fresh token.
func (a *API) adminUsersCreate(c *call) (map[string]any, error) {
	name := strings.ToLower(c.args["name"])
	if !validUserName(name) {
		return nil, apiErr("invalid_name")
	}
	isBot, err := c.args.bool("is_bot", false)
	if err != nil {
		return nil, err
	}
	isAdmin, err := c.args.bool("is_admin", false)
	if err != nil {
		return nil, err
	}
	u := chat.User{ID: chat.NewID('U'), Name: name, RealName: c.args["real_name"], Email: c.args["email"],
		IsBot: isBot, IsAdmin: isAdmin, Created: time.Now().Unix()}
	if err := a.cfg.Store.CreateUser(c.ctx, u); errors.Is(err, store.ErrNameTaken) {
		return nil, apiErr("name_taken")
	} else if err != nil {
		return nil, err
	}
	return a.issueToken(c, u)
}

// issueToken stores a new token for u and answers with both.
func (a *API) issueToken(c *call, u chat.User) (map[string]any, error) {
	tok, hash := NewToken()
	if err := a.cfg.Store.PutToken(c.ctx, hash, u.ID); err != nil {
		return nil, err
	}
	return map[string]any{"user": a.userObject(u), "token": tok}, nil
}

// adminCreateToken issues another token for an existing user.
func (a *API) adminCreateToken(c *call) (map[string]any, error) {
	u, err := a.cfg.Store.User(c.ctx, c.args["user"])
	if err != nil && c.args["name"] != "" {
		u, err = a.cfg.Store.UserByName(c.ctx, c.args["name"])
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr("user_not_found")
	}
	if err != nil {
		return nil, err
	}
	return a.issueToken(c, u)
}

// getPresence answers users.getPresence (default: the caller); the
// caller's own presence has the detail fields.
func (a *API) getPresence(c *call) (map[string]any, error) {
	id := c.args["user"]
	if id == "" {
		id = c.user.ID
	}
	if _, err := a.cfg.Store.User(c.ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, apiErr("user_not_found")
	} else if err != nil {
		return nil, err
	}
	info, err := a.cfg.Presence.Query(c.ctx, id)
	if err != nil {
		return nil, apiErr("service_unavailable")
	}
	out := map[string]any{"presence": presence.Name(boolStatus(info.Active))}
	if id == c.user.ID {
		out["online"] = info.Connections > 0
		out["auto_away"] = false
		out["manual_away"] = info.ManualAway
		out["connection_count"] = info.Connections
		out["last_activity"] = info.LastActive
	}
	return out, nil
}

func boolStatus(active bool) byte {
	if active {
		return presence.Active
	}
	return presence.Away
}

// setPresence answers users.setPresence: "away" or "auto", kept in the
// store (it outlives sessions and presence nodes) and applied at once.
func (a *API) setPresence(c *call) (map[string]any, error) {
	p := c.args["presence"]
	if p != "away" && p != "auto" {
		return nil, apiErr("invalid_presence")
	}
	if err := a.cfg.Store.SetAway(c.ctx, c.user.ID, p == "away"); err != nil {
		return nil, err
	}
	if err := a.cfg.Presence.SetAway(c.ctx, c.user.ID, p); err != nil {
		return nil, apiErr("service_unavailable")
	}
	return nil, nil
}

func validUserName(n string) bool {
	if n == "" || len(n) > 80 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (a *API) userObject(u chat.User) map[string]any {
	display := u.Name
	return map[string]any{
		"id": u.ID, "team_id": a.cfg.Team.ID, "name": u.Name, "deleted": u.Deleted,
		"real_name": u.RealName, "tz": "UTC", "tz_label": "UTC", "tz_offset": 0,
		"is_bot": u.IsBot, "is_admin": u.IsAdmin, "updated": u.Created,
		"profile": map[string]any{"real_name": u.RealName, "display_name": display,
			"email": u.Email, "image_48": "", "team": a.cfg.Team.ID},
	}
}

func meta(next string) map[string]any {
	return map[string]any{"next_cursor": next}
}
