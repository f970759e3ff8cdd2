// Command ringcast is a self-hosted real-time messaging backend shaped
// like Slack's: one binary, four roles (channel, gateway, admin,
// presence), any mix per node.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ringcast/ringcast/bench"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store/sqlite"
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
	cmd.AddCommand(serveCmd(), versionCmd(), statusCmd(), drainCmd(), tokenCmd(), appCmd(), configCmd(), backupCmd(), restoreCmd(), bench.Command())
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
			if _, err := config.Load(cmd.Flags(), os.Getenv); err != nil {
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
	var key config.ClientKey
	cmd := &cobra.Command{
		Use:   "status [channel ID]",
		Short: "show the cluster as a node (local or remote) sees it; with channel ID, who owns that channel and which gateways subscribe",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 && (len(args) != 2 || args[0] != "channel") {
				return errors.New("want no argument, or: channel ID")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := operator(addr, &key)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 2 {
				var cs node.ChannelStatus
				if err := api.Call(cmd.Context(), "/status/channel?id="+url.QueryEscape(args[1]), nil, &cs); err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(cs)
				}
				fmt.Fprintf(out, "channel %s: owner %s", cs.Channel, cs.Owner)
				if !cs.Loaded {
					fmt.Fprintln(out, ", not loaded (no gateway subscribes)")
					return nil
				}
				fmt.Fprintf(out, ", last seq %d, subscribed by %s\n", cs.Committed, strings.Join(cs.Subscribers, ", "))
				return nil
			}
			var st node.Status
			if err := api.Call(cmd.Context(), "/status", nil, &st); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintf(out, "node %s (%s), roles %v, %d sessions, %d channels loaded\n\n",
				st.Node, st.Version, st.Roles, st.Sessions, st.Channels)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MEMBER\tROLES\tSTATE\tREADY\tVERSION\tHTTP\tREGION\tSESSIONS\tLOADED\tCHANNEL SHARE")
			for _, m := range st.Members {
				roles := make([]string, len(m.Roles))
				for i, r := range m.Roles {
					roles[i] = string(r)
				}
				ready := strconv.FormatBool(m.Ready)
				if m.Error != "" {
					ready = "unreachable"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.1f%%\n", m.Name, strings.Join(roles, ","), m.State, ready,
					m.Version, m.HTTP, m.Region, m.Sessions, m.LoadedChannels, 100*m.ChannelShare)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&addr, "http", addr, "HTTP address of any node")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	key.Bind(cmd.Flags())
	return cmd
}

// storeFile is the embedded store's file under --data (or RINGCAST_DATA).
func storeFile(cmd *cobra.Command, data string) (string, error) {
	if err := config.ApplyEnv(cmd.Flags(), os.Getenv); err != nil {
		return "", err
	}
	c := config.Config{DataDir: data}
	return c.StorePath(), nil
}

func backupCmd() *cobra.Command {
	return storeFileCmd("backup", "copy the embedded store, consistent, while nodes run on it (PostgreSQL: use pg_dump, docs/DEPLOY.md)",
		"to", "the backup file to write (must not exist)", "backed up %s to %s\n",
		func(ctx context.Context, store, file string) error { return sqlite.Backup(ctx, store, file) })
}

func restoreCmd() *cobra.Command {
	return storeFileCmd("restore", "replace the embedded store by a backup (every node on the data directory stopped)",
		"from", "the backup file", "restored %s from %s\n",
		func(ctx context.Context, store, file string) error { return sqlite.Restore(ctx, file, store) })
}

// storeFileCmd is a command that copies between the embedded store of
// --data and the file named by its flag fileFlag (backup, restore).
func storeFileCmd(use, short, fileFlag, fileHelp, done string, transfer func(ctx context.Context, store, file string) error) *cobra.Command {
	data, file := config.Default().DataDir, ""
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("--%s is required", fileFlag)
			}
			path, err := storeFile(cmd, data)
			if err != nil {
				return err
			}
			if err := transfer(cmd.Context(), path, file); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), done, path, file)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", data, "data directory of the embedded store")
	cmd.Flags().StringVar(&file, fileFlag, "", fileHelp)
	return cmd
}

func configCmd() *cobra.Command {
	var cfg config.Config
	print := &cobra.Command{
		Use:   "print [serve's flags]",
		Short: "print the settings serve would run with, and where each comes from (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			if err := config.Print(cmd.OutOrStdout(), cmd.Flags(), src); err != nil {
				return err
			}
			return cfg.Validate()
		},
	}
	cfg.Bind(print.Flags())
	cmd := &cobra.Command{Use: "config", Short: "the settings of serve: flags > RINGCAST_* environment > --config file > defaults"}
	cmd.AddCommand(print)
	return cmd
}

func drainCmd() *cobra.Command {
	addr := "127.0.0.1:8080"
	name := ""
	var key config.ClientKey
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "stop a node gracefully: a gateway moves its clients off over its --drain-window, then the node leaves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := operator(addr, &key)
			if err != nil {
				return err
			}
			if name != "" {
				var st node.Status
				if err := api.Call(cmd.Context(), "/status", nil, &st); err != nil {
					return err
				}
				i := slices.IndexFunc(st.Members, func(m node.MemberStatus) bool { return m.Name == name })
				if i < 0 {
					return fmt.Errorf("no member %q in %s's view", name, st.Node)
				}
				api.Base = "http://" + st.Members[i].HTTP
			}
			var res struct {
				Node   string `json:"node"`
				Window string `json:"window"`
			}
			if err := api.Call(cmd.Context(), "/drain", nil, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "node %s drains (window %s), then leaves\n", res.Node, res.Window)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http", addr, "HTTP address of any node")
	cmd.Flags().StringVar(&name, "node", "", "the member to drain (default: the node at --http)")
	key.Bind(cmd.Flags())
	return cmd
}

