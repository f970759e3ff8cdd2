package admin

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/metrics"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/apierror"
	"github.com/ringcast/ringcast/transport/appevent"
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
	Channels *cluster.Channels
	Presence *cluster.Presence
	Logger   *slog.Logger
	// Limits are the rate limits and the response cap (limit.Default
	// when zero). Messages is the per-user message limiter, shared with
	// the node's gateway (nil: the API's own).
	Limits   limit.Config
	Messages *limit.Limiter
	// Dev adds the dev.* methods, with which anyone who reaches the API
	// can sign in as any user (serve --dev only).
	Dev bool
	// Metrics is where the API registers its metrics (nil: nowhere).
	Metrics prometheus.Registerer
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

	tiers    [tier4 + 1]*limit.Limiter // per user and tier
	connects *limit.Limiter            // rtm.connect, per user
	opens    *limit.Limiter            // apps.connections.open, per app
	messages *limit.Limiter            // per user
	creates  *limit.Limiter            // channels created, per user
	calls    *calls

	bots store.Bots   // authors' apps
	http *http.Client // url_verification requests
}

type cachedToken struct {
	user    chat.User
	expires time.Time
}

// tokenTTL is how long a token lookup is cached. rtm.connect puts the
// cached user's away flag and limit class in its ticket, so it is at
// most rtm.TicketTTL (rtm.UserDataAge counts on it).
const tokenTTL = rtm.TicketTTL

// call is one request: its arguments and (for authenticated methods)
// the caller.
type call struct {
	ctx   context.Context
	args  args
	user  chat.User
	token [32]byte // the hash of the caller's token (authUser and authApp methods)
	admin bool     // called with the admin key
	base  string   // the URL this node was reached at ("http://host:port"): permalinks
	app   chat.App // the caller's app (authApp methods)
	// closed are the DMs the caller has closed, for their objects'
	// is_open: read once per call by loadClosed; nil reads as all open.
	closed map[string]bool
}

type method struct {
	auth  int  // authUser, authAdmin, authApp, authNone
	tier  tier // the caller's rate tier (authUser methods)
	write bool // changes something: POST only
	fn    func(*API, *call) (map[string]any, error)
}

const (
	authUser = iota
	authAdmin
	authNone
	// authApp: an app-level token (xapp-).
	authApp
)

// tier is a Web API rate tier (limit.Config); noTier methods have
// limits of their own.
type tier int

const (
	noTier tier = iota
	tier2
	tier3
	tier4
)

