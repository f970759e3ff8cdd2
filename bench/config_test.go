package bench

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:8080", AdminKey: "k"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"every scenario", func(c *Config) { c.Scenario = Publish }, ""},
		{"unknown scenario", func(c *Config) { c.Scenario = "fanin" }, `--scenario "fanin"`},
		{"no admin key", func(c *Config) { c.AdminKey = "" }, "--admin-key"},
		{"bad url", func(c *Config) { c.URL = "127.0.0.1:8080" }, "--url"},
		{"fanout with channels", func(c *Config) { c.Channels = 3 }, "fanout uses one channel"},
		{"spread with too few users", func(c *Config) { c.Scenario, c.Users = Spread, 10 }, "at least one user per channel"},
		{"more users than sessions", func(c *Config) { c.Subs, c.Users = 5, 10 }, "more users than sessions"},
		{"negative subs", func(c *Config) { c.Subs = -1 }, "--subs"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "--rate"},
		{"tiny size", func(c *Config) { c.Size = 10 }, "--size 10"},
		{"huge size", func(c *Config) { c.Size = 5000 }, "--size 5000"},
		{"bad via", func(c *Config) { c.Via = "smoke" }, "--via"},
		{"too many in flight", func(c *Config) { c.Inflight = 256 }, "--inflight 256"},
		{"many in flight over http", func(c *Config) { c.Via, c.Inflight = ViaHTTP, 1000 }, ""},
		{"negative warmup", func(c *Config) { c.Warmup = -time.Second }, "--warmup"},
		{"bad pid", func(c *Config) { c.Pid = -3 }, "--pid"},
		{"bad local ips", func(c *Config) { c.LocalIPs = "127.0.0.9-127.0.0.2" }, "--local-ips"},
		{"two problems", func(c *Config) { c.Via, c.Size = "x", 1 }, "--size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Defaults().Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Scenario: Spread, Subs: 50, Channels: 100}.Defaults()
	if c.Users != 50 || c.Rate != 1000 || c.Publishers != 4 || c.Size != 128 || c.Via != ViaRTM || c.Duration != 10*time.Second {
		t.Fatalf("spread defaults: %+v", c)
	}
	c = Config{Scenario: Spread, Subs: 5000, Channels: 2000}.Defaults()
	if c.Users != 2000 {
		t.Fatalf("users = %d, want one per channel", c.Users)
	}
	c = Config{Scenario: Publish}.Defaults()
	if c.Rate != 0 || c.Subs != 0 || c.Users != 0 {
		t.Fatalf("publish defaults: %+v", c)
	}
}

func TestParseIPs(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		last string
		bad  bool
	}{
		{"", 0, "", false},
		{"127.0.0.2-127.0.0.250", 249, "127.0.0.250", false},
		{"127.0.0.2", 1, "127.0.0.2", false},
		{"127.0.0.2, 127.0.1.5-127.0.1.6", 3, "127.0.1.6", false},
		{"127.0.0.2-127.0.1.3", 0, "", true},
		{"::1", 0, "", true},
		{"nope", 0, "", true},
	}
	for _, tt := range tests {
		ips, err := parseIPs(tt.in)
		if (err != nil) != tt.bad || len(ips) != tt.n || (tt.n > 0 && ips[len(ips)-1].String() != tt.last) {
			t.Errorf("parseIPs(%q) = %v, %v", tt.in, ips, err)
		}
	}
}
