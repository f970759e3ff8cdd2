package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear in the manner of HdrHistogram: values below
// 2^subBits are counted exactly; above, every power-of-two range is cut
// into 2^(subBits-1) equal buckets, so a bucket's width is at most
// 1/2^(subBits-1) of its values (0.78% with subBits 8). Values are
// nanoseconds; 1 µs to 60 s needs under 4,000 buckets.
const (
	subBits     = 8
	subCount    = 1 << subBits       // 256: the exact range and the width of a row
	halfCount   = subCount / 2       // buckets per power of two above the exact range
	histMax     = int64(time.Minute) // values from here up are clamped into clampBucket (max is kept exactly)
	histRows    = 36 - subBits       // 2^36 ns > 1 minute
	histBuckets = subCount + histRows*halfCount
)

// clampBucket holds every value from histMax up, and nothing else: it is
// the bucket after the one of histMax-1. (The bucket of histMax itself
// spans 59.86 s to 60.13 s, so it cannot tell values just below the clamp
// from those clamped.)
var clampBucket = bucketOf(histMax-1) + 1

// bucketOf maps v >= 0 to its bucket.
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits // >= 1: how far v is shifted to fit in subBits bits
	return subCount + (e-1)*halfCount + int(v>>e) - halfCount
}

// bucketRange is the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i == clampBucket {
		return histMax, math.MaxInt64
	}
	if i < subCount {
		return int64(i), int64(i)
	}
	e := (i-subCount)/halfCount + 1
	sub := int64((i-subCount)%halfCount + halfCount)
	lo = sub << e
	return lo, lo + 1<<e - 1
}

// Histogram counts durations. Record is safe for concurrent use and does
// not allocate; concurrent recorders should use different shards (see
// Sharded) to keep cache lines apart.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
	min    atomic.Int64 // 0: none recorded (stored as v+1)
	sum    atomic.Int64
}

// Record counts one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if (m != 0 && v+1 >= m) || h.min.CompareAndSwap(m, v+1) {
			break
		}
	}
	h.sum.Add(v)
	b := clampBucket
	if v < histMax {
		b = bucketOf(v)
	}
	h.counts[b].Add(1)
}

// Count is how many values were recorded. It reads the counts in place
// (no copy), so it suits polling.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Snapshot copies the counts. It is not atomic as a whole: values
// recorded meanwhile may be partly included.
func (h *Histogram) Snapshot() *Snapshot {
	s := &Snapshot{Counts: make([]uint64, histBuckets), Max: h.max.Load(), Sum: h.sum.Load()}
	if m := h.min.Load(); m > 0 {
		s.Min = m - 1
	}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.Counts[i] = c
		s.N += c
	}
	return s
}

// Sharded is a set of histograms that recorders pick by a key (for
// example a session's index), merged when read.
type Sharded struct {
	shards []Histogram
}

// NewSharded makes n shards (at least 1).
func NewSharded(n int) *Sharded {
	return &Sharded{shards: make([]Histogram, max(n, 1))}
}

// Shard returns the histogram for key.
func (s *Sharded) Shard(key int) *Histogram { return &s.shards[uint(key)%uint(len(s.shards))] }

// Count is how many values were recorded in every shard, without the
// copies of a Snapshot.
func (s *Sharded) Count() uint64 {
	var n uint64
	for i := range s.shards {
		n += s.shards[i].Count()
	}
	return n
}

// Snapshot merges every shard.
func (s *Sharded) Snapshot() *Snapshot {
	out := &Snapshot{Counts: make([]uint64, histBuckets)}
	for i := range s.shards {
		out.Add(s.shards[i].Snapshot())
	}
	return out
}

// Snapshot is a point-in-time copy of a histogram.
type Snapshot struct {
	Counts   []uint64
	N        uint64
	Min, Max int64 // exact, as recorded (Sub keeps the later ones)
	Sum      int64
}

// Add merges o into s.
func (s *Snapshot) Add(o *Snapshot) {
	if o.N == 0 {
		return
	}
	if s.N == 0 || o.Min < s.Min {
		s.Min = o.Min
	}
	s.Max = max(s.Max, o.Max)
	s.Sum += o.Sum
	s.N += o.N
	for i, c := range o.Counts {
		s.Counts[i] += c
	}
}

// Sub returns what was recorded between prev and s (both of the same
// histogram). The extremes of an interval are not kept: its Min and Max
// are the bounds of its lowest and highest buckets (within s's).
func (s *Snapshot) Sub(prev *Snapshot) *Snapshot {
	out := &Snapshot{Counts: make([]uint64, len(s.Counts)), Sum: s.Sum - prev.Sum}
	first, last := -1, -1
	for i := range s.Counts {
		out.Counts[i] = s.Counts[i] - prev.Counts[i]
		out.N += out.Counts[i]
		if out.Counts[i] > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first >= 0 {
		out.Min, _ = bucketRange(first)
		_, out.Max = bucketRange(last)
		out.Min, out.Max = max(out.Min, s.Min), min(out.Max, s.Max)
	}
	return out
}

// Quantile returns the value at quantile q (0..1): the value of rank
// ceil(q*N), as the middle of its bucket, kept within [Min, Max]; the
// largest rank is Max exactly. A rank among the clamped values (histMax
// and up) is reported as Max: those are not told apart, and Max is never
// below the truth.
func (s *Snapshot) Quantile(q float64) int64 {
	if s.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.N)))
	rank = min(max(rank, 1), s.N)
	if rank == s.N {
		return s.Max
	}
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			if i == clampBucket {
				return s.Max // everything here is at least histMax
			}
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return min(max(v, s.Min), s.Max)
		}
	}
	return s.Max
}

// Mean is the average value.
func (s *Snapshot) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.N)
}
