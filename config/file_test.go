package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// load binds the serve flags, parses args and applies env and the file
// (written to a temporary path and passed as --config when not empty).
func load(t *testing.T, args []string, env map[string]string, file string) (Config, *pflag.FlagSet, Sources, error) {
	t.Helper()
	if file != "" {
		path := filepath.Join(t.TempDir(), "ringcast.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	var c Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return c, fs, nil, err
	}
	src, err := Load(fs, func(k string) string { return env[k] })
	return c, fs, src, err
}

// TestConfigPrecedence: flags > environment > file > defaults, for a
// plain value, a list and a duration, and where each came from.
func TestConfigPrecedence(t *testing.T) {
	const file = "http: 127.0.50.1:1001\njoin: [10.0.0.1:7946, 10.0.0.2:7946]\ndrain-window: 30s\n"
	for _, tt := range []struct {
		name       string
		args       []string
		env        map[string]string
		file       string
		http, from string
		join       []string
		drain      time.Duration
	}{
		{name: "defaults", http: "127.0.0.1:8080", from: FromDefault, drain: 10 * time.Second},
		{name: "file", file: file, http: "127.0.50.1:1001", from: FromFile,
			join: []string{"10.0.0.1:7946", "10.0.0.2:7946"}, drain: 30 * time.Second},
		{name: "environment over file", file: file, env: map[string]string{"RINGCAST_HTTP": "127.0.50.2:1002", "RINGCAST_JOIN": "10.0.0.9:7946"},
			http: "127.0.50.2:1002", from: FromEnv, join: []string{"10.0.0.9:7946"}, drain: 30 * time.Second},
		{name: "flag over environment and file", file: file, args: []string{"--http", "127.0.50.3:1003", "--drain-window", "1s"},
			env: map[string]string{"RINGCAST_HTTP": "127.0.50.2:1002"}, http: "127.0.50.3:1003", from: FromFlag,
			join: []string{"10.0.0.1:7946", "10.0.0.2:7946"}, drain: time.Second},
		{name: "flag over environment", args: []string{"--http", "127.0.50.3:1003"},
			env: map[string]string{"RINGCAST_HTTP": "127.0.50.2:1002"}, http: "127.0.50.3:1003", from: FromFlag, drain: 10 * time.Second},
		{name: "file named by the environment", env: map[string]string{"RINGCAST_CONFIG": "set below"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env["RINGCAST_CONFIG"] != "" {
				path := filepath.Join(t.TempDir(), "c.yaml")
				os.WriteFile(path, []byte("http: 127.0.50.4:1004\n"), 0o600)
				tt.env["RINGCAST_CONFIG"] = path
				tt.http, tt.from, tt.drain = "127.0.50.4:1004", FromFile, 10*time.Second
			}
			c, _, src, err := load(t, tt.args, tt.env, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTPAddr != tt.http || src["http"] != tt.from || strings.Join(c.Join, ",") != strings.Join(tt.join, ",") || c.DrainWindow != tt.drain {
				t.Fatalf("http %s (from %s), join %v, drain-window %v; want %s (from %s), %v, %v",
					c.HTTPAddr, src["http"], c.Join, c.DrainWindow, tt.http, tt.from, tt.join, tt.drain)
			}
		})
	}
}

// TestConfigFileRefusals: a key that is no setting, a value of the wrong
// shape or one the setting refuses: the error names the file's line and
// the key, and nothing from a bad line is applied.
func TestConfigFileRefusals(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "http: 127.0.50.1:1\nhtp: 127.0.50.1:2\n", []string{`line 2: "htp": unknown key`}},
		{"two unknown keys", "gosip: x\nroles: gateway\nlimit-mesages: 1/s\n", []string{`line 1: "gosip": unknown key`, `line 3: "limit-mesages": unknown key`}},
		{"a mapping value", "roles:\n  gateway: true\n", []string{`line 1: "roles": want a value or a list`}},
		{"no value", "region:\n", []string{`line 1: "region": no value`}},
		{"a bad duration", "drain-window: soon\n", []string{`line 1: "drain-window": `, "soon"}},
		{"a bad rate", "limit-messages: lots\n", []string{`line 1: "limit-messages": `}},
		{"another config file", "config: other.yaml\n", []string{`line 1: "config": a config file cannot name another`}},
		{"not a mapping", "- http\n", []string{"line 1: want a mapping"}},
		{"bad YAML", "http: [\n", []string{"config file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _, err := load(t, nil, nil, tt.file)
			if err == nil {
				t.Fatalf("accepted %q", tt.file)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
			if d := Default(); c.DrainWindow != d.DrainWindow || c.Region != d.Region || len(c.Roles) != len(d.Roles) {
				t.Fatalf("a refused line changed the config: %+v", c)
			}
		})
	}
	if _, _, _, err := load(t, []string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, nil, ""); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("a missing file: %v", err)
	}
}

// TestConfigPrint: the effective settings with their sources, secrets
// masked and the store's password hidden; what it prints reads back as a
// config file.
func TestConfigPrint(t *testing.T) {
	const secret, password = "the-cluster-secret-that-is-long-enough-1234", "hunter2"
	file := "secret: " + secret + "\nstore: postgres://rc:" + password + "@db/rc\nroles: [gateway, admin]\n"
	_, fs, src, err := load(t, []string{"--admin-key", "xoxa-keykeykeykeykeykeykey"}, map[string]string{"RINGCAST_REGION": "eu"}, file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Print(&out, fs, src); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"secret: (masked) # file", "admin-key: (masked) # flag", "store: postgres://rc:xxxxx@db/rc # file",
		"region: eu # environment", "roles: [gateway, admin] # file", "http: 127.0.0.1:8080 # default"} {
		if !strings.Contains(s, want+"\n") {
			t.Errorf("config print lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, secret) || strings.Contains(s, password) || strings.Contains(s, "xoxa-keykey") || strings.Contains(s, "config:") {
		t.Fatalf("config print shows a secret or itself:\n%s", s)
	}
	c, _, _, err := load(t, nil, nil, s)
	if err != nil || c.Region != "eu" || len(c.Roles) != 2 {
		t.Fatalf("the printed settings as a config file: %v %+v", err, c)
	}
}
