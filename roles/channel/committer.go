package channel

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
)

// committer is the owner's group commit: sequenced messages of every
// channel queue here in seq order per channel, and one goroutine writes
// everything queued while the last transaction ran (and, when busy,
// during the commit window) in one store transaction; then it fans each
// message out to its channel's subscribers and answers the publishers,
// through a replier goroutine so that the next commit does not wait on
// a caller's socket. Safe for concurrent use.
//
// Lock order: chanState.mu, then mu (enqueue is called with a channel's
// lock held); answerMu is a leaf.
type committer struct {
	store    store.Store
	cache    *cache // to drop a channel whose write was fenced
	maxBatch int
	window   time.Duration
	log      *slog.Logger

	mu          sync.Mutex // guards commits, committing, stopped, firstQueued
	commits     []pending
	committing  bool
	stopped     bool      // the committer has stopped: enqueue fails at once
	firstQueued time.Time // when the oldest queued message was queued
	wake        chan struct{}

	// Replies to a batch are run by the replier goroutine, not the
	// committer: a local caller's reply may write to a socket, and the
	// next commit should not wait for that.
	answers    []answer // the committer's, for the batch being answered
	answerMu   sync.Mutex
	answerQ    []answer
	answerWake chan struct{}
}

func newCommitter(st store.Store, c *cache, maxBatch int, window time.Duration, log *slog.Logger) *committer {
	return &committer{store: st, cache: c, maxBatch: maxBatch, window: window, log: log,
		wake: make(chan struct{}, 1), answerWake: make(chan struct{}, 1)}
}

// run commits until ctx ends, then fails what is still queued. The
// replier belongs to it: it stops only after the last batch's replies
// were handed to it.
func (k *committer) run(ctx context.Context) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		k.replier(stop)
	}()
	k.loop(ctx)
	close(stop)
	<-done
}

type pending struct {
	st    *chanState
	msg   chat.Message
	event []byte
	// member: a join or leave entry's frames beside event (nil for every
	// other entry), sent as a PostedMember.
	member *internode.PostedMember
	dup    bool // a retry of msg, which is queued ahead: answer as it went
	reply  func(chat.Message, error)
}

type answer struct {
	reply func(chat.Message, error)
	m     chat.Message
	err   error
}

// answer records a reply to send after the batch.
func (k *committer) answer(reply func(chat.Message, error), m chat.Message, err error) {
	k.answers = append(k.answers, answer{reply, m, err})
}

// flushAnswers hands the batch's replies to the replier.
func (k *committer) flushAnswers() {
	if len(k.answers) == 0 {
		return
	}
	k.answerMu.Lock()
	k.answerQ = append(k.answerQ, k.answers...)
	k.answerMu.Unlock()
	clear(k.answers)
	k.answers = k.answers[:0]
	select {
	case k.answerWake <- struct{}{}:
	default:
	}
}

// replier runs replies in commit order until stop, then runs what is left.
func (k *committer) replier(stop chan struct{}) {
	var run []answer
	for {
		stopping := false
		select {
		case <-stop:
			stopping = true
		case <-k.answerWake:
		}
		k.answerMu.Lock()
		run, k.answerQ = k.answerQ, run[:0]
		k.answerMu.Unlock()
		for i, a := range run {
			a.reply(a.m, a.err)
			run[i] = answer{}
		}
		if stopping {
			return
		}
	}
}

// enqueue adds a sequenced message to the next batch. Callers hold the
// channel's lock, so one channel's messages enter in seq order. Once the
// committer has stopped, p is failed at once.
func (k *committer) enqueue(p pending) {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		p.reply(chat.Message{}, chat.ErrUnavailable)
		return
	}
	if len(k.commits) == 0 {
		k.firstQueued = time.Now()
	}
	k.commits = append(k.commits, p)
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// loop is the group commit: everything queued while the previous
// transaction ran (and, when busy, during the commit window) goes into
// the next one.
func (k *committer) loop(ctx context.Context) {
	var batch []pending
	var msgs []chat.Message
	var lastCommit time.Time
	for {
		select {
		case <-ctx.Done():
			k.stop()
			return
		case <-k.wake:
		}
		for {
			if time.Since(lastCommit) < k.window {
				k.gather(ctx)
			}
			k.mu.Lock()
			n := min(len(k.commits), k.maxBatch)
			batch = append(batch[:0], k.commits[:n]...)
			k.commits = append(k.commits[:0], k.commits[n:]...)
			k.committing = n > 0
			k.mu.Unlock()
			if n == 0 {
				break
			}
			k.commit(batch, &msgs)
			lastCommit = time.Now()
			clear(batch)
		}
	}
}