// New makes the API.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil || cfg.View == nil || cfg.Channels == nil || cfg.Presence == nil || len(cfg.Key) == 0 || cfg.AdminKey == "" {
		return nil, errors.New("admin: Store, View, Channels, Presence, Key and AdminKey are required")
	}
	if cfg.Limits == (limit.Config{}) {
		cfg.Limits = limit.Default()
	}
	l := cfg.Limits
	a := &API{cfg: cfg, log: cfg.Logger.With("role", "admin"), tokens: map[[32]byte]cachedToken{},
		connects: limit.New(l.RTMConnect), opens: limit.New(l.AppsConnect), messages: cfg.Messages, creates: limit.New(l.ChannelsCreated),
		http: &http.Client{Timeout: appevent.Timeout}}
	if a.messages == nil {
		a.messages = limit.New(l.Messages)
	}
	a.tiers[tier2], a.tiers[tier3], a.tiers[tier4] = limit.New(l.Tier2), limit.New(l.Tier3), limit.New(l.Tier4)
	const r, w = false, true
	a.methods = map[string]method{
		"api.test":                  {authNone, noTier, r, (*API).apiTest},
		"auth.test":                 {authUser, tier4, r, (*API).authTest},
		"auth.revoke":               {authUser, tier2, w, (*API).authRevoke},
		"rtm.connect":               {authUser, noTier, r, (*API).rtmConnect},
		"chat.postMessage":          {authUser, noTier, w, (*API).postMessage},
		"chat.update":               {authUser, noTier, w, (*API).chatUpdate},
		"chat.delete":               {authUser, noTier, w, (*API).chatDelete},
		"reactions.add":             {authUser, tier3, w, reaction(chat.KindReactionAdd)},
		"reactions.remove":          {authUser, tier2, w, reaction(chat.KindReactionRemove)},
		"reactions.get":             {authUser, tier3, r, (*API).reactionsGet},
		"conversations.replies":     {authUser, tier3, r, (*API).replies},
		"conversations.setTopic":    {authUser, tier2, w, setText(chat.KindTopic, "topic")},
		"conversations.setPurpose":  {authUser, tier2, w, setText(chat.KindPurpose, "purpose")},
		"conversations.rename":      {authUser, tier2, w, (*API).rename},
		"conversations.archive":     {authUser, tier2, w, archive(chat.KindArchive)},
		"conversations.unarchive":   {authUser, tier2, w, archive(chat.KindUnarchive)},
		"conversations.kick":        {authUser, tier3, w, (*API).kick},
		"conversations.create":      {authUser, tier2, w, (*API).create},
		"conversations.join":        {authUser, tier2, w, (*API).join},
		"conversations.leave":       {authUser, tier2, w, (*API).leave},
		"conversations.invite":      {authUser, tier2, w, (*API).invite},
		"conversations.list":        {authUser, tier3, r, (*API).list},
		"conversations.info":        {authUser, tier4, r, (*API).info},
		"conversations.members":     {authUser, tier3, r, (*API).members},
		"conversations.history":     {authUser, tier3, r, (*API).history},
		"conversations.open":        {authUser, tier3, w, (*API).open},
		"conversations.mark":        {authUser, tier3, w, (*API).mark},
		"conversations.close":       {authUser, tier2, w, (*API).close},
		"users.conversations":       {authUser, tier3, r, (*API).usersConversations},
		"chat.getPermalink":         {authUser, tier4, r, (*API).getPermalink},
		"search.messages":           {authUser, tier3, r, (*API).search},
		"users.list":                {authUser, tier3, r, (*API).usersList},
		"users.info":                {authUser, tier4, r, (*API).usersInfo},
		"users.getPresence":         {authUser, tier4, r, (*API).getPresence},
		"users.setPresence":         {authUser, tier2, w, (*API).setPresence},
		"admin.users.create":        {authAdmin, noTier, w, (*API).adminUsersCreate},
		"admin.users.createToken":   {authAdmin, noTier, w, (*API).adminCreateToken},
		"admin.users.setInactive":   {authAdmin, noTier, w, (*API).adminSetInactive},
		"admin.users.setLimitClass": {authAdmin, noTier, w, (*API).adminSetLimitClass},
		"admin.apps.create":         {authAdmin, noTier, w, (*API).adminAppsCreate},
		"admin.apps.update":         {authAdmin, noTier, w, (*API).adminAppsUpdate},
		"admin.apps.delete":         {authAdmin, noTier, w, (*API).adminAppsDelete},
		"admin.apps.revokeToken":    {authAdmin, noTier, w, (*API).adminAppsRevokeToken},
		"apps.connections.open":     {authApp, noTier, w, (*API).appsConnectionsOpen},
	}
	if cfg.Dev {
		a.methods["dev.users.list"] = method{authNone, noTier, r, (*API).devUsersList}
		a.methods["dev.signIn"] = method{authNone, noTier, w, (*API).devSignIn}
	}
	a.calls = newCalls(metrics.Registerer(cfg.Metrics), a.methods)
	return a, nil
}

// RequestIDHeader is the response header with the request's id (the
// node sets it on every request); an error answer carries the same id in
// its request_id field, and the node's log lines about the request too.
const RequestIDHeader = "X-Request-Id"

// requestTimeout bounds one API call.
const requestTimeout = 15 * time.Second

