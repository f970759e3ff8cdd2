package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("node-%d", i)
	}
	return out
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("C%09d", i)
	}
	return out
}

func TestEmptyRing(t *testing.T) {
	var nilRing *Ring
	if got := nilRing.Owner("C1"); got != "" {
		t.Fatalf("nil ring owner = %q", got)
	}
	if got := New(nil, 0).Owner("C1"); got != "" {
		t.Fatalf("empty ring owner = %q", got)
	}
}

func TestSingleNodeOwnsAll(t *testing.T) {
	r := New([]string{"a"}, 0)
	for _, k := range keys(100) {
		if r.Owner(k) != "a" {
			t.Fatalf("owner of %s = %q", k, r.Owner(k))
		}
	}
}

// TestBalance: with 10 nodes at the default virtual-node count, the most
// loaded node owns at most 1.15x the mean share, measured both as hash
// space and as real keys.
func TestBalance(t *testing.T) {
	r := New(names(10), DefaultVNodes)
	mean := 1.0 / 10
	maxShare := 0.0
	for _, s := range r.Shares() {
		maxShare = math.Max(maxShare, s)
	}
	if ratio := maxShare / mean; ratio > 1.15 {
		t.Fatalf("max/mean hash-space share = %.3f, want <= 1.15", ratio)
	}
	counts := map[string]int{}
	ks := keys(200_000)
	for _, k := range ks {
		counts[r.Owner(k)]++
	}
	maxCount := 0
	for _, c := range counts {
		maxCount = max(maxCount, c)
	}
	if ratio := float64(maxCount) / (float64(len(ks)) / 10); ratio > 1.15 {
		t.Fatalf("max/mean key share = %.3f, want <= 1.15 (%v)", ratio, counts)
	}
}

// TestMovement: adding a node to N moves about 1/(N+1) of the keys, all of
// them to the new node. Tolerance: within 25% of the ideal fraction.
func TestMovement(t *testing.T) {
	ks := keys(100_000)
	for _, n := range []int{1, 3, 5, 10, 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			before := New(names(n), 0)
			after := New(append(names(n), "newcomer"), 0)
			moved := 0
			for _, k := range ks {
				a, b := before.Owner(k), after.Owner(k)
				if a != b {
					moved++
					if b != "newcomer" {
						t.Fatalf("key %s moved %s -> %s, not to the new node", k, a, b)
					}
				}
			}
			got := float64(moved) / float64(len(ks))
			want := 1.0 / float64(n+1)
			if math.Abs(got-want) > 0.25*want {
				t.Fatalf("moved %.4f of keys, want %.4f +-25%%", got, want)
			}
		})
	}
}

// TestDeterminism: the same member set gives the same owners whatever the
// order the members are given in (the join order).
func TestDeterminism(t *testing.T) {
	ns := names(12)
	ref := New(ns, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := append([]string(nil), ns...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		shuffled = append(shuffled, shuffled[0]) // duplicates do not matter either
		r := New(shuffled, 0)
		for _, k := range keys(5000) {
			if ref.Owner(k) != r.Owner(k) {
				t.Fatalf("owner of %s differs with order %v", k, shuffled)
			}
		}
	}
}

func TestRemovalMovesOnlyTheRemovedNodesKeys(t *testing.T) {
	full := New(names(8), 0)
	less := New(append(names(3), names(8)[4:]...), 0) // node-3 gone
	for _, k := range keys(20_000) {
		if a := full.Owner(k); a != "node-3" && less.Owner(k) != a {
			t.Fatalf("key %s moved from %s although its owner stayed", k, a)
		}
	}
}

func TestHas(t *testing.T) {
	r := New([]string{"b", "a"}, 4)
	if !r.Has("a") || !r.Has("b") || r.Has("c") {
		t.Fatalf("Has wrong for %v", r)
	}
	var nilRing *Ring
	if nilRing.Has("a") {
		t.Fatal("nil ring has a member")
	}
}

func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := New(names(n), 0)
			ks := keys(1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				_ = r.Owner(ks[i&1023])
			}
		})
	}
}
