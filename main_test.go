package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/node/proctest"
	"github.com/ringcast/ringcast/ring"
	"go.uber.org/goleak"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ringcast-bin")
	if err != nil {
		panic(err)
	}
	bin, err = proctest.Build(".", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(nodetest.LeakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestBadFlags: every bad flag exits non-zero with a clear message.
func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--roles", "chanel"}, `unknown role "chanel"`},
		{[]string{"serve", "--roles", ""}, "at least one role"},
		{[]string{"serve", "--http", "localhost"}, "--http"},
		{[]string{"serve", "--gossip", "127.0.0.1:70000"}, `bad port "70000"`},
		{[]string{"serve", "--join", ""}, "missing join target"},
		{[]string{"serve", "--join", "nohost"}, "--join"},
		{[]string{"serve", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--advertise", "not-an-ip"}, "--advertise"},
		{[]string{"serve", "--no-such-flag"}, "unknown flag"},
		{[]string{"serve", "extra-arg"}, "unknown command"},
		{[]string{"serve", "--store", "mysql://db/x"}, "--store"},
		{[]string{"serve", "--store", "postgres://u@host:notaport/db"}, "--store"},
		{[]string{"serve", "--store", "postgres://nobody:pw@127.0.0.1:1/ringcast?connect_timeout=5"}, "--store: store: postgres://nobody@127.0.0.1:1/ringcast"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, append(tt.args, "--data", t.TempDir())...).CombinedOutput()
			if err == nil {
				t.Fatalf("exit 0, output %s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Fatalf("output %q does not mention %q", out, tt.want)
			}
		})
	}
	for _, tt := range []struct{ env, want string }{
		{"RINGCAST_ROLES=gatway", "gatway"},
		// The placeholders deploy/ringcast.env once shipped.
		{"RINGCAST_SECRET=change-me", "--secret: looks like a placeholder"},
		{"RINGCAST_ADMIN_KEY=change-me-too", "--admin-key: looks like a placeholder"},
		{"RINGCAST_GOSSIP=0.0.0.0:7946", "no cluster secret is set"},
	} {
		cmd := exec.Command(bin, "serve", "--data", t.TempDir())
		cmd.Env = append(os.Environ(), tt.env)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), tt.want) {
			t.Fatalf("%s: %v %s", tt.env, err, out)
		}
	}
}

// TestDeployExampleIsRefusedAsIs: the systemd example (the unit's
// Environment= lines, cluster.env and a profile's config file), used
// unedited, does not start a node (the key files it names do not exist
// yet), and says what is missing; each profile's file loads cleanly.
func TestDeployExampleIsRefusedAsIs(t *testing.T) {
	unit, err := os.ReadFile("deploy/systemd/ringcast@.service")
	if err != nil {
		t.Fatal(err)
	}
	// The unit's specifiers, as systemd would fill them; %d (the
	// credentials directory) holds nothing yet.
	spec := strings.NewReplacer("%H", "vm1", "%i", "edge", "%S", t.TempDir(), "%d", filepath.Join(t.TempDir(), "credentials"))
	env := os.Environ()
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			env = append(env, strings.Fields(spec.Replace(v))...)
		}
	}
	b, err := os.ReadFile("deploy/systemd/cluster.env")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			env = append(env, line)
		}
	}
	for _, profile := range []string{"edge", "core"} {
		// The unit hands the profile's file over as the credential "config".
		cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--config", "deploy/systemd/"+profile+".yaml")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--secret-file") || !strings.Contains(string(out), "--admin-key-file") ||
			strings.Contains(string(out), "config file") {
			t.Fatalf("the deploy example as shipped (%s): %v %s", profile, err, out)
		}
	}
	// config print: the edge profile's settings, from the file under the
	// environment.
	cmd := exec.Command(bin, "config", "print", "--config", "deploy/systemd/edge.yaml")
	cmd.Env = append(env, "RINGCAST_REGION=us-east")
	out, _ := cmd.Output()
	for _, want := range []string{"roles: [gateway, admin] # file\n", "advertise: 10.0.0.11 # file\n", "region: us-east # environment\n",
		"name: vm1-edge # environment\n", "drain-window: 10s # file\n"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("config print of the edge profile lacks %q:\n%s", want, out)
		}
	}
}

