package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"text/tabwriter"
	"time"
)

// SweepResult is a run at each of several rates: the answer to "the
// highest rate with zero loss and p99 under a bound". Its JSON field
// names are stable.
type SweepResult struct {
	MaxP99Ms float64 `json:"max_p99_ms"`
	Steps    []Step  `json:"steps"`
	// BestRate is the highest rate that held (0: none did), and
	// BestDeliveriesPerSec the deliveries per second of its window.
	BestRate             float64 `json:"best_rate"`
	BestDeliveriesPerSec float64 `json:"best_deliveries_per_sec"`
}

// Step is one rate of a sweep.
type Step struct {
	Rate   float64 `json:"rate"`
	Held   bool    `json:"held"`
	Why    string  `json:"why,omitempty"` // why it did not hold
	Result *Result `json:"result"`
}

// Sweep runs cfg once at each of rates (publishes per second, ascending),
// until a rate does not hold (see holds): past the knee a higher rate only
// does worse, so the rest are not run. Each run is a full Run, with its
// own channels, warmup, window and drain.
func Sweep(ctx context.Context, cfg Config, rates []float64, maxP99 time.Duration, log *slog.Logger, progress io.Writer) (*SweepResult, error) {
	return sweep(cfg, rates, maxP99, func(c Config) (*Result, error) { return Run(ctx, c, log, progress) })
}

// sweep is Sweep with the run of one rate given.
func sweep(cfg Config, rates []float64, maxP99 time.Duration, run func(Config) (*Result, error)) (*SweepResult, error) {
	if err := checkSweep(cfg, rates, maxP99); err != nil {
		return nil, err
	}
	sr := &SweepResult{MaxP99Ms: float64(maxP99) / 1e6}
	for _, rate := range rates {
		c := cfg
		c.Rate = rate
		res, err := run(c)
		if err != nil {
			return sr, err
		}
		st := Step{Rate: rate, Result: res}
		st.Why = holds(res, maxP99)
		st.Held = st.Why == ""
		sr.Steps = append(sr.Steps, st)
		if !st.Held {
			break
		}
		sr.BestRate, sr.BestDeliveriesPerSec = rate, res.Delivery.PerSec
	}
	return sr, nil
}

// checkSweep validates the sweep's own arguments, and cfg at its first
// rate, before anything runs.
func checkSweep(cfg Config, rates []float64, maxP99 time.Duration) error {
	var errs []error
	if len(rates) == 0 || rates[0] <= 0 || !slices.IsSorted(rates) || len(slices.Compact(slices.Clone(rates))) != len(rates) {
		errs = append(errs, fmt.Errorf("--rates %v: want positive rates in ascending order", rates))
	}
	if cfg.Rate != 0 {
		errs = append(errs, errors.New("--rate and --rates: give one"))
	}
	if maxP99 <= 0 {
		errs = append(errs, fmt.Errorf("--max-p99 %v: want a positive duration", maxP99))
	}
	c := cfg.Defaults()
	if !c.publishes() {
		errs = append(errs, fmt.Errorf("--rates: the %s scenario does not publish", c.Scenario))
	}
	if len(errs) == 0 {
		c.Rate = rates[0]
		errs = append(errs, c.Validate())
	}
	return errors.Join(errs...)
}

// holds reports why a run does not hold ("" when it does): it must be OK
// (every session stayed up, nothing lost, duplicated or out of order,
// every publish acknowledged), its publishers must have kept up with the
// offered rate, and its delivery p99 must be within maxP99.
func holds(res *Result, maxP99 time.Duration) string {
	switch {
	case !res.OK:
		return "not clean (see its result)"
	case res.Publish == nil || res.Delivery == nil:
		return "nothing published"
	case !res.Publish.KeptUp:
		return fmt.Sprintf("the publishers sent %.0f/s of %.0f/s offered", res.Publish.SentPerSec, res.Publish.OfferedPerSec)
	case res.Delivery.Latency.P99Ms > float64(maxP99)/1e6:
		return fmt.Sprintf("delivery p99 %s over %v", fmtMs(res.Delivery.Latency.P99Ms), maxP99)
	}
	return ""
}

// WriteJSON writes sr as indented JSON.
func (sr *SweepResult) WriteJSON(w io.Writer) error { return writeJSON(w, sr) }

// WriteText writes each step's result, then a table of the steps and the
// answer.
func (sr *SweepResult) WriteText(w io.Writer) error {
	for _, st := range sr.Steps {
		if err := st.Result.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "rate/s\tdeliveries/s\tp50\tp99\tmax\tlost\tper server CPU-s\theld")
	for _, st := range sr.Steps {
		d := st.Result.Delivery
		if d == nil {
			d = &DeliveryResult{}
		}
		perCPU := "-"
		if s := st.Result.Server; s != nil {
			perCPU = fmt.Sprintf("%.0f", s.DeliveriesPerCPUSecond)
		}
		held := "yes"
		if !st.Held {
			held = "no: " + st.Why
		}
		fmt.Fprintf(tw, "%g\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\n", st.Rate, d.PerSec, fmtMs(d.Latency.P50Ms),
			fmtMs(d.Latency.P99Ms), fmtMs(d.Latency.MaxMs), d.Lost, perCPU, held)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if sr.BestRate == 0 {
		_, err := fmt.Fprintf(w, "no rate held (zero loss, p99 <= %s)\n", fmtMs(sr.MaxP99Ms))
		return err
	}
	_, err := fmt.Fprintf(w, "highest rate held (zero loss, p99 <= %s): %g publishes/s, %.0f deliveries/s\n",
		fmtMs(sr.MaxP99Ms), sr.BestRate, sr.BestDeliveriesPerSec)
	return err
}