// stop makes enqueue fail from now on and fails what is queued.
func (k *committer) stop() {
	k.mu.Lock()
	k.stopped = true
	rest := k.commits
	k.commits = nil
	k.mu.Unlock()
	for _, p := range rest {
		p.reply(chat.Message{}, chat.ErrUnavailable)
	}
}

// gather waits, while the queue holds less than a full batch, until its
// oldest message has waited CommitWindow.
func (k *committer) gather(ctx context.Context) {
	for {
		k.mu.Lock()
		n, first := len(k.commits), k.firstQueued
		k.mu.Unlock()
		wait := k.window - time.Since(first)
		if n == 0 || n >= k.maxBatch || wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-k.wake: // more arrived: is the batch full yet?
			t.Stop()
		}
	}
}

func (k *committer) commit(batch []pending, msgs *[]chat.Message) {
	*msgs = (*msgs)[:0]
	for i := range batch {
		p := &batch[i]
		p.st.mu.Lock()
		dropped := p.st.dropped
		p.st.mu.Unlock()
		if dropped {
			p.dup = false
			p.st = nil // answered below without being written
			continue
		}
		if !p.dup {
			*msgs = append(*msgs, p.msg)
		}
	}
	var res []error
	var err error
	var committed int64 // when the batch was committed (unix ns)
	if len(*msgs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		res, err = k.store.Append(ctx, *msgs)
		end := time.Now()
		cancel()
		committed = end.UnixNano()
		met := k.cache.met
		met.commitTime.Observe(end.Sub(start).Seconds())
		met.batchSize.Observe(float64(len(*msgs)))
		if err != nil {
			met.commitFails.Inc()
			k.log.Error("commit failed", "messages", len(*msgs), "err", err)
		}
	}
	next := 0 // index into res
	written := 0
	for i := range batch {
		p := &batch[i]
		st := p.st
		if st == nil {
			k.answer(p.reply, chat.Message{}, chat.ErrConflict)
			continue
		}
		st.mu.Lock()
		switch {
		case p.dup:
			// The original is ahead in this or an earlier batch.
			ok := st.committed >= p.msg.Seq && !st.dropped
			st.mu.Unlock()
			if ok {
				k.answer(p.reply, p.msg, nil)
			} else {
				k.answer(p.reply, chat.Message{}, chat.ErrConflict)
			}
			continue
		case err != nil:
			k.cache.dropLocked(st) // its seqs were assigned but not written
			st.mu.Unlock()
			k.answer(p.reply, chat.Message{}, chat.ErrUnavailable)
		case res[next] != nil:
			k.log.Warn("fenced: another node wrote this channel", "channel", st.id, "seq", p.msg.Seq)
			k.cache.dropLocked(st)
			st.mu.Unlock()
			k.answer(p.reply, chat.Message{}, chat.ErrConflict)
		default:
			st.committed = p.msg.Seq
			written++
			switch {
			case len(st.subs) == 0:
			case p.member != nil:
				p.member.Posted = internode.Posted{Channel: st.id, Seq: p.msg.Seq, Payload: p.event, Committed: committed}
				broadcast(st, *p.member)
			default:
				posted(st, internode.Posted{Channel: st.id, Seq: p.msg.Seq, Payload: p.event, Committed: committed})
			}
			st.mu.Unlock()
			k.answer(p.reply, p.msg, nil)
		}
		next++
	}
	if written > 0 {
		k.cache.met.committed.Add(float64(written))
	}
	k.flushAnswers()
}

// quiesce waits until nothing is queued or being committed, or ctx ends.
// Call it once this node no longer owns channels (after leaving).
func (k *committer) quiesce(ctx context.Context) {
	for {
		k.mu.Lock()
		idle := len(k.commits) == 0 && !k.committing
		k.mu.Unlock()
		if idle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
