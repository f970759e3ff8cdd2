package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestBuckets: every value lies in its bucket's range, buckets are in
// order, and a bucket is at most 1/128 of its values wide.
func TestBuckets(t *testing.T) {
	if clampBucket >= histBuckets || clampBucket <= bucketOf(histMax-1) {
		t.Fatalf("clampBucket = %d, want in (%d, %d)", clampBucket, bucketOf(histMax-1), histBuckets)
	}
	prev := -1
	check := func(v int64) {
		t.Helper()
		b := bucketOf(v)
		lo, hi := bucketRange(b)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, b, lo, hi)
		}
		if float64(hi-lo) > float64(lo)/128 && hi != lo {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/128", b, lo, hi)
		}
		if b < prev {
			t.Fatalf("bucket of %d (%d) below the previous one (%d)", v, b, prev)
		}
		prev = b
	}
	for v := int64(0); v < 100_000; v++ {
		check(v)
	}
	for v := int64(100_000); v < histMax; v = v*1001/1000 + 1 {
		check(v)
	}
	check(histMax - 1)
}

// TestQuantiles compares the histogram's quantiles with the exact ones of
// the sorted values.
func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() int64
		n    int
	}{
		{"log-uniform 1µs..60s", func() int64 {
			return int64(math.Exp(rng.Float64()*math.Log(6e7)) * float64(time.Microsecond))
		}, 100_000},
		{"just below the clamp, one far above", func() int64 {
			if rng.IntN(100) == 0 {
				return int64(time.Hour)
			}
			return int64(59*time.Second) + rng.Int64N(int64(time.Second)-1)
		}, 10_000},
		{"normal around 5ms", func() int64 {
			return max(0, int64((5+rng.NormFloat64())*float64(time.Millisecond)))
		}, 50_000},
		{"small exact values", func() int64 { return rng.Int64N(300) }, 10_000},
		{"one value", func() int64 { return 1234567 }, 10},
		{"two clusters", func() int64 {
			if rng.IntN(100) == 0 {
				return int64(2 * time.Second)
			}
			return int64(300 * time.Microsecond)
		}, 20_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			vals := make([]int64, tt.n)
			for i := range vals {
				vals[i] = tt.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			s := h.Snapshot()
			if s.N != uint64(tt.n) || s.Max != vals[len(vals)-1] || s.Min != vals[0] {
				t.Fatalf("n %d min %d max %d, want %d %d %d", s.N, s.Min, s.Max, tt.n, vals[0], vals[len(vals)-1])
			}
			for _, q := range []float64{0, .5, .9, .99, .999, 1} {
				rank := max(int(math.Ceil(q*float64(len(vals)))), 1)
				want := vals[rank-1]
				got := s.Quantile(q)
				if diff := math.Abs(float64(got - want)); diff > float64(want)/128+1 {
					t.Errorf("q%g = %d, want %d (±%.2f%%)", q, got, want, 100/128.0)
				}
			}
		})
	}
}

func TestSnapshotSubAndShards(t *testing.T) {
	sh := NewSharded(4)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				sh.Shard(w).Record(int64(i) * 1000)
			}
		}()
	}
	wg.Wait()
	a := sh.Snapshot()
	if a.N != 8000 || a.Max != 999_000 || a.Min != 0 {
		t.Fatalf("merged: n %d min %d max %d", a.N, a.Min, a.Max)
	}
	for range 500 {
		sh.Shard(0).Record(int64(time.Second))
	}
	d := sh.Snapshot().Sub(a)
	if d.N != 500 {
		t.Fatalf("interval n = %d, want 500", d.N)
	}
	if q := d.Quantile(.5); math.Abs(float64(q-int64(time.Second))) > float64(time.Second)/128 {
		t.Fatalf("interval median %d, want about 1s", q)
	}
	var empty Histogram
	if q := empty.Snapshot().Quantile(.99); q != 0 {
		t.Fatalf("empty quantile %d", q)
	}
}

// TestRecordClamps: negative values count as 0; values from histMax up
// are counted apart from those just below it, and a quantile among them
// is Max (never below the truth).
func TestRecordClamps(t *testing.T) {
	var h Histogram
	h.Record(-5)
	for range 96 {
		h.Record(int64(59900 * time.Millisecond))
	}
	h.Record(histMax)
	h.Record(histMax)
	h.Record(int64(time.Hour))
	s := h.Snapshot()
	if s.N != 100 || s.Min != 0 || s.Max != int64(time.Hour) {
		t.Fatalf("n %d min %d max %d", s.N, s.Min, s.Max)
	}
	if s.Counts[clampBucket] != 3 {
		t.Errorf("clamp bucket holds %d values, want 3", s.Counts[clampBucket])
	}
	near := func(want int64) func(int64) bool {
		return func(got int64) bool { return math.Abs(float64(got-want)) <= float64(want)/128 }
	}
	tests := []struct {
		q    float64
		desc string
		ok   func(got int64) bool
	}{
		{0, "0", func(got int64) bool { return got == 0 }},
		{.5, "59.9s", near(int64(59900 * time.Millisecond))},
		{.97, "59.9s", near(int64(59900 * time.Millisecond))},
		{.98, "at least 1m", func(got int64) bool { return got >= histMax }},
		{1, "1h", func(got int64) bool { return got == int64(time.Hour) }},
	}
	for _, tt := range tests {
		if got := s.Quantile(tt.q); !tt.ok(got) {
			t.Errorf("q%g = %v, want %s", tt.q, time.Duration(got), tt.desc)
		}
	}
	// An interval of clamped values keeps the exact max.
	prev := h.Snapshot()
	h.Record(2 * histMax)
	if d := h.Snapshot().Sub(prev); d.N != 1 || d.Min != histMax || d.Max != int64(time.Hour) {
		t.Errorf("interval of one clamped value: n %d min %v max %v", d.N, time.Duration(d.Min), time.Duration(d.Max))
	}
}

// TestCount: Count is Snapshot's N, without allocating.
func TestCount(t *testing.T) {
	sh := NewSharded(3)
	for i := range 1000 {
		sh.Shard(i).Record(int64(i) * int64(100*time.Millisecond))
	}
	if got, want := sh.Count(), sh.Snapshot().N; got != want || got != 1000 {
		t.Fatalf("Count = %d, Snapshot().N = %d, want 1000", got, want)
	}
	if a := testing.AllocsPerRun(10, func() { sh.Count() }); a != 0 {
		t.Fatalf("Count allocates %v times", a)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i&0xffff) * 997)
	}
}