// TestDevPrintsAdminKeyOnce: serve --dev prints the admin key when it
// makes it, not on every start.
func TestDevPrintsAdminKeyOnce(t *testing.T) {
	data := t.TempDir()
	start := func() string {
		p := proctest.Start(t, bin, proctest.Options{Name: "dev", Host: "127.0.22.8", Data: data, Extra: []string{"--dev"}})
		if err := p.Stop(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		return p.Log()
	}
	first, second := start(), start()
	if !strings.Contains(first, "admin key   xoxa-") {
		t.Fatalf("first start does not print the new admin key:\n%s", first)
	}
	if strings.Contains(second, "xoxa-") || !strings.Contains(second, "admin key   (kept in the store") {
		t.Fatalf("second start prints the admin key again:\n%s", second)
	}
}

// TestSecretInArgvWarns: a secret given as a flag works but the node
// says that every local user can read it (finding 4); from the
// environment it says nothing.
func TestSecretInArgvWarns(t *testing.T) {
	const key = "xoxa-argv-admin-key-5Vb8Nq2Wz7Lk4Rt1Yc9Hm3Px6Jd0Sf"
	const warning = "a secret on the command line is visible to every local user"
	for _, tt := range []struct {
		name  string
		extra []string
		env   []string
		warns bool
	}{
		{"flag", []string{"--admin-key", key}, nil, true},
		{"environment", nil, []string{"RINGCAST_ADMIN_KEY=" + key}, false},
	} {
		p := proctest.Start(t, bin, proctest.Options{Name: "argv", Host: "127.0.23.3", Data: t.TempDir(), Extra: tt.extra, Env: tt.env})
		if err := p.Stop(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(p.Log(), warning); got != tt.warns {
			t.Fatalf("admin key by %s: warning %v, want %v:\n%s", tt.name, got, tt.warns, p.Log())
		}
	}
}

// TestBenchBadProfilePath: a --cpuprofile that cannot be written stops
// bench before it loads anything.
func TestBenchBadProfilePath(t *testing.T) {
	out, err := exec.Command(bin, "bench", "--url", "http://127.0.0.1:1", "--admin-key", "x",
		"--cpuprofile", "/proc/no/such/dir/tool.prof").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tool.prof") {
		t.Fatalf("exit %v, output %q: want a failure naming the profile file", err, out)
	}
}

// TestMultiProcess: four processes of the real binary on loopback, the
// same flow as the in-process test over real sockets, then every process
// stops cleanly on SIGTERM.
func TestMultiProcess(t *testing.T) {
	data := t.TempDir()
	key := "xoxa-test-admin-key-8Fm3Qz6Wv1Kp9Rt4Yc7Nb2Lx5Hj0Sd"
	env := []string{"RINGCAST_ADMIN_KEY=" + key}
	start := func(name, host, roles, join string) *proctest.Proc {
		return proctest.Start(t, bin, proctest.Options{Name: name, Host: host, Roles: roles, Join: join, Data: data, Env: env,
			Extra: []string{"--admin-key", key}})
	}
	first := start("admin-1", "127.0.1.1", "admin,channel", "")
	procs := []*proctest.Proc{first,
		start("gateway-1", "127.0.1.2", "gateway", first.Gossip),
		start("channel-1", "127.0.1.3", "channel", first.Gossip),
		start("channel-2", "127.0.1.4", "channel", first.Gossip),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, p := range procs {
		err := proctest.WaitHTTPAuth(ctx, "http://"+p.HTTP+"/status", key, func(r *http.Response) bool {
			var st node.Status
			return json.NewDecoder(r.Body).Decode(&st) == nil && len(st.Members) == len(procs)
		})
		if err != nil {
			t.Fatalf("%s never saw %d members: %v", p.Name, len(procs), err)
		}
	}
	status := exec.Command(bin, "status", "--http", procs[1].HTTP)
	status.Env = append(os.Environ(), "RINGCAST_ADMIN_KEY="+key)
	out, err := status.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "channel-2") || !strings.Contains(string(out), "gateway") {
		t.Fatalf("ringcast status: %v\n%s", err, out)
	}
	tok := func(name string) *client.API {
		out, err := exec.Command(bin, "token", "--http", first.HTTP, "--admin-key", key, "--name", name).CombinedOutput()
		if err != nil {
			t.Fatalf("ringcast token: %v %s", err, out)
		}
		_, after, _ := strings.Cut(string(out), "token ")
		return &client.API{Base: "http://" + first.HTTP, Token: strings.TrimSpace(after)}
	}
	alice, bob := tok("alice"), tok("bob")

	// ringcast app create prints an app's tokens: the bot token is the
	// bot's (auth.test names its bot_id), the app-level token opens a
	// Socket Mode URL.
	appOut, err := exec.Command(bin, "app", "create", "--http", first.HTTP, "--admin-key", key, "--name", "cli-bot",
		"--events", "message.channels,app_mention").CombinedOutput()
	if err != nil {
		t.Fatalf("ringcast app create: %v %s", err, appOut)
	}
	printed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(appOut)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		printed[k] = v
	}
	var authed struct {
		BotID string `json:"bot_id"`
	}
	bot := &client.API{Base: "http://" + first.HTTP, Token: printed["bot_token"]}
	if err := bot.Call(ctx, "auth.test", nil, &authed); err != nil || authed.BotID != printed["bot_id"] || authed.BotID == "" {
		t.Fatalf("auth.test with the bot token: %+v, %v (printed %q)", authed, err, appOut)
	}
	var opened struct {
		URL string `json:"url"`
	}
	appAPI := &client.API{Base: "http://" + first.HTTP, Token: printed["app_token"]}
	if err := appAPI.Call(ctx, "apps.connections.open", nil, &opened); err != nil || !strings.Contains(opened.URL, "/apps/socket/") {
		t.Fatalf("apps.connections.open with the app token: %+v, %v", opened, err)
	}
	// ringcast app update and delete name the app by its id (the admin
	// key from RINGCAST_ADMIN_KEY here); the admin API's refusal is their
	// error.
	appCmd := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"app", args[0], "--http", first.HTTP}, args[1:]...)...)
		cmd.Env = append(os.Environ(), "RINGCAST_ADMIN_KEY="+key)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	appID := strings.Fields(printed["app"])[1]
	if out, err := appCmd("update", "--app-id", appID, "--events", "app_mention", "--name", "cli-bot-2"); err != nil ||
		!strings.Contains(out, "app cli-bot-2 "+appID+"\nevents app_mention\nrequest_url none\n") {
		t.Fatalf("ringcast app update: %v %s", err, out)
	}
	for _, args := range [][]string{
		{"update", "--app-id", "ANOSUCH", "--name", "x"},
		{"delete", "--app-id", "ANOSUCH"},
	} {
		if out, err := appCmd(args...); err == nil || !strings.Contains(out, "admin API: app_not_found") {
			t.Fatalf("ringcast app %v: %v %s", args, err, out)
		}
	}
	if out, err := appCmd("delete", "--app-id", appID); err != nil || out != "deleted "+appID+"\n" {
		t.Fatalf("ringcast app delete: %v %s", err, out)
	}
	var ae *client.APIError
	if err := appAPI.Call(ctx, "apps.connections.open", nil, nil); !errors.As(err, &ae) || ae.Code != "token_revoked" {
		t.Fatalf("apps.connections.open after ringcast app delete: %v", err)
	}

	// Channels until every channel-role node owns at least one (ids are
	// random); the owner is computed from the ring the nodes build.
	var channelNodes []string
	for _, p := range procs {
		if p.Name != "gateway-1" {
			channelNodes = append(channelNodes, p.Name)
		}
	}
	rg := ring.New(channelNodes, 0)
	owners := map[string]bool{}
	var chans []string
	for i := 0; len(owners) < len(channelNodes) || len(chans) < 6; i++ {
		if i == 60 {
			t.Fatalf("60 channels owned only by %v", owners)
		}
		var res struct {
			Channel struct{ ID string } `json:"channel"`
		}
		if err := bob.Call(ctx, "conversations.create", url.Values{"name": {fmt.Sprint("room-", i)}}, &res); err != nil {
			t.Fatal(err)
		}
		if err := alice.Call(ctx, "conversations.join", url.Values{"channel": {res.Channel.ID}}, nil); err != nil {
			t.Fatal(err)
		}
		chans = append(chans, res.Channel.ID)
		owners[rg.Owner(res.Channel.ID)] = true
	}
	r, err := alice.Connect(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Conn.CloseNow()
	if ev, err := r.Next(ctx); err != nil || ev.Type != "hello" {
		t.Fatalf("first frame: %v %v", ev, err)
	}
	const per = 4
	for i := 1; i <= per; i++ {
		for _, id := range chans {
			var res struct{ TS string }
			if err := bob.Call(ctx, "chat.postMessage", url.Values{"channel": {id}, "text": {fmt.Sprint(i)}}, &res); err != nil {
				t.Fatal(err)
			}
		}
	}
	last := map[string]uint64{}
	for _, id := range chans {
		last[id] = 1 // alice's join entry
	}
	for n := 0; n < per*len(chans); {
		ev, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", n, err)
		}
		if ev.Type != "message" {
			continue
		}
		ch := ev.ChannelID()
		if ev.Seq != last[ch]+1 || ev.Text != fmt.Sprint(ev.Seq-1) {
			t.Fatalf("channel %s: got seq %d %q after %d", ch, ev.Seq, ev.Text, last[ch])
		}
		last[ch] = ev.Seq
		n++
	}

	// ringcast drain --node, asked of another node: the gateway says
	// goodbye to alice's session and closes it with 1012 (service
	// restart), then leaves the cluster and exits on its own.
	drainOut, err := exec.Command(bin, "drain", "--http", first.HTTP, "--admin-key", key, "--node", "gateway-1").CombinedOutput()
	if err != nil || !strings.Contains(string(drainOut), "node gateway-1 drains") {
		t.Fatalf("ringcast drain --node gateway-1: %v\n%s", err, drainOut)
	}
	bye := false
	for {
		ev, err := r.Next(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); !bye || code != websocket.StatusServiceRestart {
				t.Fatalf("alice's session ended with %v (close code %d), goodbye seen: %v; want goodbye, then 1012", err, code, bye)
			}
			break
		}
		bye = bye || ev.Type == "goodbye"
	}
	for !strings.Contains(procs[1].Log(), "node stopped") {
		if ctx.Err() != nil {
			t.Fatal("gateway-1 did not stop after its drain")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Conn.CloseNow()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v", procs[i].Name, err)
		}
		if !strings.Contains(procs[i].Log(), "node stopped") {
			t.Errorf("%s did not log a clean stop", procs[i].Name)
		}
	}
}

// TestBenchBadRates: a sweep whose rates cannot be run stops bench
// before it loads anything, naming the flag.
func TestBenchBadRates(t *testing.T) {
	for _, args := range [][]string{{"--rates", "80,60"}, {"--rates", "60", "--rate", "10"}, {"--rates", "x"},
		{"--rates", "60", "--scenario", "idle"}, {"--rates", "60", "--max-p99", "0s"}} {
		out, err := exec.Command(bin, append([]string{"bench", "--url", "http://127.0.0.1:1", "--admin-key", "x"}, args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--") || strings.Contains(string(out), "provision") {
			t.Errorf("bench %v: exit %v, output %q: want a flag error", args, err, out)
		}
	}
}
