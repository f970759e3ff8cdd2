// Package deploy holds the files an operator installs (systemd units and
// their environment files); its test checks them with systemd's own
// verifier.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/node/nodetest"
	"go.uber.org/goleak"
)

// TestMain checks for leaks, allowing what a stopped node leaves a
// moment (the monitoring test starts one).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

// verify runs systemd-analyze verify on the instances of the unit in
// dir, inside a throwaway root holding the unit, the environment files
// where the unit reads them, an executable where ExecStart points, and
// systemd's own units; it returns what the verifier printed.
func verify(t *testing.T, unit []byte, instances ...string) (string, error) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc/systemd/system", "etc/ringcast", "usr/local/bin", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-r", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd")).CombinedOutput(); err != nil {
		t.Fatalf("copy systemd's units: %v: %s", err, out)
	}
	write := func(path string, b []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, path), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/systemd/system/ringcast@.service", unit, 0o644)
	write("usr/local/bin/ringcast", []byte("#!/bin/sh\n"), 0o755)
	files, _ := filepath.Glob("systemd/*.env")
	yamls, _ := filepath.Glob("systemd/*.yaml")
	for _, e := range append(files, yamls...) {
		b, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join("etc/ringcast", filepath.Base(e)), b, 0o640)
	}
	args := []string{"verify", "--root=" + root}
	for _, i := range instances {
		args = append(args, "ringcast@"+i+".service")
	}
	out, err := exec.Command("systemd-analyze", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestSystemdUnits: the unit verifies cleanly (no warning either) for
// every role profile there is a config file for, and the verifier would
// say so if it did not.
func TestSystemdUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and systemd-analyze is missing (Debian: systemd)")
		}
		t.Skip("skipped: systemd-analyze is missing (Debian: systemd)")
	}
	unit, err := os.ReadFile("systemd/ringcast@.service")
	if err != nil {
		t.Fatal(err)
	}
	var profiles []string
	yamls, _ := filepath.Glob("systemd/*.yaml")
	for _, e := range yamls {
		profiles = append(profiles, strings.TrimSuffix(filepath.Base(e), ".yaml"))
	}
	if len(profiles) < 2 {
		t.Fatalf("role profiles %v: want edge and core at least", profiles)
	}
	if out, err := verify(t, unit, profiles...); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify %v: %v\n%s", profiles, err, out)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"Restart=on-failure", "LimitNOFILE=", "LoadCredential=config:/etc/ringcast/%i.yaml", "serve --config %d/config"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	// The verifier speaks up about a unit with a mistake.
	broken := strings.Replace(string(unit), "NoNewPrivileges=yes", "NoNewPrivilege=yes", 1)
	if out, _ := verify(t, []byte(broken), profiles[0]); !strings.Contains(out, "NoNewPrivilege") {
		t.Fatalf("a misspelt key passed verification: %q", out)
	}
}