// ServeHTTP serves POST /api/<method>, and GET for the methods that
// change nothing.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		a.reply(w, name, nil, chat.Error("invalid_post_type"))
		return
	}
	m, ok := a.methods[name]
	if !ok {
		a.reply(w, name, nil, chat.Error("unknown_method"))
		return
	}
	if m.write && r.Method != http.MethodPost {
		// A link or an image tag must not change anything.
		w.Header().Set("Allow", http.MethodPost)
		a.reply(w, name, nil, chat.Error("method_not_allowed"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody+1)
	args, err := parseArgs(r)
	if err != nil {
		if err == errRequestTooLarge {
			a.calls.refuse(limitRequestBody)
		}
		a.reply(w, name, nil, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	c := &call{ctx: ctx, args: args, base: baseURL(r)}
	tok, err := token(r, args)
	switch {
	case err != nil:
	case m.auth == authNone:
	case tok == "":
		err = chat.ErrNotAuthed
	case m.auth == authAdmin:
		if subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminKey)) != 1 {
			err = chat.ErrInvalidAuth
		}
		c.admin = err == nil
	case m.auth == authApp:
		c.app, c.token, err = a.appOf(ctx, tok)
		if err == nil {
			err = a.allow(limitAppsConnect, a.opens, c.app.ID, limit.Person)
		}
	default:
		c.user, c.token, err = a.authenticate(ctx, tok)
		if err == nil {
			err = a.limit(tierLimits[m.tier], a.tiers[m.tier], c)
		}
	}
	if err != nil {
		a.reply(w, name, nil, err)
		return
	}
	body, err := m.fn(a, c)
	a.reply(w, name, body, err)
}

// limit takes one call of c's user from l, the limit named name:
// ratelimited (HTTP 429, with Retry-After) when the user is over it.
func (a *API) limit(name string, l *limit.Limiter, c *call) error {
	return a.allow(name, l, c.user.ID, limit.ClassOf(c.user))
}

// allow takes one call of key, of class, from l, the limit named name:
// ratelimited when key is over it (counted as refused by name).
func (a *API) allow(name string, l *limit.Limiter, key string, class limit.Class) error {
	if ok, wait := l.Allow(key, class, time.Now()); !ok {
		a.calls.refuse(name)
		return rateLimited(wait)
	}
	return nil
}

// reply writes the answer to a call of method name, and counts it.
func (a *API) reply(w http.ResponseWriter, name string, body map[string]any, err error) {
	status := http.StatusOK
	code := ""
	defer func() { a.calls.count(name, code) }()
	if err != nil {
		p, known := apierror.Of(err)
		code = p.Code
		id := w.Header().Get(RequestIDHeader)
		if !known {
			a.log.Error("api call failed", "method", name, "request_id", id, "err", err)
		}
		status = p.Status
		body = map[string]any{"ok": false, "error": p.Code}
		var eb errorWith
		if errors.As(err, &eb) {
			maps.Copy(body, eb.extra)
			body["ok"], body["error"] = false, p.Code
		}
		if id != "" {
			body["request_id"] = id
		}
		var rl rateLimited
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", strconv.Itoa(limit.RetryAfter(time.Duration(rl))))
		}
	} else {
		if body == nil {
			body = map[string]any{}
		}
		body["ok"] = true
	}
	buf := &bytes.Buffer{}
	json.NewEncoder(buf).Encode(body)
	if max := a.cfg.Limits.MaxResponse; max > 0 && buf.Len() > max {
		a.log.Warn("api response over the cap", "bytes", buf.Len(), "cap", max)
		status, code = http.StatusOK, "response_too_large"
		a.calls.refuse(limitResponse)
		buf.Reset()
		json.NewEncoder(buf).Encode(map[string]any{"ok": false, "error": "response_too_large"})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// authenticate maps a token to its user and the token's hash, through
// a short cache that revocations empty (Revoked).
func (a *API) authenticate(ctx context.Context, tok string) (chat.User, [32]byte, error) {
	h := sha256.Sum256([]byte(tok))
	if strings.HasPrefix(tok, appPrefix) {
		return chat.User{}, h, chat.Error("not_allowed_token_type") // for apps.connections.open only
	}
	now := time.Now()
	a.tokensMu.Lock()
	ct, ok := a.tokens[h]
	a.tokensMu.Unlock()
	if ok && now.Before(ct.expires) {
		return ct.user, h, nil
	}
	id, err := a.cfg.Store.TokenUser(ctx, h[:])
	switch {
	case errors.Is(err, store.ErrNotFound):
		return chat.User{}, h, chat.ErrInvalidAuth
	case errors.Is(err, store.ErrRevoked):
		return chat.User{}, h, chat.ErrTokenRevoked
	case err != nil:
		return chat.User{}, h, err
	}
	u, err := a.cfg.Store.User(ctx, id)
	if err != nil {
		return chat.User{}, h, err
	}
	if u.Deleted {
		return chat.User{}, h, chat.ErrAccountInactive
	}
	a.tokensMu.Lock()
	if len(a.tokens) > 100_000 {
		clear(a.tokens)
	}
	a.tokens[h] = cachedToken{u, now.Add(tokenTTL)}
	a.tokensMu.Unlock()
	return u, h, nil
}

// Revoked forgets cached tokens the revocation names: the token, or
// every token of the user when it names none. The node calls it for
// every entry of the store's revocation log (and the API itself at once
// for its own revocations), so a revoked token or a deactivated user is
// refused by every node within the log's polling interval.
func (a *API) Revoked(r store.Revocation) {
	a.tokensMu.Lock()
	defer a.tokensMu.Unlock()
	if r.Token != nil {
		if len(r.Token) == sha256.Size {
			delete(a.tokens, [32]byte(r.Token))
		}
		return
	}
	a.forgetLocked(r.User)
}

// forgetLocked drops the cached lookups of user's tokens. a.tokensMu
// must be held.
func (a *API) forgetLocked(user string) {
	for h, ct := range a.tokens {
		if ct.user.ID == user {
			delete(a.tokens, h)
		}
	}
}

// NewToken makes a user token ("xoxp-…") and its stored hash.
func NewToken() (tok string, hash []byte) {
	tok = "xoxp-" + strings.ToLower(crand.Text())
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

// apiTest answers api.test as Slack does: no token needed, the
// arguments echoed (a token among them left out), and with error=X the
// call fails with X.
func (a *API) apiTest(c *call) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range c.args {
		if k != "token" {
			out[k] = v
		}
	}
	body := map[string]any{"args": out}
	if e := c.args["error"]; e != "" {
		return nil, errorWith{chat.Error(e), body}
	}
	return body, nil
}

// errorWith is an error whose response carries fields besides "error".
type errorWith struct {
	error
	extra map[string]any
}

func (e errorWith) Unwrap() error { return e.error }

// baseURL is how the client reached this node: where links it is given
// (permalinks) should point.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (a *API) authTest(c *call) (map[string]any, error) {
	t := a.cfg.Team
	out := map[string]any{
		"url": "https://" + t.Domain + "/", "team": t.Name, "user": c.user.Name,
		"team_id": t.ID, "user_id": c.user.ID, "is_enterprise_install": false,
	}
	if c.user.IsBot {
		bot, err := a.bots.Of(c.ctx, a.cfg.Store, c.user.ID)
		if err != nil {
			return nil, err
		}
		if bot.ID != "" {
			out["bot_id"], out["app_id"] = bot.ID, bot.AppID
		}
	}
	return out, nil
}

// rtmConnect hands out a single-use websocket URL on a live gateway, in
// this node's region when one is there.
func (a *API) rtmConnect(c *call) (map[string]any, error) {
	if err := a.limit(limitRTMConnect, a.connects, c); err != nil {
		return nil, err
	}
	gws := slices.DeleteFunc(a.cfg.View().WithRole(ring.RoleGateway), func(g ring.Member) bool { return g.Draining })
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
		return nil, chat.ErrUnavailable
	}
	gw := gws[rand.IntN(len(gws))]
	tk := rtm.NewTicket(c.user.ID, rtm.TokenIDOf(c.token[:]), gw.Name, gw.Epoch, time.Now())
	tk.Away, tk.Class = c.user.Away, string(limit.ClassOf(c.user)) // the gateway reads no user row
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
		out[i] = a.userObject(u, c)
	}
	return map[string]any{"members": out, "cache_ts": time.Now().Unix(), "response_metadata": meta(next)}, nil
}

