package segment

import (
	"errors"
	"fmt"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// Batch lays out the messages of one Append as segment rows. It is
// scratch reused from Append to Append: not safe for concurrent use.
type Batch struct {
	Runs []Run

	open  map[string]int // channel -> its last run in Runs
	runOf []int          // msgs[i] is in Runs[runOf[i]]
	order []chat.Message // msgs grouped by run
}

// Run is one segment to write: messages of one channel with consecutive
// seqs.
type Run struct {
	First, Last uint64
	start, n    int
	cut         uint64 // seqs >= cut conflict (Last+1: none)
}

// Group splits msgs into runs (a channel's consecutive seqs, in the order
// they appear, at most Max each) and lays them out run by run. It reports
// whether each channel's runs go up: only then can the rows of one
// multi-row INSERT not overlap each other, whatever a row's check sees
// of the rows inserted before it.
func (b *Batch) Group(msgs []chat.Message) (increasing bool) {
	b.Runs, b.runOf = b.Runs[:0], b.runOf[:0]
	if b.open == nil {
		b.open = map[string]int{}
	}
	clear(b.open)
	increasing = true
	for _, m := range msgs {
		j, ok := b.open[m.Channel]
		if ok && b.Runs[j].Last+1 == m.Seq && b.Runs[j].n < Max {
			b.Runs[j].Last++
			b.Runs[j].n++
		} else {
			increasing = increasing && (!ok || m.Seq > b.Runs[j].Last)
			j = len(b.Runs)
			b.Runs = append(b.Runs, Run{First: m.Seq, Last: m.Seq, n: 1})
			b.open[m.Channel] = j
		}
		b.runOf = append(b.runOf, j)
	}
	at := 0
	for i := range b.Runs {
		r := &b.Runs[i]
		r.start, r.cut = at, r.Last+1
		at, r.n = at+r.n, 0 // n counts again as the run is laid out
	}
	if cap(b.order) < len(msgs) {
		b.order = make([]chat.Message, len(msgs))
	}
	b.order = b.order[:len(msgs)]
	for i, m := range msgs {
		r := &b.Runs[b.runOf[i]]
		b.order[r.start+r.n] = m
		r.n++
	}
	return increasing
}

// Msgs returns the messages of run r.
func (b *Batch) Msgs(r *Run) []chat.Message { return b.order[r.start : r.start+r.n] }

// Release drops the batch's references to message texts.
func (b *Batch) Release() { clear(b.order) }

// Results is the outcome of each of msgs once the runs are written: nil,
// or store.ErrConflict from the first seq of its channel that PutEach
// found written by another.
func (b *Batch) Results(msgs []chat.Message) []error {
	res := make([]error, len(msgs))
	for i, m := range msgs {
		if m.Seq >= b.Runs[b.runOf[i]].cut {
			res[i] = store.ErrConflict
		}
	}
	return res
}

// PutEach writes the runs one at a time, in order, finding where each
// conflicts: the seqs of a channel before the first one written by
// another go in, that channel's rest does not. put writes part as one
// row unless it shares a seq with a written one (then it reports false);
// firstWritten returns the smallest seq >= from that a written segment of
// the channel holds (math.MaxUint64 when none does). Both run in the
// caller's transaction.
//
// A refused prefix is narrowed again: with concurrent writers (not
// SQLite's, which are serialised) another may write inside the prefix
// between firstWritten and put.
func (b *Batch) PutEach(put func(part []chat.Message) (bool, error), firstWritten func(channel string, from uint64) (uint64, error)) error {
	var stale map[string]bool // channels fenced in this Append
	for i := range b.Runs {
		r := &b.Runs[i]
		part := b.Msgs(r)
		ch := part[0].Channel
		if stale[ch] {
			r.cut = r.First
			continue
		}
		for {
			ok, err := put(part[:r.cut-r.First])
			if err != nil {
				return err
			}
			if ok {
				break
			}
			// Some seq of the prefix is written already: try again with
			// the seqs before the first such one.
			cut, err := firstWritten(ch, r.First)
			if err != nil {
				return err
			}
			if cut >= r.cut {
				return fmt.Errorf("segment %s %d-%d refused without an overlapping one", ch, r.First, r.cut-1)
			}
			r.cut = cut
			if stale == nil {
				stale = map[string]bool{}
			}
			stale[ch] = true
			if r.cut == r.First {
				break
			}
		}
	}
	return nil
}

// ErrRefused: a row of a multi-row INSERT was not written because it
// overlaps a written one. The backend redoes the Append with PutEach.
var ErrRefused = errors.New("a segment overlaps a written one")
