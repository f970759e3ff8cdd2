package ring

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// memberlist's handlers linger a moment after its Shutdown.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).packetHandler"),
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).streamListen"))
}

func fast() Gossip {
	return Gossip{ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 80 * time.Millisecond,
		GossipInterval: 20 * time.Millisecond, SuspicionMult: 3, PushPull: 500 * time.Millisecond}
}

func start(t *testing.T, name string, roles []Role, join ...string) *Membership {
	t.Helper()
	m, err := Start(Options{Name: name, Bind: "127.0.0.1:0", Join: join, Gossip: fast(),
		Meta:   Meta{Roles: roles, HTTP: "127.0.0.1:1", Internode: "127.0.0.1:2", Version: "test"},
		Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitView waits until cond holds for m's current View.
func waitView(t *testing.T, m *Membership, what string, cond func(*View) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		v := m.View()
		if cond(v) {
			return
		}
		select {
		case <-timeout:
			t.Fatalf("%s: timed out (view has %d members)", what, len(v.Members))
		case <-v.Changed():
		}
	}
}

// TestMembershipBuildsRingsPerRole: members gossip their roles, and each
// owning role gets a ring of exactly the members that run it, the same
// on every node.
func TestMembershipBuildsRingsPerRole(t *testing.T) {
	a := start(t, "a", []Role{RoleChannel, RoleGateway})
	b := start(t, "b", []Role{RoleChannel}, a.Addr())
	c := start(t, "c", []Role{RolePresence, RoleAdmin}, a.Addr())
	all := []*Membership{a, b, c}
	for _, m := range all {
		waitView(t, m, "3 members", func(v *View) bool { return len(v.Members) == 3 })
	}
	for _, m := range all {
		v := m.View()
		if got := v.Ring(RoleChannel).Nodes(); fmt.Sprint(got) != "[a b]" {
			t.Fatalf("%s: channel ring %v", v.Self, got)
		}
		if got := v.Ring(RolePresence).Nodes(); fmt.Sprint(got) != "[c]" {
			t.Fatalf("%s: presence ring %v", v.Self, got)
		}
		if gw := v.WithRole(RoleGateway); len(gw) != 1 || gw[0].Name != "a" || gw[0].HTTP != "127.0.0.1:1" {
			t.Fatalf("%s: gateways %+v", v.Self, gw)
		}
		if o, ok := v.Owner(RoleChannel, "C1"); !ok || o.Name != a.View().Ring(RoleChannel).Owner("C1") {
			t.Fatalf("%s: owner of C1 = %v", v.Self, o)
		}
	}
	// A graceful leave removes the node from its own view at once and
	// from the others' without a failure timeout.
	old := a.View()
	if err := b.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	if b.View().Ring(RoleChannel).Has("b") {
		t.Fatal("a leaving node still owns channels in its own view")
	}
	select {
	case <-old.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("old view never marked changed")
	}
	waitView(t, a, "b gone", func(v *View) bool { return !v.Ring(RoleChannel).Has("b") })
	// A crashed node (no leave) is dropped by failure detection.
	c.Close()
	waitView(t, a, "c declared dead", func(v *View) bool { _, ok := v.Members["c"]; return !ok })
}

func TestStartErrors(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	if _, err := Start(Options{Name: "x", Bind: "nonsense", Logger: logger}); err == nil {
		t.Fatal("bad bind address accepted")
	}
	big := Meta{Region: strings.Repeat("r", 600)}
	if _, err := Start(Options{Name: "x", Bind: "127.0.0.1:0", Meta: big, Gossip: fast(), Logger: logger}); err == nil {
		t.Fatal("metadata over 512 bytes accepted")
	}
}

// TestJoinRetries: a node whose join list is unreachable runs alone and
// joins once a member appears; its own address in the list is ignored.
func TestJoinRetries(t *testing.T) {
	// Reserve an address for the member that comes later.
	probe := start(t, "probe", nil)
	later := probe.Addr()
	probe.Close()
	early, err := Start(Options{Name: "early", Bind: "127.0.0.1:0", Join: []string{later}, Gossip: fast(),
		Meta: Meta{Roles: []Role{RoleChannel}}, Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	if err != nil {
		t.Fatalf("start with an unreachable join: %v", err)
	}
	t.Cleanup(func() { early.Close() })
	if n := len(early.View().Members); n != 1 {
		t.Fatalf("alone: %d members", n)
	}
	m, err := Start(Options{Name: "later", Bind: later, Join: []string{later}, Gossip: fast(),
		Meta: Meta{Roles: []Role{RoleChannel}}, Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	waitView(t, early, "the late member", func(v *View) bool { return len(v.Members) == 2 })
}

// TestLogWriterKeepsLevels: memberlist's lines reach slog at their level.
func TestLogWriterKeepsLevels(t *testing.T) {
	var buf bytes.Buffer
	w := &logWriter{logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, line := range []string{
		"[DEBUG] memberlist: Stream connection from=1.2.3.4",
		"[WARN] memberlist: Refuting a suspect message",
		"[ERR] memberlist: Failed to send",
		"[ERR] memberlist: Failed to decrypt packet from=10.0.0.9:7946: no installed keys could decrypt the message",
		"[INFO] memberlist: Marking x as failed",
		"no level at all",
	} {
		fmt.Fprintln(w, line)
	}
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="Stream connection from=1.2.3.4" component=memberlist remote=1.2.3.4`,
		`level=WARN msg="Refuting a suspect message"`,
		`level=ERROR msg="Failed to send"`,
		`component=memberlist remote=10.0.0.9:7946`,
		`level=INFO msg="Marking x as failed"`,
		`level=INFO msg="no level at all"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("log output lacks %q:\n%s", want, out)
		}
	}
}
