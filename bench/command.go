package bench

import (
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringcast/ringcast/config"
)

// Command is `ringcast bench`: its flags and how they run a scenario or a
// sweep and print the result.
func Command() *cobra.Command {
	var cfg Config
	asJSON := false
	cpuProfile := ""
	var rates []float64
	var key config.ClientKey
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
  app      --rate chat.postMessage/s into a channel of an app's bot, received as
           events_api envelopes on --subs Socket Mode connections (acked at once):
           events/s and the latency from post to envelope

With --rates (fanout, spread, publish), one run per rate, in ascending order,
until a rate does not hold (zero loss, every publish acked, the offered rate
sent, delivery p99 <= --max-p99); then a table and the highest rate that held.

Zero values of --subs, --channels, --publishers, --rate, --users and --duration
take the scenario's defaults. Users bench-u-<i>, bench-p-<i> and
bench-owner are created once and reused; channels are new each run and left
at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key.Given() {
				var err error
				if cfg.AdminKey, err = key.Get(); err != nil {
					return err
				}
			}
			var progress io.Writer
			if IsTerminal(os.Stderr) {
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
				res, err = Sweep(cmd.Context(), cfg, rates, maxP99, logger, progress)
			} else {
				res, err = Run(cmd.Context(), cfg, logger, progress)
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
	key.Bind(f)
	f.StringVar(&cfg.Scenario, "scenario", Fanout, "fanout, spread, idle, publish, connect or app")
	f.IntVar(&cfg.Subs, "subs", 0, "subscriber sessions (websockets)")
	f.IntVar(&cfg.Channels, "channels", 0, "channels of the run")
	f.IntVar(&cfg.Users, "users", 0, "distinct subscriber users the sessions share (default min(subs, 1000), at least channels)")
	f.IntVar(&cfg.Publishers, "publishers", 0, "publishers (each its own user and, with --via rtm, its own websocket)")
	f.Float64Var(&cfg.Rate, "rate", 0, "publishes per second over all publishers, open loop (publish scenario: 0 = as fast as acks come)")
	f.IntVar(&cfg.Size, "size", 128, "message text size, bytes")
	f.StringVar(&cfg.Via, "via", ViaRTM, "how publishes are sent: rtm or http")
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
