// Command ringcast is a self-hosted real-time messaging backend shaped
// like Slack's: one binary, four roles (channel, gateway, admin,
// presence), any mix per node.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ringcast/ringcast/bench"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/ring"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ringcast:", err)
		stop()
		os.Exit(1)
	}
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "ringcast",
		Short:         "Slack-shaped real-time messaging in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(serveCmd(), versionCmd(), statusCmd(), tokenCmd(), benchCmd())
	return cmd
}

func serveCmd() *cobra.Command {
	var cfg config.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run a node (all roles by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var inArgv []string // before the environment sets flags too
			for _, f := range []string{"secret", "admin-key"} {
				if cmd.Flags().Changed(f) {
					inArgv = append(inArgv, "--"+f)
				}
			}
			if err := config.ApplyEnv(cmd.Flags(), os.Getenv); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger := config.Logger(os.Stderr, cfg.LogFormat, cfg.LogLevel)
			if len(inArgv) > 0 {
				logger.Warn("a secret on the command line is visible to every local user (ps, /proc): "+
					"use RINGCAST_SECRET / RINGCAST_ADMIN_KEY or --secret-file / --admin-key-file", "flags", inArgv)
			}
			n, err := node.New(cfg, version, logger)
			if err != nil {
				return err
			}
			if cfg.Dev {
				if err := printDev(cmd.Context(), cmd.OutOrStdout(), n, cfg); err != nil {
					return err
				}
			}
			return n.Run(cmd.Context())
		},
	}
	cfg.Bind(cmd.Flags())
	return cmd
}

func printDev(ctx context.Context, w io.Writer, n *node.Node, cfg config.Config) error {
	u, tok, err := n.DevUser(ctx)
	if err != nil {
		return fmt.Errorf("dev user: %w", err)
	}
	base := "http://" + n.HTTPAddr()
	key := "(kept in the store; printed only when it was made)"
	if n.AdminKeyCreated() {
		key = n.AdminKey() + "   (new: printed this once)"
	}
	chat := ""
	if cfg.Has(ring.RoleAdmin) {
		chat = fmt.Sprintf("  Chat        %s/   (a browser; in dev mode, sign in as anyone)\n", base)
	}
	fmt.Fprintf(w, `
ringcast %s is up: roles %v, data in %s

%s  Web API     %s/api/
  dev user    %s (%s)
  dev token   %s
  admin key   %s

Try it:
  curl -s -H 'Authorization: Bearer %s' %s/api/auth.test
  curl -s -H 'Authorization: Bearer %s' -d name=general %s/api/conversations.create
  curl -s -H 'Authorization: Bearer %s' -d channel=general -d text=hello %s/api/chat.postMessage
  curl -s -H 'Authorization: Bearer %s' %s/api/rtm.connect   # then open the url with a websocket client
Make another user (prints its token):
  RINGCAST_ADMIN_KEY=<the admin key> go run . token --name alice

`, version, cfg.Roles, cfg.DataDir, chat, base, u.Name, u.ID, tok, key,
		tok, base, tok, base, tok, base, tok, base)
	if chat != "" {
		fmt.Fprintf(w, ">>> Open %s/ in a browser to chat. <<<\n\n", base)
	}
	return nil
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "ringcast", version) },
	}
}

