package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/ring"
	"github.com/spf13/pflag"
)

// Config is everything a node needs to start. The zero value is not valid;
// build one with Default or Bind and check it with Validate.
type Config struct {
	// File is the YAML config file the settings were read from (--config;
	// Load applies it below the flags and the environment).
	File string
	// Name identifies the node in the gossip cluster; it must be unique and
	// stable across restarts (a restarted node keeps its channels' history
	// and rejoins under the same name). Default: hostname-gossipport.
	Name string
	// Roles this node runs.
	Roles []ring.Role
	// HTTPAddr serves the Web API (/api/), RTM websockets (/rtm/) and
	// /status. Default 127.0.0.1:8080.
	HTTPAddr string
	// GossipAddr is memberlist's TCP+UDP bind address. Default 127.0.0.1:7946.
	GossipAddr string
	// InternodeAddr is where other nodes open links to this one. Its port
	// may be 0: it is advertised through gossip. Default: the gossip host, port 0.
	InternodeAddr string
	// Advertise is the host other nodes and clients use to reach this node
	// when it binds a wildcard address. Default: the bind host.
	Advertise string
	// Join lists gossip addresses of existing members; empty starts a new cluster.
	Join []string
	// DataDir holds the embedded store. Default ./data.
	DataDir string
	// Store selects the store: empty for the embedded SQLite under
	// DataDir (one machine), or a postgres:// URL that every node of a
	// cluster on several machines shares.
	Store string
	// Region tags the node; rtm.connect prefers gateways in the caller's region.
	Region string
	// Secret is the cluster secret (--secret, RINGCAST_SECRET): it
	// encrypts gossip and roots internode trust. SecretFile names a file
	// of keys instead, one per line, the primary first (a rotation lists
	// the new and the old). Validate fills Secrets from either.
	Secret, SecretFile string
	Secrets            []string
	// Insecure lets a node bind gossip or internode links to an address
	// other machines reach without a secret.
	Insecure bool
	// AdminKey protects the admin.* provisioning methods, /status and
	// profiles; AdminKeyFile names a file holding it instead (so that it
	// is never in argv). Empty: the store keeps a generated key, shared
	// by every node on that store.
	AdminKey, AdminKeyFile string
	adminKeyFromFile       bool
	// TLSCert, TLSKey and TLSCA are the operator's PEM files for internode
	// TLS: this node's certificate (naming the node), its key, and the CA
	// bundle peers must chain to. Empty: internode TLS roots come from the
	// cluster secret (package trust).
	TLSCert, TLSKey, TLSCA string
	// Dev creates a ready user and token on an empty store and prints them.
	Dev bool
	// LogFormat is "text" (tint, coloured on a terminal) or "json".
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogRequests logs one line per HTTP request (method, path, status,
	// bytes, duration, request id) at info level.
	LogRequests bool
	// Pprof serves net/http/pprof under /debug/pprof/ on the HTTP address.
	Pprof bool
	// CommitWindow is how long a busy channel owner lets a batch gather
	// before committing it (0 = commit as soon as the last one is done).
	CommitWindow time.Duration
	// AppAckTimeout is how long a Socket Mode envelope waits for its
	// ack before it is sent again (retry_attempt, retry_reason timeout).
	AppAckTimeout time.Duration
	// DrainWindow is how long a stopping gateway takes to move its
	// websocket clients off, a slice at a time, so that their reconnects
	// spread (0: all at once).
	DrainWindow time.Duration
	// AppRetention: an app that was away gets what it missed up to this
	// old.
	AppRetention time.Duration
	// Gossip holds failure-detection timings; see ring.DefaultGossip.
	Gossip ring.Gossip
	// Limits are the rate limits and caps (each a --limit-* flag).
	Limits limit.Config
}

// Default returns a Config for one all-roles node on loopback.
func Default() Config {
	return Config{
		Roles:      slices.Clone(ring.AllRoles),
		HTTPAddr:   "127.0.0.1:8080",
		GossipAddr: "127.0.0.1:7946",
		DataDir:    "data",
		LogFormat:  "text",
		LogLevel:   "info",
		Gossip:     ring.DefaultGossip(),
		Limits:     limit.Default(),

		CommitWindow:  5 * time.Millisecond,
		AppAckTimeout: 10 * time.Second,
		DrainWindow:   10 * time.Second,
		AppRetention:  24 * time.Hour,
	}
}

// Has reports whether the node runs role r.
func (c *Config) Has(r ring.Role) bool { return slices.Contains(c.Roles, r) }

// Postgres reports whether the store is PostgreSQL.
func (c *Config) Postgres() bool {
	return strings.HasPrefix(c.Store, "postgres://") || strings.HasPrefix(c.Store, "postgresql://")
}

// redact hides the password of a URL-shaped store setting in errors.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable)"
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// StorePath is the embedded store's database file.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, "ringcast.db") }

// Validate checks every field and fills the derived defaults (Name,
// InternodeAddr). Its errors name the flag at fault.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Roles) == 0 {
		errs = append(errs, errors.New("--roles: at least one role is required"))
	}
	seen := map[ring.Role]bool{}
	for _, r := range c.Roles {
		if !slices.Contains(ring.AllRoles, r) {
			errs = append(errs, fmt.Errorf("--roles: unknown role %q (want channel, gateway, admin or presence)", r))
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("--roles: role %q listed twice", r))
		}
		seen[r] = true
	}
	for _, a := range []struct{ flag, addr string }{
		{"--http", c.HTTPAddr}, {"--gossip", c.GossipAddr},
	} {
		if err := checkAddr(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.flag, err))
		}
	}
	if c.InternodeAddr == "" && checkAddr(c.GossipAddr) == nil {
		host, _, _ := net.SplitHostPort(c.GossipAddr)
		c.InternodeAddr = net.JoinHostPort(host, "0")
	}
	if err := checkAddr(c.InternodeAddr); err != nil && c.InternodeAddr != "" {
		errs = append(errs, fmt.Errorf("--internode: %w", err))
	}
	for _, j := range c.Join {
		if err := checkAddr(j); err != nil {
			errs = append(errs, fmt.Errorf("--join %q: %w", j, err))
		}
	}
	if c.Advertise != "" && net.ParseIP(c.Advertise) == nil {
		errs = append(errs, fmt.Errorf("--advertise %q: not an IP address", c.Advertise))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data: a directory is required"))
	}
	if c.Store != "" && !c.Postgres() {
		errs = append(errs, fmt.Errorf("--store %q: want a postgres:// or postgresql:// URL, or nothing for the embedded store under --data", redact(c.Store)))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if len(c.Region) > 32 {
		errs = append(errs, errors.New("--region: at most 32 characters"))
	}
	if c.AppAckTimeout < 100*time.Millisecond || c.AppAckTimeout > time.Hour {
		errs = append(errs, errors.New("--app-ack-timeout: between 100ms and 1h"))
	}
	if c.DrainWindow < 0 || c.DrainWindow > time.Hour {
		errs = append(errs, errors.New("--drain-window: between 0 and 1h"))
	}
	if c.AppRetention < time.Minute {
		errs = append(errs, errors.New("--app-retention: at least 1m"))
	}
	if c.CommitWindow < 0 || c.CommitWindow > time.Second {
		errs = append(errs, errors.New("--commit-window: between 0 and 1s"))
	}
	if l := c.Limits; l.SocketsPerUser < 0 || l.SocketsPerGateway < 0 {
		errs = append(errs, errors.New("--limit-sockets-per-user, --limit-sockets: not negative"))
	}
	if c.Limits.RTMPing < 100*time.Millisecond {
		errs = append(errs, errors.New("--rtm-ping: at least 100ms"))
	}
	if l := c.Limits; l.HTTPRead <= 0 || l.HTTPWrite <= 0 || l.HTTPIdle <= 0 {
		errs = append(errs, errors.New("--http-read-timeout, --http-write-timeout, --http-idle-timeout: positive durations"))
	}
	if m := c.Limits.MaxResponse; m < 0 || m > 0 && m < 64<<10 {
		errs = append(errs, errors.New("--max-response: at least 65536 bytes (or 0 for none)"))
	}
	if len(c.Name) > 64 {
		errs = append(errs, errors.New("--name: at most 64 characters"))
	}
	if err := c.loadSecrets(); err != nil {
		errs = append(errs, err)
	}
	if c.Name == "" && checkAddr(c.GossipAddr) == nil {
		host, _ := os.Hostname()
		if host == "" {
			host = "node"
		}
		_, port, _ := net.SplitHostPort(c.GossipAddr)
		c.Name = host + "-" + port
	}
	return errors.Join(errs...)
}

