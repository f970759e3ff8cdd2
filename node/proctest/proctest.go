package proctest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the ringcast binary (the module at root) into dir.
// With RINGCAST_RACE_BINARY=1 the binary has the race detector (a node
// that races exits with status 66, which Stop reports); by default it
// does not, so that its timing (failure detection in particular) is the
// production one on a loaded machine.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "ringcast")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if os.Getenv("RINGCAST_RACE_BINARY") != "" {
		cmd = exec.Command("go", "build", "-race", "-o", bin, ".")
	}
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Proc is one node process.
type Proc struct {
	Name   string
	Host   string // its loopback address
	HTTP   string // host:port
	Gossip string // host:port
	args   []string
	wrap   []string // command prefix (e.g. ip netns exec NS)
	env    []string
	bin    string
	dir    string
	t      testing.TB

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	log    *os.File
}

// Options describe a node process.
type Options struct {
	Name  string
	Host  string   // e.g. 127.0.1.3
	Roles string   // e.g. "gateway"
	Join  string   // gossip address to join, if any
	Data  string   // data directory (shared by every process on one laptop)
	Extra []string // more flags
	Env   []string
	// Wrap prefixes the command, e.g. ip netns exec NS to run the node
	// on a test host.
	Wrap []string
	// HTTPBind, when set, is the --http bind address, and Host:8080 (where
	// the test reaches the node) is served by something in front of it
	// (a relay); the node then needs --advertise Host in Extra.
	HTTPBind string
}

// Hosts returns n loopback addresses for one test's processes: a block
// 127.A.B.1-n, A in 100-199 and B picked at random, whose every address
// has the ports Start uses (8080, 7946) free. Tests that run processes
// on fixed addresses collide when two runs overlap (two make test, make
// chaos beside make test); two runs picking the same block of 25 600 is
// left to chance and the check.
func Hosts(t testing.TB, n int) []string {
	t.Helper()
	for range 50 {
		a, b := 100+rand.IntN(100), rand.IntN(256)
		hosts := make([]string, n)
		for i := range hosts {
			hosts[i] = fmt.Sprintf("127.%d.%d.%d", a, b, i+1)
			if !Free(hosts[i]) {
				hosts = nil
				break
			}
		}
		if hosts != nil {
			return hosts
		}
	}
	t.Fatalf("no block of %d free loopback addresses found", n)
	return nil
}

// Free reports whether a node could listen on host now: Start's HTTP
// and gossip ports (8080/tcp, 7946/tcp and udp) are free.
func Free(host string) bool {
	for _, addr := range []string{host + ":8080", host + ":7946"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		l.Close()
	}
	pc, err := net.ListenPacket("udp", host+":7946")
	if err != nil {
		return false
	}
	pc.Close()
	return true
}

// Start launches a node and waits until it answers /healthz.
func Start(t testing.TB, bin string, o Options) *Proc {
	t.Helper()
	p := &Proc{Name: o.Name, Host: o.Host, HTTP: o.Host + ":8080", Gossip: o.Host + ":7946", bin: bin, dir: t.TempDir(), t: t, wrap: o.Wrap}
	bind := p.HTTP
	if o.HTTPBind != "" {
		bind = o.HTTPBind
	}
	p.args = []string{"serve", "--name", o.Name, "--http", bind, "--gossip", p.Gossip,
		"--data", o.Data, "--log-format", "json", "--log-level", "info", "--drain-window", "0"}
	if o.Roles != "" {
		p.args = append(p.args, "--roles", o.Roles)
	}
	if o.Join != "" {
		p.args = append(p.args, "--join", o.Join)
	}
	p.args = append(p.args, o.Extra...)
	p.env = o.Env
	if err := p.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

func (p *Proc) launch() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(p.dir, p.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	argv := append(append(append([]string(nil), p.wrap...), p.bin), p.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), p.env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.cmd, p.log, p.exited = cmd, logf, make(chan struct{})
	exited := p.exited
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited during start-up: %v\n%s", p.Name, p.err, p.tail())
		default:
		}
		resp, err := http.Get("http://" + p.HTTP + "/healthz")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer /healthz within 30s\n%s", p.Name, p.tail())
}

// Stop sends SIGTERM and waits for the exit; it returns the exit error
// (nil for status 0).
func (p *Proc) Stop(timeout time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not exit within %v of SIGTERM", p.Name, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = nil
	return p.err
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Freeze stops the process with SIGSTOP, as a VM pause or a long stall
// would: its sockets stay open but it answers nothing until Thaw.
func (p *Proc) Freeze() error { return p.signal(syscall.SIGSTOP) }

// Thaw lets a frozen process run again (SIGCONT).
func (p *Proc) Thaw() error { return p.signal(syscall.SIGCONT) }

func (p *Proc) signal(sig os.Signal) error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return cmd.Process.Signal(sig)
}

// Restart starts the process again with the same name, addresses, data
// and environment.
func (p *Proc) Restart() error { return p.launch() }

// Pid is the running process's id (0 when it is not running). A Wrap
// that execs its command (ip netns exec does) keeps the node's id.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is up.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Log returns the process's log so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, p.Name+".log"))
	return string(b)
}

func (p *Proc) tail() string {
	lines := strings.Split(strings.TrimSpace(p.Log()), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func (p *Proc) dumpLog() { p.t.Logf("--- log of %s ---\n%s", p.Name, p.tail()) }

// WaitHTTP polls url until ok returns true or ctx ends.
func WaitHTTP(ctx context.Context, url string, ok func(*http.Response) bool) error {
	return WaitHTTPAuth(ctx, url, "", ok)
}

// WaitHTTPAuth is WaitHTTP with a bearer token (the admin key, for
// /status).
func WaitHTTPAuth(ctx context.Context, url, bearer string, ok func(*http.Response) bool) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			good := ok(resp)
			resp.Body.Close()
			if good {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
