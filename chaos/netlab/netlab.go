package netlab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Check reports why a lab cannot be built here, nil when it can.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing (Debian: iproute2, nftables)", tool)
		}
	}
	return nil
}

// Require skips t with one line when no lab can be built (fails under
// CI=true, where the tools must be there).
func Require(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, and %v", err)
		}
		t.Skipf("skipped: %v", err)
	}
}

// Lab is a bridge and the hosts on it.
type Lab struct {
	t      testing.TB
	prefix string // of every namespace and link: short, links have 15 characters
	bridge string
	net    string // the first three octets, e.g. "10.13.0"
	mu     sync.Mutex
	hosts  []*Host
}

// New builds an empty lab: a bridge named prefix+"br" in the test's
// namespace with net+".1/16" (the address the test reaches hosts from).
// It first removes namespaces and links left under prefix by a test that
// was killed; t.Cleanup removes everything the lab made.
func New(t testing.TB, prefix, net string) *Lab {
	t.Helper()
	Require(t)
	l := &Lab{t: t, prefix: prefix, bridge: prefix + "br", net: net}
	Sweep(prefix)
	t.Cleanup(func() { Sweep(prefix) })
	l.must("ip", "link", "add", l.bridge, "type", "bridge")
	l.must("ip", "addr", "add", net+".1/16", "dev", l.bridge)
	l.must("ip", "link", "set", l.bridge, "up")
	return l
}

// Sweep deletes every namespace and link whose name starts with prefix
// (the namespaces' processes die with... nothing: kill them first).
func Sweep(prefix string) {
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
				exec.Command("ip", "netns", "delete", f[0]).Run()
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if strings.HasPrefix(name, prefix) {
				exec.Command("ip", "link", "delete", name).Run()
			}
		}
	}
}

func (l *Lab) must(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Gateway is the test's own address on the bridge.
func (l *Lab) Gateway() string { return l.net + ".1" }

// Host is one network namespace with one interface, eth0, on the bridge.
type Host struct {
	Name string
	NS   string // the namespace
	IP   string
	lab  *Lab
	nft  bool // the host has its nftables table
}

// AddHost makes a host: namespace prefix+name, eth0 with the next IP
// (net.10, net.11, ...), loopback up.
func (l *Lab) AddHost(name string) *Host {
	l.t.Helper()
	l.mu.Lock()
	i := len(l.hosts)
	h := &Host{Name: name, NS: l.prefix + name, IP: fmt.Sprintf("%s.%d", l.net, 10+i), lab: l}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	outer, inner := fmt.Sprintf("%sv%d", l.prefix, i), fmt.Sprintf("%sp%d", l.prefix, i)
	l.must("ip", "netns", "add", h.NS)
	l.must("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
	l.must("ip", "link", "set", outer, "master", l.bridge)
	l.must("ip", "link", "set", outer, "up")
	l.must("ip", "link", "set", inner, "netns", h.NS)
	h.must("ip", "link", "set", inner, "name", "eth0")
	h.must("ip", "addr", "add", h.IP+"/16", "dev", "eth0")
	h.must("ip", "link", "set", "eth0", "up")
	h.must("ip", "link", "set", "lo", "up")
	return h
}

// Hosts returns the lab's hosts.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// Wrap is the command prefix that runs a command on the host.
func (h *Host) Wrap() []string { return []string{"ip", "netns", "exec", h.NS} }

// Run runs a command on the host.
func (h *Host) Run(args ...string) error {
	out, err := exec.Command("ip", append([]string{"netns", "exec", h.NS}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s on %s: %v: %s", strings.Join(args, " "), h.Name, err, out)
	}
	return nil
}

func (h *Host) must(args ...string) {
	h.lab.t.Helper()
	if err := h.Run(args...); err != nil {
		h.lab.t.Fatal(err)
	}
}

// LinkDown cuts the host off completely: its interface goes down.
func (h *Host) LinkDown() error { return h.Run("ip", "link", "set", "eth0", "down") }

// LinkUp brings the interface back (its address and route come back
// with it).
func (h *Host) LinkUp() error { return h.Run("ip", "link", "set", "eth0", "up") }

// Isolate drops every packet between the host and the other hosts,
// except those with the addresses in keep (the test's own address is
// always kept). Heal undoes it.
func (h *Host) Isolate(keep ...string) error {
	var peers []string
	for _, o := range h.lab.Hosts() {
		if o != h && !contains(keep, o.IP) {
			peers = append(peers, o.IP)
		}
	}
	if len(peers) == 0 {
		return nil
	}
	set := "{ " + strings.Join(peers, ", ") + " }"
	return h.rules("ip saddr "+set+" drop", "ip daddr "+set+" drop")
}

// Loss drops percent of the host's packets, in and out, at random
// (nftables numgen: this kernel has no netem). Heal undoes it.
func (h *Host) Loss(percent int) error {
	r := fmt.Sprintf("meta iifname eth0 numgen random mod 100 < %d drop", percent)
	w := fmt.Sprintf("meta oifname eth0 numgen random mod 100 < %d drop", percent)
	return h.rules(r, w)
}

// rules adds a rule to the host's input and one to its output chain.
func (h *Host) rules(in, out string) error {
	if !h.nft {
		script := "table inet netlab {\n chain in { type filter hook input priority 0; }\n chain out { type filter hook output priority 0; }\n}\n"
		if err := h.nftScript(script); err != nil {
			return err
		}
		h.nft = true
	}
	return h.nftScript(fmt.Sprintf("add rule inet netlab in %s\nadd rule inet netlab out %s\n", in, out))
}

// Heal removes every rule Isolate and Loss added.
func (h *Host) Heal() error {
	if !h.nft {
		return nil
	}
	h.nft = false
	return h.nftScript("delete table inet netlab\n")
}

func (h *Host) nftScript(script string) error {
	cmd := exec.Command("ip", "netns", "exec", h.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft on %s: %v: %s\n%s", h.Name, err, out, script)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// In runs f with the calling thread in the host's network namespace:
// sockets f creates live on the host (they stay there afterwards).
func (h *Host) In(f func() error) error {
	target, err := os.Open("/var/run/netns/" + h.NS)
	if err != nil {
		return err
	}
	defer target.Close()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return err
	}
	defer self.Close()
	runtime.LockOSThread()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := setns(self); err != nil {
		// The thread is in the wrong namespace: leave it locked, so that
		// it ends with this goroutine instead of serving others.
		return errors.Join(ferr, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func setns(f *os.File) error {
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	return nil
}

// Listen opens a TCP listener on the host.
func (h *Host) Listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := h.In(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// Dial opens a TCP connection from the host.
func (h *Host) Dial(addr string) (net.Conn, error) {
	var c net.Conn
	err := h.In(func() (err error) {
		c, err = net.Dial("tcp", addr)
		return err
	})
	return c, err
}