func statusCmd() *cobra.Command {
	addr := "127.0.0.1:8080"
	asJSON := false
	var key adminKey
	cmd := &cobra.Command{
		Use:   "status",
		Short: "show the cluster as a node sees it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := key.get()
			if err != nil {
				return err
			}
			var st node.Status
			if err := getJSON(cmd.Context(), "http://"+addr+"/status", k, &st); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintf(out, "node %s (%s), roles %v, %d sessions, %d channels loaded\n\n",
				st.Node, st.Version, st.Roles, st.Sessions, st.Channels)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MEMBER\tROLES\tHTTP\tREGION\tCHANNEL SHARE")
			for _, m := range st.Members {
				roles := make([]string, len(m.Roles))
				for i, r := range m.Roles {
					roles[i] = string(r)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f%%\n", m.Name, strings.Join(roles, ","), m.HTTP, m.Region, 100*m.ChannelShare)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&addr, "http", addr, "HTTP address of any node")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	key.bind(cmd)
	return cmd
}

// adminKey is the admin key a client command uses: --admin-key,
// --admin-key-file or $RINGCAST_ADMIN_KEY, so that it need not be in
// argv.
type adminKey struct{ key, file string }

func (a *adminKey) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.key, "admin-key", "", "admin key (default $RINGCAST_ADMIN_KEY)")
	cmd.Flags().StringVar(&a.file, "admin-key-file", "", "file holding the admin key")
}

func (a *adminKey) get() (string, error) {
	switch {
	case a.key != "":
		return a.key, nil
	case a.file != "":
		b, err := os.ReadFile(a.file)
		if err != nil {
			return "", fmt.Errorf("--admin-key-file: %w", err)
		}
		k, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		return strings.TrimSpace(k), nil
	case os.Getenv("RINGCAST_ADMIN_KEY") != "":
		return os.Getenv("RINGCAST_ADMIN_KEY"), nil
	}
	return "", errors.New("the admin key is required: --admin-key-file, $RINGCAST_ADMIN_KEY or --admin-key")
}

func tokenCmd() *cobra.Command {
	addr := "127.0.0.1:8080"
	var name string
	var ak adminKey
	cmd := &cobra.Command{
		Use:   "token",
		Short: "create a user (if needed) and print a new token for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := ak.get()
			if err != nil {
				return err
			}
			if name == "" {
				return errors.New("--name is required")
			}
			var res struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
				Token string `json:"token"`
				User  struct {
					ID string `json:"id"`
				} `json:"user"`
			}
			api := "http://" + addr + "/api/"
			form := url.Values{"token": {key}, "name": {name}}
			if err := postForm(cmd.Context(), api+"admin.users.create", form, &res); err != nil {
				return err
			}
			if res.Error == "name_taken" {
				if err := postForm(cmd.Context(), api+"admin.users.createToken", form, &res); err != nil {
					return err
				}
			}
			if !res.OK {
				return fmt.Errorf("admin API: %s", res.Error)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s (%s)\ntoken %s\n", name, res.User.ID, res.Token)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http", addr, "HTTP address of an admin node")
	ak.bind(cmd)
	cmd.Flags().StringVar(&name, "name", "", "user name")
	return cmd
}

func benchCmd() *cobra.Command {
	var cfg bench.Config
	asJSON := false
	cpuProfile := ""
	var rates []float64
	var ak adminKey
	maxP99 := 50 * time.Millisecond
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "load a running cluster through its public interfaces and report",
		Long: `bench drives a running cluster through the Web API and RTM websockets only.

Scenarios:
  fanout   one channel, --subs sessions, --rate publishes/s
  spread   --subs sessions over --channels channels (one channel each), --rate/s over the channels
  idle     --subs silent sessions; with --pid, the server's memory per connection
  publish  durable publish throughput: --publishers over --channels, acked messages/s
           (closed loop unless --rate)
  connect  connection rate and latency of --subs sessions, --concurrency at a time

With --rates (fanout, spread, publish), one run per rate, in ascending order,
until a rate does not hold (zero loss, every publish acked, the offered rate
sent, delivery p99 <= --max-p99); then a table and the highest rate that held.

Zero values of --subs, --channels, --publishers, --rate, --users and --duration
take the scenario's defaults. Users bench-u-<i>, bench-p-<i> and
bench-owner are created once and reused; channels are new each run and left
at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.AdminKey == "" && (ak.file != "" || os.Getenv("RINGCAST_ADMIN_KEY") != "") {
				var err error
				if cfg.AdminKey, err = ak.get(); err != nil {
					return err
				}
			}
			var progress io.Writer
			if bench.IsTerminal(os.Stderr) {
				progress = os.Stderr
			}
			logger := config.Logger(os.Stderr, "text", "warn")
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			type result interface {
				WriteJSON(io.Writer) error
				WriteText(io.Writer) error
			}
			var res result
			var err error
			if len(rates) > 0 {
				res, err = bench.Sweep(cmd.Context(), cfg, rates, maxP99, logger, progress)
			} else {
				res, err = bench.Run(cmd.Context(), cfg, logger, progress)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return res.WriteJSON(cmd.OutOrStdout())
			}
			return res.WriteText(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "Web API base URL of an admin node")
	f.StringVar(&cfg.AdminKey, "admin-key", "", "admin key (default $RINGCAST_ADMIN_KEY)")
	f.StringVar(&ak.file, "admin-key-file", "", "file holding the admin key")
	f.StringVar(&cfg.Scenario, "scenario", bench.Fanout, "fanout, spread, idle, publish or connect")
	f.IntVar(&cfg.Subs, "subs", 0, "subscriber sessions (websockets)")
	f.IntVar(&cfg.Channels, "channels", 0, "channels of the run")
	f.IntVar(&cfg.Users, "users", 0, "distinct subscriber users the sessions share (default min(subs, 1000), at least channels)")
	f.IntVar(&cfg.Publishers, "publishers", 0, "publishers (each its own user and, with --via rtm, its own websocket)")
	f.Float64Var(&cfg.Rate, "rate", 0, "publishes per second over all publishers, open loop (publish scenario: 0 = as fast as acks come)")
	f.IntVar(&cfg.Size, "size", 128, "message text size, bytes")
	f.StringVar(&cfg.Via, "via", bench.ViaRTM, "how publishes are sent: rtm or http")
	f.IntVar(&cfg.Inflight, "inflight", 128, "unacknowledged publishes per publisher (the server allows 256 per session)")
	f.DurationVar(&cfg.Duration, "duration", 0, "measured window (idle: how long sessions stay up; default 10s, idle 5s)")
	f.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "publishing before the measured window")
	f.DurationVar(&cfg.Drain, "drain", 2*time.Second, "quiet time after the last publish before missing deliveries count as lost")
	f.IntVar(&cfg.Concurrency, "concurrency", 64, "connections opened at once")
	f.BoolVar(&cfg.Reconnect, "reconnect", true, "a dropped session reconnects and resumes from its last seq")
	f.IntSliceVar(&cfg.Pids, "pid", nil, "server process id(s) on this machine, comma-separated: report their CPU and memory (summed)")
	f.StringVar(&cfg.LocalIPs, "local-ips", "127.0.0.2-127.0.0.250", "source addresses for websockets to a loopback server (\"\" for none)")
	f.Float64SliceVar(&rates, "rates", nil, "publish rates to run in turn, ascending (e.g. 60,80,100): the highest that holds")
	f.DurationVar(&maxP99, "max-p99", maxP99, "with --rates: the delivery p99 a rate must keep to hold")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file (to see what the tool costs)")
	return cmd
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getJSON(ctx context.Context, u, bearer string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	return do(req, v)
}

func postForm(ctx context.Context, u string, form url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(req, v)
}

func do(req *http.Request, v any) error {
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", req.URL, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
