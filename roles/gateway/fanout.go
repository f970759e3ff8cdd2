package gateway

import (
	"context"
	"iter"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ringcast/ringcast/internal/lifecycle"
)

// fanout spreads the writes of one message to many local sessions over
// a few worker goroutines (one per CPU), so that a large channel's sweep
// of socket writes runs in parallel. A session always goes to the same
// worker and each worker runs its jobs in order, so one session's frames
// stay in order. A worker takes every job queued since its last round at
// once and writes each session's frames of the round with one write: a
// session that receives many frames at a time (a busy publisher's acks
// and its own messages) costs one syscall per round, not one per frame.
// A busy large channel paces its workers' rounds (see pacer), so that
// its sessions get several messages per write instead of one.
type fanout struct {
	workers []*fanWorker
}

type fanWorker struct {
	mu   sync.Mutex // guards jobs, hold
	jobs []fanJob
	hold time.Time // no round starts before this: the pacer's decision
	wake chan struct{}

	// The worker goroutine's own, reused from round to round:
	touched []*session // sessions with frames this round, by first frame
	ends    []int      // per touched session: the end of its frames in frames
	frames  [][]byte   // this round's frames, grouped by session
	joined  []byte     // scratch for joining one session's frames

	// What the worker counts, in its own parts of the gateway's metrics
	// (nil: none); index is its part.
	met   *gatewayMetrics
	index int
}

// fanJob is a frame for sessions, or for the one session one.
type fanJob struct {
	frame    []byte
	sessions []*session
	one      *session
	large    bool // a message of a channel with largeChannel sessions here or more
	// message: a channel message, counted as fanned out; committed, when
	// not 0, is when its owner committed it (unix nanoseconds).
	message   bool
	committed int64
}

const (
	// maxRoundFrames bounds the frames of one round (and so the worker's
	// round buffers), unless a single job has more.
	maxRoundFrames = 16 << 10
	// maxJoined bounds the scratch buffer a worker keeps between rounds.
	maxJoined = 256 << 10
	// largeChannel is where a channel (its sessions on this gateway)
	// counts as large for the pacer.
	largeChannel = 500
	// coalesce is the pacer's shortest time between rounds.
	coalesce = 20 * time.Millisecond
)

// pacer decides when a worker may start its next round. A large
// channel's messages closer together than 3/4 of coalesce (or several
// of them in one round) mean a busy large channel: the next round waits
// until coalesce after this one began, so that what each of its
// sessions is sent meanwhile goes out in one write. At 200 messages/s
// that is four frames per write and a quarter of the syscalls at both
// ends, for at most coalesce of added latency; the worker's other
// sessions wait with them while it lasts. A lone message of a large
// channel, a steady 50 messages/s (every coalesce, give or take the
// quarter), and small channels never wait.
type pacer struct {
	lastLarge time.Time // when the last round with a large channel's message began
}

// next returns the earliest start of the round after one that began at
// start with jobs (the zero time: at once).
func (p *pacer) next(jobs []fanJob, start time.Time) time.Time {
	large := 0
	for _, j := range jobs {
		if j.large {
			large++
		}
	}
	if large == 0 {
		return time.Time{}
	}
	busy := large > 1 || start.Sub(p.lastLarge) < coalesce*3/4
	p.lastLarge = start
	if !busy {
		return time.Time{}
	}
	return start.Add(coalesce)
}

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

// newFanout makes the workers; start runs them.
func newFanout() *fanout {
	n := max(2, runtime.GOMAXPROCS(0))
	f := &fanout{}
	for range n {
		f.workers = append(f.workers, &fanWorker{wake: make(chan struct{}, 1)})
	}
	return f
}

// instrument has each worker count into its part of m.
func (f *fanout) instrument(m *gatewayMetrics) {
	for i, w := range f.workers {
		w.met, w.index = m, i
	}
}

// start runs every worker as a goroutine of life until it closes. Jobs
// added before start wait for it.
func (f *fanout) start(life *lifecycle.Group) {
	for _, w := range f.workers {
		life.Go(w.run)
	}
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

func (w *fanWorker) run(ctx context.Context) {
	var jobs []fanJob
	var pace pacer
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		w.mu.Lock()
		hold := w.hold
		w.mu.Unlock()
		if wait := time.Until(hold); wait > 0 {
			pause.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-pause.C:
			}
		}
		start := time.Now()
		w.mu.Lock()
		jobs, w.jobs = w.jobs, jobs[:0]
		w.hold = pace.next(jobs, start)
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
	if w.met != nil {
		w.count(jobs)
	}
}

// count adds a round's channel messages to the worker's counters: one
// delivery and one latency observation per recipient, one clock read
// and one add per message.
func (w *fanWorker) count(jobs []fanJob) {
	var now int64
	var delivered uint64
	for _, j := range jobs {
		if !j.message {
			continue
		}
		n := uint64(len(j.sessions))
		if j.one != nil {
			n++
		}
		delivered += n
		if j.committed != 0 {
			if now == 0 {
				now = time.Now().UnixNano()
			}
			w.met.latency.Part(w.index).Observe(time.Duration(now-j.committed), n)
		}
	}
	if delivered > 0 {
		w.met.fannedOut.Add(w.index, delivered)
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
