package bench

import (
	"slices"
	"sync"
	"sync/atomic"
)

// The account follows every publish and every delivery of a run, so that
// at the end each delivery the server owed is known to have arrived once,
// in order, or not.
//
// A publish is identified by its channel and its index in that channel's
// pubTable (both carried in the message text). The publisher stamps the
// record when it sends and when the ack arrives; each receiving session
// keeps, per channel, the set of indexes and of seqs it got, as runs of
// consecutive values (see spanSet), so its memory grows with the gaps and
// reorderings it saw, not with the number of publishes. Only the
// session's reader goroutine touches its recvState, so the per-delivery
// path takes no lock, and allocates only when a new gap opens.

// pubRec is one publish.
type pubRec struct {
	sent atomic.Int64  // unix nanos just before the send; 0: not sent
	ack  atomic.Int64  // unix nanos of the ok ack; ackFailed: rejected; 0: none yet
	seq  atomic.Uint64 // seq as first delivered (or from the HTTP answer); 0: unknown
}

// ackFailed marks a publish the server refused, or whose HTTP call failed
// or timed out: it is owed to nobody. (A publish lost with its websocket
// keeps ack 0: unanswered.)
const ackFailed = -1

const chunkBits = 10

type pubChunk [1 << chunkBits]pubRec

// pubTable holds the publishes of one channel by index. alloc is safe for
// concurrent use; rec never blocks: the chunk directory is replaced, not
// changed, when it grows, and chunks never move.
type pubTable struct {
	mu  sync.Mutex // serialises growth
	dir atomic.Pointer[[]*pubChunk]
	n   atomic.Uint64 // indexes handed out
}

