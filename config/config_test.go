package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/ring"
	"github.com/spf13/pflag"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func parse(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	var c Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Roles) != 4 || c.HTTPAddr != "127.0.0.1:8080" || c.InternodeAddr != "127.0.0.1:0" || c.Name == "" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestFlagsBeatEnv(t *testing.T) {
	c, err := parse(t, []string{"--roles", "gateway"},
		map[string]string{"RINGCAST_ROLES": "channel", "RINGCAST_REGION": "eu", "RINGCAST_JOIN": "10.0.0.1:7946,10.0.0.2:7946", "RINGCAST_LOG_FORMAT": "json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Roles) != 1 || c.Roles[0] != ring.RoleGateway || c.Region != "eu" || len(c.Join) != 2 || c.LogFormat != "json" {
		t.Fatalf("config = %+v", c)
	}
	if !c.Has(ring.RoleGateway) || c.Has(ring.RoleChannel) {
		t.Fatal("Has is wrong")
	}
}

func TestRolesAll(t *testing.T) {
	c, err := parse(t, []string{"--roles", "all"}, nil)
	if err != nil || len(c.Roles) != 4 {
		t.Fatalf("--roles all = %v, %v", c.Roles, err)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--roles", "gateway,chanel"}, nil, `unknown role "chanel"`},
		{[]string{"--roles", "gateway,gateway"}, nil, "listed twice"},
		{[]string{"--roles", ","}, nil, "at least one role"},
		{[]string{"--http", "8080"}, nil, "--http"},
		{[]string{"--gossip", "127.0.0.1:-1"}, nil, "bad port"},
		{[]string{"--internode", "x y:1"}, nil, "--internode"},
		{[]string{"--join", ""}, nil, "missing join target"},
		{[]string{"--join", "a:1,,b:2"}, nil, "missing join target"},
		{[]string{"--join", "host"}, nil, "--join"},
		{[]string{"--advertise", "example.com"}, nil, "not an IP"},
		{[]string{"--data", ""}, nil, "--data"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{[]string{"--log-level", "chatty"}, nil, "--log-level"},
		{[]string{"--region", strings.Repeat("r", 33)}, nil, "--region"},
		{[]string{"--commit-window", "-1ms"}, nil, "--commit-window"},
		{[]string{"--commit-window", "soon"}, nil, "commit-window"},
		{nil, map[string]string{"RINGCAST_ROLES": "nope"}, `unknown role "nope"`},
		{nil, map[string]string{"RINGCAST_DEV": "maybe"}, "RINGCAST_DEV"},
		{[]string{"--store", "mysql://db/ringcast"}, nil, "want a postgres:// or postgresql:// URL"},
		{[]string{"--store", "/var/lib/ringcast.db"}, nil, "--store"},
		{nil, map[string]string{"RINGCAST_STORE": "sqlite:ringcast.db"}, "--store"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parse(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestStore(t *testing.T) {
	c, err := parse(t, nil, map[string]string{"RINGCAST_STORE": "postgres://ringcast@db.internal/ringcast?sslmode=require"})
	if err != nil || !c.Postgres() || c.Store != "postgres://ringcast@db.internal/ringcast?sslmode=require" {
		t.Fatalf("RINGCAST_STORE: %+v, %v", c.Store, err)
	}
	if c, err := parse(t, nil, nil); err != nil || c.Postgres() || c.Store != "" {
		t.Fatalf("default store = %q, %v; want the embedded one", c.Store, err)
	}
	_, err = parse(t, []string{"--store", "mysql://ringcast:s3cret@db/ringcast"}, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a bad --store error shows its password or nothing: %v", err)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	Logger(&buf, "json", "warn").Info("hidden")
	Logger(&buf, "json", "warn").Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "shown" || line["k"] != 1.0 {
		t.Fatalf("json log = %q (%v)", buf.String(), err)
	}
	buf.Reset()
	Logger(&buf, "text", "debug").Debug("hello")
	if !strings.Contains(buf.String(), "hello") || strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("text log to a non-terminal = %q", buf.String())
	}
}
