package gateway

import (
	"runtime"
	"sync"
)

// fanout spreads the writes of one message to many local sessions over
// a few worker goroutines (one per CPU), so that a large channel's sweep
// of socket writes runs in parallel. A session always goes to the same
// worker and each worker runs its jobs in order, so one session's frames
// stay in order.
type fanout struct {
	workers []*fanWorker
	wg      sync.WaitGroup
}

type fanWorker struct {
	mu   sync.Mutex
	jobs []fanJob
	wake chan struct{}
	done chan struct{}
}

type fanJob struct {
	frame    []byte
	sessions []*session
}

func newFanout() *fanout {
	n := max(2, runtime.GOMAXPROCS(0))
	f := &fanout{}
	for range n {
		w := &fanWorker{wake: make(chan struct{}, 1), done: make(chan struct{})}
		f.workers = append(f.workers, w)
		f.wg.Add(1)
		go w.run(&f.wg)
	}
	return f
}

// shard picks the worker of a new session.
func (f *fanout) shard(i uint64) int { return int(i % uint64(len(f.workers))) }

func (w *fanWorker) add(j fanJob) {
	w.mu.Lock()
	w.jobs = append(w.jobs, j)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *fanWorker) run(wg *sync.WaitGroup) {
	defer wg.Done()
	var jobs []fanJob
	for {
		select {
		case <-w.done:
			return
		case <-w.wake:
		}
		w.mu.Lock()
		jobs, w.jobs = w.jobs, jobs[:0]
		w.mu.Unlock()
		for i, j := range jobs {
			for _, s := range j.sessions {
				s.pushFrame(j.frame)
			}
			jobs[i] = fanJob{}
		}
	}
}

func (f *fanout) stop() {
	for _, w := range f.workers {
		close(w.done)
	}
	f.wg.Wait()
}