// alloc reserves the next index and returns it with its record.
func (t *pubTable) alloc() (uint64, *pubRec) {
	i := t.n.Add(1) - 1
	if r := t.rec(i); r != nil {
		return i, r
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var dir []*pubChunk
	if d := t.dir.Load(); d != nil {
		dir = *d
	}
	for int(i>>chunkBits) >= len(dir) {
		dir = append(slices.Clip(dir), new(pubChunk)) // a new array: readers may hold the old
	}
	t.dir.Store(&dir)
	return i, &dir[i>>chunkBits][i&(1<<chunkBits-1)]
}

// rec returns the record of index i, or nil if it was never handed out.
func (t *pubTable) rec(i uint64) *pubRec {
	if i >= t.n.Load() {
		return nil
	}
	d := t.dir.Load()
	if d == nil || int(i>>chunkBits) >= len(*d) {
		return nil
	}
	return &(*d)[i>>chunkBits][i&(1<<chunkBits-1)]
}

// span is the values lo..hi-1.
type span struct{ lo, hi uint64 }

// spanSet is a set of integers kept as sorted, disjoint, non-adjacent
// spans: a run delivered in order is one span, and each gap (a loss, a
// late joiner's start, a reordering not yet filled) costs one more.
type spanSet []span

// add adds i and reports whether it was already there.
func (s *spanSet) add(i uint64) bool {
	sp := *s
	n := len(sp)
	// The common cases: the next value of the last span, or past it.
	if n > 0 && i >= sp[n-1].hi {
		if i == sp[n-1].hi {
			sp[n-1].hi++
		} else {
			*s = append(sp, span{i, i + 1})
		}
		return false
	}
	k := sp.search(i)
	if k < n && sp[k].lo <= i {
		return true
	}
	joinsPrev := k > 0 && sp[k-1].hi == i
	joinsNext := k < n && sp[k].lo == i+1
	switch {
	case joinsPrev && joinsNext:
		sp[k-1].hi = sp[k].hi
		*s = slices.Delete(sp, k, k+1)
	case joinsPrev:
		sp[k-1].hi++
	case joinsNext:
		sp[k].lo--
	default:
		*s = slices.Insert(sp, k, span{i, i + 1})
	}
	return false
}

// has reports whether i is in the set.
func (s spanSet) has(i uint64) bool {
	k := s.search(i)
	return k < len(s) && s[k].lo <= i
}

// search returns the index of the first span that ends after i.
func (s spanSet) search(i uint64) int {
	k, _ := slices.BinarySearchFunc(s, i, func(e span, v uint64) int {
		if e.hi <= v {
			return -1
		}
		return 1
	})
	return k
}

// regression is a delivery whose seq was lower than one the session had
// already received on the channel. It is out of order when its publish
// was acknowledged before the last-sent of the earlier deliveries was
// sent; that is decided when the ack is known (at the latest in tally).
type regression struct {
	x     uint64 // publish index of the late delivery
	after int64  // the latest send time of the publishes delivered before it
}

// recvState is what one session received on one channel. Owned by the
// session's reader goroutine.
type recvState struct {
	ch       *benchChan
	got      spanSet // publish indexes received
	seqs     spanSet // seqs received
	unique   uint64  // deliveries that were neither duplicates nor malformed
	dups     uint64  // same publish, or same seq, twice
	mismatch uint64  // a seq other than the one another session saw for the publish
	bad      uint64  // index or seq that no publish of the run can have
	maxSeq   uint64
	// lastSent is the latest send time of the publishes received so far.
	// A delivery that is out of order with any earlier one is out of
	// order with the one sent last, so this is the one to compare with
	// (the one of maxSeq may have been sent earlier).
	lastSent int64
	regress  uint64       // deliveries with a seq below maxSeq
	ooo      uint64       // of which out of order, decided
	pending  []regression // of which not decided yet: no answer to the publish when it arrived
}

// maxSeqAhead bounds how far past the publishes handed out a seq may be
// and still be tracked (a channel's seqs start at 1 for its first message,
// so a bigger one is a server bug).
const maxSeqAhead = 1 << 16

// receive accounts one delivery of publish idx with seq. It reports
// whether the delivery was a new one (not a duplicate, not malformed).
func (r *recvState) receive(idx, seq uint64) bool {
	rec := r.ch.pubs.rec(idx)
	if rec == nil || seq == 0 || seq > r.ch.pubs.n.Load()+maxSeqAhead {
		r.bad++
		return false
	}
	if r.got.has(idx) || r.seqs.has(seq) {
		// A client that drops repeated seqs would drop this one: it
		// counts as a duplicate, not as the publish's delivery.
		r.dups++
		return false
	}
	r.got.add(idx)
	r.seqs.add(seq)
	r.unique++
	switch s := rec.seq.Load(); {
	case s == 0:
		rec.seq.CompareAndSwap(0, seq)
	case s != seq:
		r.mismatch++
	}
	if seq < r.maxSeq {
		r.regress++
		r.judge(regression{x: idx, after: r.lastSent}, true)
	} else {
		r.maxSeq = seq
	}
	r.lastSent = max(r.lastSent, rec.sent.Load())
	return true
}

// minPending is the room for undecided regressions before receive
// decides those whose publish has been answered meanwhile.
const minPending = 64

// judge decides regression g when its publish has been answered: it was
// out of order when the publish was acknowledged before one delivered
// earlier was sent. With keep, an undecided g is kept for later.
func (r *recvState) judge(g regression, keep bool) (decided bool) {
	switch ack := r.ch.pubs.rec(g.x).ack.Load(); {
	case ack == 0:
		if keep {
			if n := len(r.pending); n == cap(r.pending) && n >= minPending {
				r.settlePending()
				if len(r.pending) > n/2 { // few decided: grow, so that settling stays amortised
					r.pending = slices.Grow(r.pending, n)
				}
			}
			r.pending = append(r.pending, g)
		}
		return false
	case ack > 0 && ack < g.after:
		r.ooo++
	}
	return true
}

// settlePending decides the pending regressions whose publishes have been
// answered, and keeps the others. What stays is bounded by the publishes
// without an answer, so the slice does not grow with the run.
func (r *recvState) settlePending() {
	r.pending = slices.DeleteFunc(r.pending, func(g regression) bool { return r.judge(g, false) })
}

// Account is the exact tally of a run's deliveries.
type Account struct {
	// Expected: each acknowledged publish times the sessions of its
	// channel that had received hello before it was sent.
	Expected uint64 `json:"expected"`
	// Received: distinct deliveries of the run's messages.
	Received uint64 `json:"received"`
	// Lost: expected but not received by the end of the drain.
	Lost uint64 `json:"lost"`
	// Extra: received but not expected (a publish not acknowledged, or
	// sent before the session's hello); not an error.
	Extra uint64 `json:"extra"`
	// Duplicated: the same publish, or the same (channel, seq), twice at
	// one session.
	Duplicated uint64 `json:"duplicated"`
	// OutOfOrder: a delivery with a lower seq than one the session had
	// already received on the channel, whose publish was acknowledged
	// before one of the publishes delivered earlier was sent.
	OutOfOrder uint64 `json:"out_of_order"`
	// SeqRegressions: every delivery with a lower seq than one already
	// received on the channel (OutOfOrder is the subset that was
	// causally ordered by the publishers).
	SeqRegressions uint64 `json:"seq_regressions"`
	// SeqMismatch: a session saw another seq for a publish than the first
	// session that received it.
	SeqMismatch uint64 `json:"seq_mismatch"`
	// Malformed: deliveries whose publish index or seq cannot belong to
	// the run.
	Malformed uint64 `json:"malformed"`
	// AffectedSessions: sessions with any of the problems above.
	AffectedSessions uint64 `json:"affected_sessions"`
}

// Clean reports whether nothing was lost, duplicated or disordered.
func (a Account) Clean() bool {
	return a.Lost == 0 && a.Duplicated == 0 && a.OutOfOrder == 0 && a.SeqRegressions == 0 &&
		a.SeqMismatch == 0 && a.Malformed == 0
}

// receiver is one session as the account sees it.
type receiver struct {
	hello int64 // unix nanos of its first hello; 0: never connected
	chans []*recvState
}

// tally computes the account once every reader has stopped.
func tally(chans []*benchChan, rs []receiver) Account {
	// Per channel: the acknowledged publishes in order of send time.
	type sentIdx struct {
		sent int64
		idx  uint64
	}
	acked := make([][]sentIdx, len(chans))
	for c, ch := range chans {
		n := ch.pubs.n.Load()
		for i := uint64(0); i < n; i++ {
			r := ch.pubs.rec(i)
			if r.ack.Load() > 0 {
				acked[c] = append(acked[c], sentIdx{r.sent.Load(), i})
			}
		}
		slices.SortFunc(acked[c], func(a, b sentIdx) int {
			switch {
			case a.sent < b.sent:
				return -1
			case a.sent > b.sent:
				return 1
			}
			return 0
		})
	}
	var a Account
	for _, r := range rs {
		before := a
		for _, st := range r.chans {
			a.Received += st.unique
			a.Duplicated += st.dups
			a.SeqMismatch += st.mismatch
			a.Malformed += st.bad
			var expected, got uint64
			if r.hello != 0 {
				list := acked[st.ch.idx]
				first, _ := slices.BinarySearchFunc(list, r.hello, func(e sentIdx, t int64) int {
					if e.sent <= t {
						return -1
					}
					return 1
				})
				for _, e := range list[first:] {
					expected++
					if st.got.has(e.idx) {
						got++
					}
				}
			}
			a.Expected += expected
			a.Lost += expected - got
			a.Extra += st.unique - got
			st.settlePending() // what is still pending never had an answer: not out of order
			a.SeqRegressions += st.regress
			a.OutOfOrder += st.ooo
		}
		if a.Lost != before.Lost || a.Duplicated != before.Duplicated || a.SeqRegressions != before.SeqRegressions ||
			a.SeqMismatch != before.SeqMismatch || a.Malformed != before.Malformed {
			a.AffectedSessions++
		}
	}
	return a
}
