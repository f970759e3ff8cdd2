package node_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
)

// boltModules installs @slack/bolt from testdata/bolt's lock file (npm
// ci) into a cache directory kept across runs (keyed by the lock file,
// so a new lock installs afresh) and returns its node_modules. Without
// node and npm the test skips in one line, unless CI=true, where it
// fails: CI installs them (.ci/run).
func boltModules(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found, and CI=true: the Bolt test must run (apt-get install nodejs npm)", tool)
			}
			t.Skipf("%s not found: skipping the Bolt test (apt-get install nodejs npm to run it)", tool)
		}
	}
	lock, err := os.ReadFile("testdata/bolt/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ringcast-test", "bolt-"+hex.EncodeToString(sum[:8]))
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@slack", "bolt", "package.json")); err == nil {
		return modules
	}
	// Installed next to the cache entry, then renamed into place: a run
	// cut short leaves no half-installed entry.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "installing-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/bolt", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts",
		"--cache", filepath.Join(filepath.Dir(dir), "npm-cache"))
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(filepath.Join(modules, "@slack", "bolt")); serr != nil {
			t.Fatal(err)
		}
	}
	return modules
}

// TestBoltEchoBot runs a real @slack/bolt app (testdata/bolt/echo.js,
// Socket Mode) against a node: it answers a person's message in the
// channel, and its app.message handler never sees its own messages
// (Bolt drops them by the bot_id its auth.test learnt).
func TestBoltEchoBot(t *testing.T) {
	modules := boltModules(t)
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, _ := c.User("alice")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	app := createApp(t, c, url.Values{"name": {"bolt-echo"}, "events": {"message.channels"}})
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "bolt-room"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteUsersToConversation(ch.ID, app.BotUserID); err != nil {
		t.Fatal(err)
	}

	script, err := filepath.Abs("testdata/bolt/echo.js")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "SLACK_BOT_TOKEN="+app.BotToken,
		"SLACK_APP_TOKEN="+app.AppToken, "SLACK_API_URL="+base)
	cmd.Stderr = &testLog{t: t, prefix: "bolt stderr: "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			t.Logf("bolt: %s", sc.Text())
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
	}()
	defer func() {
		cancel()
		cmd.Wait()
		<-read
	}()
	printed := func(line string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range lines {
			if l == line {
				return true
			}
		}
		return false
	}
	nodetest.WaitFor(t, 60*time.Second, "the Bolt app to start", func() bool { return printed("ready") })

	// Two messages, each answered: by the second answer, the bot's own
	// first answer (before the second message in the channel's order)
	// has long reached the app, which must have dropped it.
	for _, text := range []string{"hello bolt", "second"} {
		if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText(text, false)); err != nil {
			t.Fatal(err)
		}
		nodetest.WaitFor(t, 30*time.Second, "the echo of "+text, func() bool {
			h, err := alice.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch.ID, Limit: 1})
			return err == nil && len(h.Messages) == 1 && h.Messages[0].Text == "echo: "+text && h.Messages[0].BotID == app.BotID
		})
		if !printed(fmt.Sprintf("seen %q", text)) {
			t.Fatalf("the handler did not print seen %q", text)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range lines {
		if strings.HasPrefix(l, `seen "echo: `) {
			t.Fatalf("the handler saw the bot's own message: %s", l)
		}
	}
}

// testLog writes a process's output to the test log.
type testLog struct {
	t      *testing.T
	prefix string
}

func (w *testLog) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
