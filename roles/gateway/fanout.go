package gateway

import (
	"iter"
	"runtime"
	"slices"
	"sync"
)

// fanout spreads the writes of one message to many local sessions over
// a few worker goroutines (one per CPU), so that a large channel's sweep
// of socket writes runs in parallel. A session always goes to the same
// worker and each worker runs its jobs in order, so one session's frames
// stay in order. A worker takes every job queued since its last round at
// once and writes each session's frames of the round with one write: a
// session that receives many frames at a time (a busy publisher's acks
// and its own messages) costs one syscall per round, not one per frame.
type fanout struct {
	workers []*fanWorker
	wg      sync.WaitGroup
}

type fanWorker struct {
	mu   sync.Mutex
	jobs []fanJob
	wake chan struct{}
	done chan struct{}

	// The worker goroutine's own, reused from round to round:
	touched []*session // sessions with frames this round, by first frame
	ends    []int      // per touched session: the end of its frames in frames
	frames  [][]byte   // this round's frames, grouped by session
	joined  []byte     // scratch for joining one session's frames
}

// fanJob is a frame for sessions, or for the one session one.
type fanJob struct {
	frame    []byte
	sessions []*session
	one      *session
}

const (
	// maxRoundFrames bounds the frames of one round (and so the worker's
	// round buffers), unless a single job has more.
	maxRoundFrames = 16 << 10
	// maxJoined bounds the scratch buffer a worker keeps between rounds.
	maxJoined = 256 << 10
)

// roundSize is how many of jobs, at least one, make a round.
func roundSize(jobs []fanJob) int {
	n := 0
	for i, j := range jobs {
		n += len(j.sessions)
		if j.one != nil {
			n++
		}
		if n > maxRoundFrames && i > 0 {
			return i
		}
	}
	return len(jobs)
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
		for rest := jobs; len(rest) > 0; {
			k := roundSize(rest)
			w.write(rest[:k])
			rest = rest[k:]
		}
		clear(jobs)
	}
}

// write sends a round's jobs: each session's frames, in job order, with
// one write. Sessions are numbered in their slot field (the worker's
// own) and their frames grouped by a counting sort.
func (w *fanWorker) write(jobs []fanJob) {
	n := 0
	for s := range sends(jobs) {
		if s.slot == 0 {
			w.touched = append(w.touched, s)
			w.ends = append(w.ends, 0)
			s.slot = int32(len(w.touched))
		}
		w.ends[s.slot-1]++
		n++
	}
	off := 0
	for i, c := range w.ends { // counts -> starts, advanced below to ends
		w.ends[i], off = off, off+c
	}
	w.frames = slices.Grow(w.frames[:0], n)[:n]
	for s, f := range sends(jobs) {
		w.frames[w.ends[s.slot-1]] = f
		w.ends[s.slot-1]++
	}
	start := 0
	for i, s := range w.touched {
		s.pushFrames(w.frames[start:w.ends[i]], &w.joined)
		start, s.slot, w.touched[i] = w.ends[i], 0, nil
	}
	clear(w.frames)
	w.touched, w.ends, w.frames = w.touched[:0], w.ends[:0], w.frames[:0]
	if cap(w.joined) > maxJoined {
		w.joined = nil
	}
}

// sends yields each (session, frame) of jobs in order.
func sends(jobs []fanJob) iter.Seq2[*session, []byte] {
	return func(yield func(*session, []byte) bool) {
		for _, j := range jobs {
			if j.one != nil && !yield(j.one, j.frame) {
				return
			}
			for _, s := range j.sessions {
				if !yield(s, j.frame) {
					return
				}
			}
		}
	}
}

func (f *fanout) stop() {
	for _, w := range f.workers {
		close(w.done)
	}
	f.wg.Wait()
}