func (a *API) usersInfo(c *call) (map[string]any, error) {
	id := c.args["user"]
	if id == "" {
		return nil, chat.ErrUserNotFound
	}
	u, err := a.cfg.Store.User(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"user": a.userObject(u, c)}, nil
}

// adminUsersCreate provisions a user and returns it with a fresh token.
func (a *API) adminUsersCreate(c *call) (map[string]any, error) {
	name := strings.ToLower(c.args["name"])
	if !validUserName(name) {
		return nil, chat.Error("invalid_name")
	}
	isBot, err := c.args.bool("is_bot", false)
	if err != nil {
		return nil, err
	}
	isAdmin, err := c.args.bool("is_admin", false)
	if err != nil {
		return nil, err
	}
	class, err := limit.ParseClass(c.args["limit_class"])
	if err != nil {
		return nil, chat.Error("invalid_limit_class")
	}
	if len(c.args["real_name"]) > maxProfileField || len(c.args["email"]) > maxProfileField {
		return nil, chat.ErrBadRequest
	}
	u := chat.User{ID: chat.NewID('U'), Name: name, RealName: c.args["real_name"], Email: c.args["email"],
		IsBot: isBot, IsAdmin: isAdmin, Created: time.Now().Unix(), LimitClass: string(class)}
	if err := a.cfg.Store.CreateUser(c.ctx, u); errors.Is(err, store.ErrNameTaken) {
		return nil, chat.Error("name_taken")
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
	return map[string]any{"user": a.userObject(u, c), "token": tok}, nil
}

// adminCreateToken issues another token for an existing user.
func (a *API) adminCreateToken(c *call) (map[string]any, error) {
	u, err := a.cfg.Store.User(c.ctx, c.args["user"])
	if err != nil && c.args["name"] != "" {
		u, err = a.cfg.Store.UserByName(c.ctx, c.args["name"])
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrUserNotFound
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
		return nil, chat.ErrUserNotFound
	} else if err != nil {
		return nil, err
	}
	info, err := a.cfg.Presence.Query(c.ctx, id)
	if err != nil {
		return nil, chat.ErrUnavailable
	}
	out := map[string]any{"presence": cluster.PresenceName(info.Active)}
	if id == c.user.ID {
		out["online"] = info.Connections > 0
		out["auto_away"] = false
		out["manual_away"] = info.ManualAway
		out["connection_count"] = info.Connections
		out["last_activity"] = info.LastActive
	}
	return out, nil
}

// setPresence answers users.setPresence: "away" or "auto", kept in the
// store (it outlives sessions and presence nodes) and applied at once.
func (a *API) setPresence(c *call) (map[string]any, error) {
	p := c.args["presence"]
	if p != "away" && p != "auto" {
		return nil, chat.ErrInvalidPresence
	}
	if err := a.cfg.Store.SetAway(c.ctx, c.user.ID, p == "away"); err != nil {
		return nil, err
	}
	// The next rtm.connect here reads the flag again for its ticket
	// (another node's cached lookup has it within tokenTTL; the presence
	// node corrects a ticket's stale flag).
	a.tokensMu.Lock()
	a.forgetLocked(c.user.ID)
	a.tokensMu.Unlock()
	if err := a.cfg.Presence.SetAway(c.ctx, c.user.ID, p == "away"); err != nil {
		return nil, chat.ErrUnavailable
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

// maxProfileField bounds a user's real name and email.
const maxProfileField = 256

// userObject is Slack's user object as caller c may see it: the email
// only for the user themself, an admin user, or the admin key.
func (a *API) userObject(u chat.User, c *call) map[string]any {
	display := u.Name
	email := ""
	if c.admin || c.user.IsAdmin || (c.user.ID != "" && c.user.ID == u.ID) {
		email = u.Email
	}
	return map[string]any{
		"id": u.ID, "team_id": a.cfg.Team.ID, "name": u.Name, "deleted": u.Deleted,
		"real_name": u.RealName, "tz": "UTC", "tz_label": "UTC", "tz_offset": 0,
		"is_bot": u.IsBot, "is_admin": u.IsAdmin, "updated": u.Created,
		"profile": map[string]any{"real_name": u.RealName, "display_name": display,
			"email": email, "image_48": "", "team": a.cfg.Team.ID},
	}
}

func meta(next string) map[string]any {
	return map[string]any{"next_cursor": next}
}
