package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// MinSecret is the shortest cluster secret or admin key accepted, in
// characters: `openssl rand -base64 32` makes 44.
const MinSecret = 32

// maxSecrets bounds the keys of a --secret-file (a rotation needs two).
const maxSecrets = 4

// placeholders are substrings of example values that must never run a
// cluster (the deploy example's, and the usual ones).
var placeholders = []string{"change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder",
	"example", "your-secret", "yoursecret", "secret-here", "xxxxxxxx", "00000000", "12345678", "password"}

// CheckSecret refuses a key an attacker could guess: shorter than
// MinSecret, with fewer than 8 distinct characters, or holding a
// placeholder such as "change-me". what names the setting in the error.
func CheckSecret(what, s string) error {
	low := strings.ToLower(s)
	for _, p := range placeholders {
		if strings.Contains(low, p) {
			return fmt.Errorf("%s: looks like a placeholder (%q): generate one with `openssl rand -base64 32`", what, p)
		}
	}
	distinct := map[rune]bool{}
	for _, r := range s {
		distinct[r] = true
	}
	if len(s) < MinSecret || len(distinct) < 8 {
		return fmt.Errorf("%s: too weak (at least %d characters, not a pattern): generate one with `openssl rand -base64 32`", what, MinSecret)
	}
	return nil
}

// readKeyFile reads a key file: one key per line, blank lines and lines
// starting with # ignored. A file others may read is refused.
func readKeyFile(flag, path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("%s %s: readable or writable by every local user (mode %04o): chmod 600 it", flag, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s %s: no key in the file", flag, path)
	}
	return keys, nil
}

// loadSecrets fills Secrets (from --secret or --secret-file) and AdminKey
// (from --admin-key-file when set), and checks each key.
func (c *Config) loadSecrets() error {
	var errs []error
	c.Secrets = nil
	switch {
	case c.Secret != "" && c.SecretFile != "":
		errs = append(errs, errors.New("--secret and --secret-file: give one of them"))
	case c.SecretFile != "":
		keys, err := readKeyFile("--secret-file", c.SecretFile)
		if err != nil {
			errs = append(errs, err)
		} else if len(keys) > maxSecrets {
			errs = append(errs, fmt.Errorf("--secret-file: %d keys, at most %d (the primary first, then those still accepted)", len(keys), maxSecrets))
		} else {
			c.Secrets = keys
		}
	case c.Secret != "":
		c.Secrets = []string{c.Secret}
	}
	for i, k := range c.Secrets {
		what := "--secret"
		if c.SecretFile != "" {
			what = fmt.Sprintf("--secret-file: key %d", i+1)
		}
		if err := CheckSecret(what, k); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case c.AdminKeyFile != "" && c.AdminKey != "" && !c.adminKeyFromFile:
		errs = append(errs, errors.New("--admin-key and --admin-key-file: give one of them"))
	case c.AdminKeyFile != "":
		keys, err := readKeyFile("--admin-key-file", c.AdminKeyFile)
		if err == nil {
			c.AdminKey, c.adminKeyFromFile = keys[0], true
			err = CheckSecret("--admin-key-file", c.AdminKey)
		}
		if err != nil {
			errs = append(errs, err)
		}
	case c.AdminKey != "":
		if err := CheckSecret("--admin-key", c.AdminKey); err != nil {
			errs = append(errs, err)
		}
	}
	if n := countSet(c.TLSCert, c.TLSKey, c.TLSCA); n != 0 && n != 3 {
		errs = append(errs, errors.New("--tls-cert, --tls-key and --tls-ca: give all three (the operator's internode TLS) or none (TLS from the cluster secret)"))
	}
	if c.Dev && !c.Insecure && !Loopback(c.HTTPAddr) {
		errs = append(errs, fmt.Errorf("--dev with --http %s: dev mode lets anyone who reaches the Web API sign in as any user, "+
			"so it serves only a loopback address (or --insecure on a network nobody else can reach)", c.HTTPAddr))
	}
	if len(c.Secrets) == 0 && !c.Insecure {
		for _, a := range []struct{ flag, addr string }{{"--gossip", c.GossipAddr}, {"--internode", c.InternodeAddr}, {"--advertise", c.Advertise}} {
			if a.addr != "" && !Loopback(a.addr) {
				errs = append(errs, fmt.Errorf("%s %s is not a loopback address, and no cluster secret is set: anyone who reaches it could join "+
					"the cluster and read every channel. Give every node the same --secret-file (or RINGCAST_SECRET), or --insecure "+
					"on a network nobody else can reach", a.flag, a.addr))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Loopback reports whether addr (host:port, or a bare host) names only
// this machine: a loopback IP or "localhost". A wildcard or empty host,
// any other IP and any other name are not.
func Loopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// countSet is how many of vs are not empty.
func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}
