package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Scenarios.
const (
	Fanout  = "fanout"  // one channel, N subscribers, R publishes/s
	Spread  = "spread"  // N subscribers over K channels, one channel each, R/s over the channels
	Idle    = "idle"    // N silent sessions: server memory per connection
	Publish = "publish" // durable publish throughput: acked messages/s
	Connect = "connect" // connection rate and latency
	App     = "app"     // chat.postMessage -> events_api envelopes on --subs Socket Mode connections of one app
)

// Scenarios lists the scenarios, in the order the help shows them.
var Scenarios = []string{Fanout, Spread, Idle, Publish, Connect, App}

// How publishes are sent.
const (
	ViaRTM  = "rtm"  // {"type":"message"} on a publisher's websocket, acked with reply_to
	ViaHTTP = "http" // chat.postMessage
)

// Config describes one run. Zero values take the scenario's default
// (see Defaults).
type Config struct {
	URL      string // an admin node, http://host:port
	AdminKey string
	Scenario string

	Subs       int     // subscriber sessions
	Channels   int     // channels of the run
	Users      int     // distinct subscriber users (sessions share them); 0: min(Subs, 1000), at least Channels
	Publishers int     // publishers (a websocket each with ViaRTM)
	Rate       float64 // publishes per second over all publishers (open loop); 0 with Publish: as fast as acks allow
	Size       int     // message text length, bytes
	Via        string  // ViaRTM or ViaHTTP
	Inflight   int     // unacknowledged publishes per publisher (the server allows 256 per session)

	Warmup   time.Duration // publishing before the measured window (0: none)
	Duration time.Duration // the measured window (idle: how long sessions stay connected)
	Drain    time.Duration // after publishing: how long deliveries must be quiet before counting losses (0: 2 s)

	Concurrency int    // connections being opened at once
	Reconnect   bool   // a dropped session reconnects and resumes from its last seq (a publisher then goes on)
	Pids        []int  // server processes to sample from /proc (same machine), summed; none: no server figures
	LocalIPs    string // source addresses for websockets to a loopback server: "127.0.0.2-127.0.0.250", a list, or "" (none)
}

// Defaults fills the zero fields of c with the defaults of its scenario.
func (c Config) Defaults() Config {
	if c.Scenario == "" {
		c.Scenario = Fanout
	}
	if c.URL == "" {
		c.URL = "http://127.0.0.1:8080"
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	switch c.Scenario {
	case Fanout:
		def(&c.Subs, 100)
		def(&c.Channels, 1)
		def(&c.Publishers, 1)
		if c.Rate == 0 {
			c.Rate = 100
		}
	case Spread:
		def(&c.Subs, 1000)
		def(&c.Channels, 100)
		def(&c.Publishers, 4)
		if c.Rate == 0 {
			c.Rate = 1000
		}
	case Idle:
		def(&c.Subs, 1000)
		def(&c.Channels, 100)
	case Publish:
		def(&c.Channels, 100)
		def(&c.Publishers, 16)
	case Connect:
		def(&c.Subs, 1000)
		def(&c.Channels, 1)
	case App:
		def(&c.Subs, 1)
		def(&c.Channels, 1)
		def(&c.Publishers, 1)
		c.Users = 1
		c.Via = ViaHTTP
		if c.Rate == 0 {
			c.Rate = 200
		}
	}
	if c.Users == 0 {
		c.Users = min(c.Subs, 1000)
		if c.Subs >= c.Channels {
			c.Users = max(c.Users, c.Channels)
		}
	}
	def(&c.Size, 128)
	def(&c.Inflight, 128)
	def(&c.Concurrency, 64)
	if c.Via == "" {
		c.Via = ViaRTM
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
		if c.Scenario == Idle {
			c.Duration = 5 * time.Second
		}
	}
	if c.Drain == 0 {
		c.Drain = 2 * time.Second
	}
	return c
}

// publishes reports whether the scenario publishes messages.
func (c Config) publishes() bool {
	return c.Scenario == Fanout || c.Scenario == Spread || c.Scenario == Publish || c.Scenario == App
}

// minText is the shortest text that carries the measurement header.
const minText = 64

// Validate checks a Config after Defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	if !known {
		bad("--scenario %q: want one of %s", c.Scenario, strings.Join(Scenarios, ", "))
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("--url %q: want http://host:port", c.URL)
	}
	if c.AdminKey == "" {
		bad("--admin-key (or RINGCAST_ADMIN_KEY) is required")
	}
	if c.Subs < 0 || c.Channels < 1 || c.Users < 0 || c.Publishers < 0 {
		bad("--subs, --users and --publishers must be >= 0 and --channels >= 1")
	}
	if c.Scenario == Fanout && c.Channels != 1 {
		bad("--channels %d: fanout uses one channel (see --scenario spread)", c.Channels)
	}
	if c.Scenario == Spread && c.Users < c.Channels && c.Subs >= c.Channels {
		bad("--users %d: spread needs at least one user per channel (%d)", c.Users, c.Channels)
	}
	if c.Scenario == App && (c.Channels != 1 || c.Publishers != 1 || c.Via != ViaHTTP || c.Subs < 1) {
		bad("app: one channel, one publisher posting with chat.postMessage (--via http), at least one connection (--subs)")
	}
	if c.Users > c.Subs && c.Subs > 0 {
		bad("--users %d: more users than sessions (%d)", c.Users, c.Subs)
	}
	if c.publishes() && c.Publishers < 1 {
		bad("--publishers must be >= 1 for %s", c.Scenario)
	}
	if c.Rate < 0 || (c.Rate == 0 && c.publishes() && c.Scenario != Publish) {
		bad("--rate %g: want a positive rate (only the publish scenario runs closed loop at --rate 0)", c.Rate)
	}
	if c.Size < minText || c.Size > 4000 {
		bad("--size %d: want %d..4000 (the server's limit is 4000 characters)", c.Size, minText)
	}
	if c.Via != ViaRTM && c.Via != ViaHTTP {
		bad("--via %q: want rtm or http", c.Via)
	}
	if c.Inflight < 1 || (c.Via == ViaRTM && c.Inflight > 255) {
		bad("--inflight %d: want 1..255 (the server allows 256 unacknowledged sends per session)", c.Inflight)
	}
	if c.Duration <= 0 || c.Warmup < 0 || c.Drain < 0 {
		bad("--duration must be positive, --warmup and --drain not negative")
	}
	if c.Concurrency < 1 {
		bad("--concurrency must be >= 1")
	}
	for _, p := range c.Pids {
		if p <= 0 {
			bad("--pid %d: want a process id", p)
		}
	}
	if _, err := parseIPs(c.LocalIPs); err != nil {
		bad("--local-ips: %w", err)
	}
	return errors.Join(errs...)
}

// parseIPs reads "a.b.c.d-a.b.c.e" (a range within one /24), or a comma
// separated list of addresses and ranges.
func parseIPs(s string) ([]net.IP, error) {
	var out []net.IP
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		a := net.ParseIP(from).To4()
		if a == nil {
			return nil, fmt.Errorf("%q is not an IPv4 address", from)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b := net.ParseIP(to).To4()
		if b == nil || a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || b[3] < a[3] {
			return nil, fmt.Errorf("%q: want a range like 127.0.0.2-127.0.0.250 within one /24", part)
		}
		for i := int(a[3]); i <= int(b[3]); i++ {
			out = append(out, net.IPv4(a[0], a[1], a[2], byte(i)).To4())
		}
	}
	return out, nil
}
