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
		want []string // every problem the error must name; none for valid
	}{
		{"defaults", func(c *Config) {}, nil},
		{"unknown scenario", func(c *Config) { c.Scenario = "fanin" }, []string{`--scenario "fanin"`}},
		{"no admin key", func(c *Config) { c.AdminKey = "" }, []string{"--admin-key"}},
		{"bad url", func(c *Config) { c.URL = "127.0.0.1:8080" }, []string{"--url"}},
		{"fanout with channels", func(c *Config) { c.Channels = 3 }, []string{"fanout uses one channel"}},
		{"spread with too few users", func(c *Config) { c.Scenario, c.Users = Spread, 10 }, []string{"at least one user per channel"}},
		{"more users than sessions", func(c *Config) { c.Subs, c.Users = 5, 10 }, []string{"more users than sessions"}},
		{"negative subs", func(c *Config) { c.Subs = -1 }, []string{"--subs"}},
		{"negative rate", func(c *Config) { c.Rate = -1 }, []string{"--rate"}},
		{"tiny size", func(c *Config) { c.Size = 10 }, []string{"--size 10"}},
		{"huge size", func(c *Config) { c.Size = 5000 }, []string{"--size 5000"}},
		{"bad via", func(c *Config) { c.Via = "smoke" }, []string{"--via"}},
		{"too many in flight", func(c *Config) { c.Inflight = 256 }, []string{"--inflight 256"}},
		{"many in flight over http", func(c *Config) { c.Via, c.Inflight = ViaHTTP, 1000 }, nil},
		{"negative warmup", func(c *Config) { c.Warmup = -time.Second }, []string{"--warmup"}},
		{"bad pid", func(c *Config) { c.Pids = []int{7, -3} }, []string{"--pid"}},
		{"bad local ips", func(c *Config) { c.LocalIPs = "127.0.0.9-127.0.0.2" }, []string{"--local-ips"}},
		{"two problems", func(c *Config) { c.Via, c.Size = "x", 1 }, []string{"--via", "--size"}},
		{"two problems of the layout", func(c *Config) { c.Channels, c.Subs, c.Users = 3, 5, 10 },
			[]string{"fanout uses one channel", "more users than sessions"}},
	}
	for _, s := range Scenarios {
		tests = append(tests, struct {
			name string
			mod  func(*Config)
			want []string
		}{"scenario " + s + " with its defaults", func(c *Config) { c.Scenario = s }, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Defaults().Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
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