// operator is a client of the node at addr with the admin key.
func operator(addr string, key *config.ClientKey) (*client.API, error) {
	k, err := key.Get()
	if err != nil {
		return nil, err
	}
	return &client.API{Base: "http://" + addr, Token: k, HTTP: &http.Client{Timeout: 10 * time.Second}}, nil
}

func tokenCmd() *cobra.Command {
	addr := "127.0.0.1:8080"
	var name string
	var key config.ClientKey
	cmd := &cobra.Command{
		Use:   "token",
		Short: "create a user (if needed) and print a new token for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := operator(addr, &key)
			if err != nil {
				return err
			}
			if name == "" {
				return errors.New("--name is required")
			}
			var res struct {
				Token string `json:"token"`
				User  struct {
					ID string `json:"id"`
				} `json:"user"`
			}
			args := url.Values{"name": {name}}
			err = api.Call(cmd.Context(), "admin.users.create", args, &res)
			var ae *client.APIError
			if errors.As(err, &ae) && ae.Code == "name_taken" {
				err = api.Call(cmd.Context(), "admin.users.createToken", args, &res)
			}
			if errors.As(err, &ae) {
				return fmt.Errorf("admin API: %s", ae.Code)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s (%s)\ntoken %s\n", name, res.User.ID, res.Token)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http", addr, "HTTP address of an admin node")
	key.Bind(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "", "user name")
	return cmd
}

func appCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "manage Slack apps (Socket Mode, the Events API)"}
	addr := "127.0.0.1:8080"
	var name, events, requestURL, appID string
	var key config.ClientKey
	// call calls an admin.apps method; the admin API's refusals come back
	// as their Slack error code.
	call := func(cmd *cobra.Command, method string, args url.Values, out any) error {
		api, err := operator(addr, &key)
		if err != nil {
			return err
		}
		err = api.Call(cmd.Context(), method, args, out)
		if ae := (*client.APIError)(nil); errors.As(err, &ae) {
			return fmt.Errorf("admin API: %s", ae.Code)
		}
		return err
	}
	type appRes struct {
		AppID         string   `json:"app_id"`
		BotUserID     string   `json:"bot_user_id"`
		BotID         string   `json:"bot_id"`
		Name          string   `json:"name"`
		Events        []string `json:"events"`
		RequestURL    string   `json:"request_url"`
		BotToken      string   `json:"bot_token"`
		AppToken      string   `json:"app_token"`
		SigningSecret string   `json:"signing_secret"`
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "register an app and its bot user, and print its tokens and signing secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("--name is required")
			}
			var res appRes
			args := url.Values{"name": {name}, "events": {events}, "request_url": {requestURL}}
			if err := call(cmd, "admin.apps.create", args, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "app %s %s\nbot_user %s\nbot_id %s\nbot_token %s\napp_token %s\nsigning_secret %s\n",
				name, res.AppID, res.BotUserID, res.BotID, res.BotToken, res.AppToken, res.SigningSecret)
			return nil
		},
	}
	update := &cobra.Command{
		Use:   "update",
		Short: "change an app's name, events or request URL (the flags given), and print the app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if appID == "" {
				return errors.New("--app-id is required")
			}
			args := url.Values{"app_id": {appID}}
			for flag, arg := range map[string]string{"name": "name", "events": "events", "request-url": "request_url"} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					if arg == "events" && v == "" {
						v = "[]" // none: an empty argument counts as absent
					}
					args.Set(arg, v)
				}
			}
			if len(args) == 1 {
				return errors.New("nothing to change: give --name, --events or --request-url")
			}
			var res appRes
			if err := call(cmd, "admin.apps.update", args, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "app %s %s\nevents %s\nrequest_url %s\n",
				res.Name, res.AppID, strings.Join(res.Events, ","), cmp.Or(res.RequestURL, "none"))
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete",
		Short: "delete an app: its tokens revoked, its bot user deactivated, its connections closed, its deliveries stopped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if appID == "" {
				return errors.New("--app-id is required")
			}
			if err := call(cmd, "admin.apps.delete", url.Values{"app_id": {appID}}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", appID)
			return nil
		},
	}
	for _, c := range []*cobra.Command{create, update, del} {
		c.Flags().StringVar(&addr, "http", addr, "HTTP address of an admin node")
		key.Bind(c.Flags())
	}
	create.Flags().StringVar(&name, "name", "", "the app's name (its bot user's too)")
	create.Flags().StringVar(&events, "events", "message.channels,app_mention", "event subscriptions, comma-separated")
	create.Flags().StringVar(&requestURL, "request-url", "", "Events API request URL (answered url_verification); none: Socket Mode")
	for _, c := range []*cobra.Command{update, del} {
		c.Flags().StringVar(&appID, "app-id", "", "the app's id (A…)")
	}
	update.Flags().StringVar(&name, "name", "", "the app's new name (its bot user's too)")
	update.Flags().StringVar(&events, "events", "", "the new event subscriptions, comma-separated (empty: none)")
	update.Flags().StringVar(&requestURL, "request-url", "", "the new Events API request URL (answers url_verification first); none: Socket Mode only")
	cmd.AddCommand(create, update, del)
	return cmd
}
