package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that points tests at an existing server.
const EnvURL = "RINGCAST_TEST_POSTGRES"

// Server is a throwaway PostgreSQL cluster. Safe for concurrent use.
type Server struct {
	dir  string // owned by the user the cluster runs as; removed by Stop
	host string // the socket directory or the TCP address
	port int
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	err  error
}

// Options describe a cluster to Start.
type Options struct {
	// Listen is an IP to serve TCP on as well as the unix socket
	// (pg_hba lets any address in in trust mode: tests only).
	Listen string
	// Port is the port of the socket and of Listen; default 5432 (the
	// socket lives in a private directory, so it collides with nothing).
	Port int
	// Wrap prefixes the server command, e.g. ip netns exec NS.
	Wrap []string
	// Settings are more -c name=value settings.
	Settings []string
	// Durable keeps fsync on (for measurements); tests turn it off.
	Durable bool
}

// Binaries returns the directory holding initdb and postgres: from PATH,
// else the newest of Debian's /usr/lib/postgresql/*/bin.
func Binaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) in PATH or /usr/lib/postgresql/*/bin")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// Start initialises a cluster in a new temporary directory and starts
// it; Stop stops it and removes the directory.
func Start(o Options) (*Server, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	if o.Port == 0 {
		o.Port = 5432
	}
	sweep()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, host: dir, port: o.Port, done: make(chan struct{})}
	if o.Listen != "" {
		s.host = o.Listen
	}
	var as []string // runs a command as the cluster's owner
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, PostgreSQL needs another user to run as (initdb refuses root): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		as = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	initdb := command(append(as, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"))
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	listen := "" // unix socket only
	if o.Listen != "" {
		listen = o.Listen
		hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = hba.WriteString("host all all 0.0.0.0/0 trust\n")
			err = errors.Join(err, hba.Close())
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	args := []string{"-D", data, "-k", dir, "-p", strconv.Itoa(o.Port), "-c", "listen_addresses=" + listen,
		"-c", "max_connections=300", "-c", "logging_collector=off"}
	if !o.Durable {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	for _, kv := range o.Settings {
		args = append(args, "-c", kv)
	}
	s.cmd = command(append(append(append(slices.Clone(o.Wrap), as...), filepath.Join(bin, "postgres")), args...))
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// If the test binary dies, runuser (or postgres) gets SIGTERM and
	// shuts the cluster down rather than leaving it running.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	go func() {
		s.cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	if err := s.waitReady(30 * time.Second); err != nil {
		log := s.Log()
		s.Stop()
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	return s, nil
}

func command(argv []string) *exec.Cmd { return exec.Command(argv[0], argv[1:]...) }

// dirPrefix names the clusters' directories, so that sweep finds those
// a killed test left behind.
const dirPrefix = "ringcast-pgtest-"

// sweep removes the directories of clusters whose server is gone (a
// test binary killed before its cleanup ran).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue // maybe another test process starting its own
		}
		if n := (&Server{dir: d}).postmaster(); n > 0 && syscall.Kill(n, 0) == nil {
			continue // still running
		}
		os.RemoveAll(d)
	}
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.done:
			return errors.New("postgres exited during start-up")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the URL of database db on the server, as the superuser.
func (s *Server) URL(db string) string {
	if strings.HasPrefix(s.host, "/") {
		return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, s.host, s.port)
	}
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", net.JoinHostPort(s.host, strconv.Itoa(s.port)), db)
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

// Stop shuts the cluster down (fast: open sessions are ended) and
// removes its directory. Safe to call twice.
func (s *Server) Stop() error {
	s.once.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			// SIGINT is a fast shutdown. runuser does not pass it on, so
			// it goes to the postmaster itself.
			if pid := s.postmaster(); pid > 0 {
				syscall.Kill(pid, syscall.SIGINT)
			} else {
				s.cmd.Process.Signal(syscall.SIGINT)
			}
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
				s.err = errors.New("postgres did not stop within 30s of SIGINT")
			}
		}
		os.RemoveAll(s.dir)
	})
	return s.err
}

// Pid is the postmaster's process id (0 when it is not running).
func (s *Server) Pid() int { return s.postmaster() }

// postmaster returns the server's pid from its pid file (0: none).
func (s *Server) postmaster() int {
	b, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return n
}

// CreateDB creates an empty database on the server at base (a URL of a
// database to connect to) and returns its URL and a function that drops
// it.
func CreateDB(ctx context.Context, base string) (string, func() error, error) {
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return "", nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	name := "ringcast_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		return err
	}
	return withDatabase(base, name), drop, nil
}

// withDatabase replaces the database of a URL.
func withDatabase(url, db string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url + " dbname=" + db // key=value form: the last one wins
	}
	auth, path, _ := strings.Cut(rest, "/")
	_, query, _ := strings.Cut(path, "?")
	if query != "" {
		query = "?" + query
	}
	return scheme + "://" + auth + "/" + db + query
}

var shared struct {
	once        sync.Once
	srv         *Server
	base        string
	unavailable error // no server to be had: skip (fail under CI=true)
	err         error // one was to be had and failed: fail
}

// DB returns the URL of a new, empty database for t, dropped when t
// ends: on RINGCAST_TEST_POSTGRES when set, else on a throwaway cluster
// this test process starts on first use (Main stops it). Without either,
// t is skipped with one line (failed under CI=true).
func DB(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared.base = u
			return
		}
		if _, err := Binaries(); err != nil {
			shared.unavailable = fmt.Errorf("PostgreSQL tests need %s or Debian's postgresql package: %w", EnvURL, err)
			return
		}
		if _, err := user.Lookup("postgres"); err != nil && os.Geteuid() == 0 {
			shared.unavailable = errors.New("PostgreSQL tests run as root need a postgres user to run the server as (initdb refuses root)")
			return
		}
		shared.srv, shared.err = Start(Options{})
		if shared.err == nil {
			shared.base = shared.srv.URL("postgres")
		}
	})
	if err := shared.unavailable; err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, and %v", err)
		}
		t.Skipf("skipped: %v", err)
	}
	if shared.err != nil {
		t.Fatalf("start a throwaway PostgreSQL: %v", shared.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, drop, err := CreateDB(ctx, shared.base)
	if err != nil {
		t.Fatalf("create a test database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop the test database: %v", err)
		}
	})
	return url
}

// Main runs a package's tests and stops the throwaway cluster if one was
// started. Use it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}
