package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackageGraph keeps the dependencies pointing one way (see
// docs/ARCHITECTURE.md): each rule names packages that must not depend,
// directly or through others, on some other packages.
func TestPackageGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ringcast/ringcast/"
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		for _, d := range f[1:] {
			if strings.HasPrefix(d, mod) {
				deps[pkg] = append(deps[pkg], strings.TrimPrefix(d, mod))
			}
		}
	}
	under := func(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
	role := func(pkg string) string { // roles/gateway/x -> roles/gateway
		parts := strings.SplitN(pkg, "/", 3)
		return strings.Join(parts[:min(2, len(parts))], "/")
	}
	rules := []struct {
		name    string
		applies func(pkg string) bool
		forbids func(pkg, dep string) bool
	}{
		{"chat imports nothing of ringcast", func(p string) bool { return p == "chat" },
			func(_, d string) bool { return true }},
		{"no transport imports store", func(p string) bool { return under(p, "transport") },
			func(_, d string) bool { return under(d, "store") }},
		{"ring does not import config (config imports ring)", func(p string) bool { return p == "ring" },
			func(_, d string) bool { return d == "config" }},
		{"no role imports another role", func(p string) bool { return under(p, "roles") },
			func(p, d string) bool { return under(d, "roles") && !under(d, role(p)) }},
		{"no transport imports a role, the cluster clients or the node", func(p string) bool { return under(p, "transport") },
			func(_, d string) bool { return under(d, "roles") || d == "cluster" || under(d, "node") }},
		{"the cluster clients import no role", func(p string) bool { return p == "cluster" },
			func(_, d string) bool { return under(d, "roles") || under(d, "node") }},
		{"the store knows no wire, ring or role", func(p string) bool { return under(p, "store") },
			func(_, d string) bool { return !under(d, "store") && d != "chat" }},
	}
	for pkg, ds := range deps {
		for _, r := range rules {
			if !r.applies(pkg) {
				continue
			}
			for _, d := range ds {
				if r.forbids(pkg, d) {
					t.Errorf("%s: %s imports %s", r.name, pkg, d)
				}
			}
		}
	}
	if len(deps) == 0 {
		t.Fatal("go list listed no packages")
	}
}