// checkAddr accepts host:port where host is an IP or a name and port is
// 0..65535. An empty host means all interfaces.
func checkAddr(a string) error {
	if a == "" {
		return errors.New("address is empty")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("not host:port: %w", err)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("bad host %q", host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// Bind registers the serve flags on fs, writing into c. Call Load after
// parsing so that RINGCAST_* variables and then the config file fill the
// flags left unset.
func (c *Config) Bind(fs *pflag.FlagSet) {
	d := Default()
	*c = d
	fs.StringVar(&c.File, "config", "", "YAML file of settings (keys: these flags' names); flags and RINGCAST_* variables win over it")
	fs.StringVar(&c.Name, "name", "", "unique, stable node name (default hostname-gossipport)")
	fs.Var((*rolesValue)(&c.Roles), "roles", "comma-separated roles: channel,gateway,admin,presence")
	fs.StringVar(&c.HTTPAddr, "http", d.HTTPAddr, "Web API and RTM websocket listen address")
	fs.StringVar(&c.GossipAddr, "gossip", d.GossipAddr, "gossip (memberlist) listen address, TCP and UDP")
	fs.StringVar(&c.InternodeAddr, "internode", "", "internode link listen address (default gossip host, any port)")
	fs.StringVar(&c.Advertise, "advertise", "", "IP other nodes and clients use to reach this node")
	fs.Var((*joinValue)(&c.Join), "join", "gossip address(es) of existing members to join, comma-separated")
	fs.StringVar(&c.DataDir, "data", d.DataDir, "data directory of the embedded store")
	fs.StringVar(&c.Store, "store", "", "store: a postgres://user@host/db?... URL shared by every node on several machines (default: the embedded SQLite under --data)")
	fs.StringVar(&c.Region, "region", "", "region tag; rtm.connect prefers gateways in the same region")
	fs.StringVar(&c.Secret, "secret", "", "cluster secret: encrypts gossip, roots internode trust (prefer RINGCAST_SECRET or --secret-file: argv is visible to every local user)")
	fs.StringVar(&c.SecretFile, "secret-file", "", "file of cluster secrets, one per line, the primary first (key rotation)")
	fs.BoolVar(&c.Insecure, "insecure", false, "allow gossip and internode links on non-loopback addresses without a secret")
	fs.StringVar(&c.AdminKey, "admin-key", "", "key for admin.* methods and /status (default: generated, kept in the store; prefer RINGCAST_ADMIN_KEY or --admin-key-file)")
	fs.StringVar(&c.AdminKeyFile, "admin-key-file", "", "file holding the admin key")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "internode TLS: this node's certificate, PEM, naming the node (default: derived from the cluster secret)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "internode TLS: the certificate's private key, PEM")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "internode TLS: the CA bundle every node's certificate chains to, PEM")
	fs.BoolVar(&c.Dev, "dev", false, "create a dev user and token on first start and print them")
	fs.StringVar(&c.LogFormat, "log-format", d.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", d.LogLevel, "log level: debug, info, warn, error")
	fs.BoolVar(&c.LogRequests, "log-requests", false, "log one line per HTTP request (method, path, status, bytes, duration, request id)")
	fs.BoolVar(&c.Pprof, "pprof", false, "serve Go profiles under /debug/pprof/ (for operators; do not expose publicly)")
	fs.DurationVar(&c.AppAckTimeout, "app-ack-timeout", d.AppAckTimeout, "how long a Socket Mode envelope waits for its ack before it is sent again")
	fs.DurationVar(&c.DrainWindow, "drain-window", d.DrainWindow, "on SIGTERM or `ringcast drain`, how long a gateway takes to move its websocket clients off, a slice at a time (0: all at once)")
	fs.DurationVar(&c.AppRetention, "app-retention", d.AppRetention, "how old the events an app missed while away may be and still reach it")
	fs.DurationVar(&c.CommitWindow, "commit-window", d.CommitWindow, "how long a busy channel owner lets a batch of messages gather before one durable commit (0: none)")
	l := &c.Limits
	for _, r := range []struct {
		rate       *limit.Rate
		name, help string
	}{
		{&l.Tier2, "limit-api-tier2", "Web API calls per user that change a channel or a setting (conversations.create|join|leave|invite, users.setPresence, auth.revoke)"},
		{&l.Tier3, "limit-api-tier3", "Web API paged reads and read marks per user (conversations.history|list|members|open|mark, users.list|conversations, search.messages)"},
		{&l.Tier4, "limit-api-tier4", "Web API cheap reads per user (auth.test, conversations.info, chat.getPermalink, users.info|getPresence)"},
		{&l.RTMConnect, "limit-rtm-connect", "rtm.connect per user"},
		{&l.Messages, "limit-messages", "messages per user, chat.postMessage and RTM together"},
		{&l.ChannelsCreated, "limit-channels", "conversations.create per user"},
		{&l.RTMMessages, "limit-rtm-messages", "messages per websocket"},
		{&l.RTMFrames, "limit-rtm-frames", "frames of any type per websocket"},
	} {
		fs.Var(r.rate, r.name, r.help+"; N/s, N/m or N/h, 0 for none (bots: ×10, class unlimited: none)")
	}
	fs.Var(&l.AppsConnect, "limit-apps-connect", "apps.connections.open per app (Slack's tier 1); N/s, N/m or N/h, 0 for none")
	fs.IntVar(&l.SocketsPerUser, "limit-sockets-per-user", l.SocketsPerUser, "websockets of one user on one gateway (bots ×10, class unlimited: any; 0: no limit)")
	fs.IntVar(&l.SocketsPerGateway, "limit-sockets", l.SocketsPerGateway, "websockets on one gateway (0: no limit)")
	fs.DurationVar(&l.RTMPing, "rtm-ping", l.RTMPing, "ping a websocket silent this long; close it after twice as long")
	fs.IntVar(&l.MaxResponse, "max-response", l.MaxResponse, "bytes of one Web API response (a history page stops short of it)")
	fs.DurationVar(&l.HTTPRead, "http-read-timeout", l.HTTPRead, "time for a request's headers and body to arrive")
	fs.DurationVar(&l.HTTPWrite, "http-write-timeout", l.HTTPWrite, "time for a response to be written")
	fs.DurationVar(&l.HTTPIdle, "http-idle-timeout", l.HTTPIdle, "how long an idle keep-alive connection stays open")
}

// ApplyEnv sets every flag of fs that was not given on the command line
// from RINGCAST_<FLAG> (upper case, dashes as underscores), so flags win
// over the environment.
func ApplyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := "RINGCAST_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// joinValue is a list of addresses where an empty one is an error, not
// "start a new cluster": --join "" almost always means a missing variable.
type joinValue []string

func (j *joinValue) String() string { return strings.Join(*j, ",") }

func (j *joinValue) Set(v string) error {
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return errors.New("missing join target (empty address)")
		}
		*j = append(*j, a)
	}
	return nil
}

func (j *joinValue) Type() string { return "addresses" }

type rolesValue []ring.Role

func (r *rolesValue) String() string {
	s := make([]string, len(*r))
	for i, x := range *r {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

func (r *rolesValue) Set(v string) error {
	var out []ring.Role
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(strings.ToLower(p))
		if p == "all" {
			out = append(out, ring.AllRoles...)
			continue
		}
		if p != "" {
			out = append(out, ring.Role(p))
		}
	}
	*r = out
	return nil
}

func (r *rolesValue) Type() string { return "roles" }
