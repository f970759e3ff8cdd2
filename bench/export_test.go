package bench

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// RunCutting is Run that, once the run's deliveries reach after, cuts
// every websocket's TCP connection once, as a network failure would. It
// also returns how many runs of unanswered publishes, in the order they
// were sent, the run had: one cut loses at most the publishes in flight
// at that moment, one run, however many the machine's load puts in it.
func RunCutting(ctx context.Context, cfg Config, log *slog.Logger, after uint64) (*Result, int, error) {
	r, err := newRunner(cfg, log, nil)
	if err != nil {
		return nil, 0, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r.live.Count() < after {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		r.conns.closeAll()
	}()
	res, err := r.run(ctx)
	close(done)
	wg.Wait()
	return res, unansweredRuns(r), err
}

// unansweredRuns counts the maximal runs of unanswered publishes when
// every publish is ordered by its send time.
func unansweredRuns(r *runner) int {
	type sent struct {
		at       int64
		answered bool
	}
	var all []sent
	for _, ch := range r.chans {
		for i := range ch.pubs.n.Load() {
			if rec := ch.pubs.rec(i); rec != nil && rec.sent.Load() != 0 {
				all = append(all, sent{rec.sent.Load(), rec.ack.Load() != 0})
			}
		}
	}
	slices.SortFunc(all, func(a, b sent) int { return cmp.Compare(a.at, b.at) })
	runs := 0
	for i, s := range all {
		if !s.answered && (i == 0 || all[i-1].answered) {
			runs++
		}
	}
	return runs
}
