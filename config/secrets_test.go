package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	strong  = "q8Zr1vX3mN5bK7pL9sT2wY4uE6iO0aD=" // 32 characters
	strong2 = "H3jF5kM7nB9vC1xZ2aS4dG6hJ8lQ0wE+"
)

// keyFile writes lines to a file of mode perm and returns its path.
func keyFile(t *testing.T, perm os.FileMode, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return p
}

func TestSecrets(t *testing.T) {
	c, err := parse(t, nil, map[string]string{"RINGCAST_SECRET": strong, "RINGCAST_ADMIN_KEY": "xoxa-" + strong})
	if err != nil || len(c.Secrets) != 1 || c.Secrets[0] != strong || c.AdminKey != "xoxa-"+strong {
		t.Fatalf("secrets from the environment: %v %q, %v", c.Secrets, c.AdminKey, err)
	}
	// A file: the primary first, comments and blank lines skipped.
	f := keyFile(t, 0o600, "# new key first", strong2, "", strong)
	c, err = parse(t, []string{"--secret-file", f, "--admin-key-file", keyFile(t, 0o640, "xoxa-"+strong2)}, nil)
	if err != nil || len(c.Secrets) != 2 || c.Secrets[0] != strong2 || c.Secrets[1] != strong || c.AdminKey != "xoxa-"+strong2 {
		t.Fatalf("secret files: %v %q, %v", c.Secrets, c.AdminKey, err)
	}
	if err := c.Validate(); err != nil || c.AdminKey != "xoxa-"+strong2 { // node.New validates its copy again
		t.Fatalf("second Validate: %q, %v", c.AdminKey, err)
	}
	// Off loopback with a secret, or with --insecure, is fine.
	if _, err := parse(t, []string{"--gossip", "0.0.0.0:7946", "--advertise", "10.0.0.1", "--secret-file", f}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, []string{"--gossip", "10.0.0.1:7946", "--insecure"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"127.0.0.1:1", "127.0.22.9:0", "[::1]:7946", "localhost:7946"} {
		if !Loopback(ok) {
			t.Errorf("Loopback(%q) = false", ok)
		}
	}
	for _, no := range []string{"0.0.0.0:7946", ":7946", "10.0.0.1:1", "[::]:1", "node-1:7946"} {
		if Loopback(no) {
			t.Errorf("Loopback(%q) = true", no)
		}
	}
}

func TestSecretsRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"deploy example's secret", nil, map[string]string{"RINGCAST_SECRET": "change-me"}, "placeholder"},
		{"deploy example's admin key", nil, map[string]string{"RINGCAST_ADMIN_KEY": "change-me-too"}, "placeholder"},
		{"placeholder padded", []string{"--secret", "CHANGE-ME-" + strong}, nil, "placeholder"},
		{"short", []string{"--secret", strong[:31]}, nil, "too weak"},
		{"pattern", []string{"--secret", strings.Repeat("ab", 20)}, nil, "too weak"},
		{"short admin key", nil, map[string]string{"RINGCAST_ADMIN_KEY": "xoxa-chaos"}, "--admin-key: too weak"},
		{"both secrets", []string{"--secret", strong, "--secret-file", "x"}, nil, "give one of them"},
		{"both admin keys", []string{"--admin-key", strong, "--admin-key-file", "x"}, nil, "give one of them"},
		{"missing file", []string{"--secret-file", "/nonexistent/keys"}, nil, "--secret-file"},
		{"gossip off loopback without a secret", []string{"--gossip", "0.0.0.0:7946"}, nil, "--gossip 0.0.0.0:7946 is not a loopback address"},
		{"internode off loopback", []string{"--internode", "10.0.0.1:7947"}, nil, "--internode 10.0.0.1:7947 is not a loopback"},
		{"advertised off loopback", []string{"--advertise", "10.0.0.1"}, nil, "--advertise 10.0.0.1 is not a loopback"},
		{"half the TLS files", []string{"--tls-cert", "node.pem"}, nil, "give all three"},
		{"dev mode on a public address", []string{"--dev", "--http", "0.0.0.0:8080"}, nil, "--dev with --http 0.0.0.0:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	for name, f := range map[string]string{
		"world-readable file": keyFile(t, 0o644, strong),
		"empty file":          keyFile(t, 0o600, "# nothing"),
		"weak key in a file":  keyFile(t, 0o600, strong, "change-me"),
		"too many keys":       keyFile(t, 0o600, strong, strong2, strong+"1", strong2+"1", strong+"2"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parse(t, []string{"--secret-file", f}, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestLimitFlags(t *testing.T) {
	c, err := parse(t, []string{"--limit-messages", "5/s", "--limit-channels", "0", "--limit-rtm-connect", "10/90s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.Messages.N != 5 || l.Messages.Per != time.Second || !l.ChannelsCreated.Unlimited() || l.RTMConnect.Per != 90*time.Second ||
		l.Tier3.N != 300 {
		t.Fatalf("limits = %+v", l)
	}
	for _, bad := range [][]string{{"--limit-messages", "fast"}, {"--limit-messages", "5/fortnight"}, {"--max-response", "100"}, {"--max-response", "-1"}, {"--http-idle-timeout", "0s"}} {
		if _, err := parse(t, bad, nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
