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
// keeps, per channel, a bitmap of the indexes and of the seqs it got.
// Only the session's reader goroutine touches its recvState, so the
// per-delivery path takes no lock and, once the bitmaps have grown, does
// not allocate.

// pubRec is one publish.
type pubRec struct {
	sent atomic.Int64  // unix nanos just before the send; 0: not sent
	ack  atomic.Int64  // unix nanos of the ok ack; ackFailed: rejected; 0: none yet
	seq  atomic.Uint64 // seq as first delivered (or from the HTTP answer); 0: unknown
}

// ackFailed marks a publish the server refused (or that was lost with
// its connection): it is owed to nobody.
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

// bitset is a growable set of small integers.
type bitset []uint64

// set adds i and reports whether it was already there.
func (b *bitset) set(i uint64) bool {
	w := int(i >> 6)
	if w >= len(*b) {
		*b = slices.Grow(*b, w+1-len(*b))[:w+1]
	}
	m := uint64(1) << (i & 63)
	had := (*b)[w]&m != 0
	(*b)[w] |= m
	return had
}

func (b bitset) has(i uint64) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(i&63)) != 0
}

// regression is a delivery whose seq was lower than one the session had
// already received on the channel: x (the lower seq) came after y.
type regression struct{ x, y uint64 } // publish indexes

// recvState is what one session received on one channel. Owned by the
// session's reader goroutine.
type recvState struct {
	ch       *benchChan
	got      bitset // publish indexes received
	seqs     bitset // seqs received
	unique   uint64 // deliveries that were neither duplicates nor malformed
	dups     uint64 // same publish, or same seq, twice
	mismatch uint64 // a seq other than the one another session saw for the publish
	bad      uint64 // index or seq that no publish of the run can have
	maxSeq   uint64
	maxIdx   uint64 // publish index of maxSeq
	regress  []regression
}

// maxSeqAhead bounds how far past the publishes handed out a seq may be
// and still be tracked (a channel's seqs start at 1 for its first message,
// so a bigger one is a server bug, not a reason to allocate gigabytes).
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
	r.got.set(idx)
	r.seqs.set(seq)
	r.unique++
	switch s := rec.seq.Load(); {
	case s == 0:
		rec.seq.CompareAndSwap(0, seq)
	case s != seq:
		r.mismatch++
	}
	if seq < r.maxSeq {
		r.regress = append(r.regress, regression{x: idx, y: r.maxIdx})
		return true
	}
	r.maxSeq, r.maxIdx = seq, idx
	return true
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
	// before the other one was sent.
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
			for _, g := range st.regress {
				a.SeqRegressions++
				x, y := st.ch.pubs.rec(g.x), st.ch.pubs.rec(g.y)
				if ack := x.ack.Load(); ack > 0 && ack < y.sent.Load() {
					a.OutOfOrder++
				}
			}
		}
		if a.Lost != before.Lost || a.Duplicated != before.Duplicated || a.SeqRegressions != before.SeqRegressions ||
			a.SeqMismatch != before.SeqMismatch || a.Malformed != before.Malformed {
			a.AffectedSessions++
		}
	}
	return a
}
