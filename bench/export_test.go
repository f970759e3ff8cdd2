package bench

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RunCutting is Run that, once the run's deliveries reach after, cuts
// every websocket's TCP connection once, as a network failure would.
func RunCutting(ctx context.Context, cfg Config, log *slog.Logger, after uint64) (*Result, error) {
	r, err := newRunner(cfg, log, nil)
	if err != nil {
		return nil, err
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
	defer wg.Wait()
	defer close(done)
	return r.run(ctx)
}
