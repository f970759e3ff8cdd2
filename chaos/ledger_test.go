package chaos

import (
	"testing"
	"time"
)

func TestLedgerCatchesEveryKindOfFault(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		got  []uint64 // what the subscriber received on C1, in order
		want Report
	}{
		{"perfect", []uint64{1, 2, 3, 4}, Report{}},
		{"lost at the end", []uint64{1, 2, 3}, Report{Lost: 1}},
		{"gap", []uint64{1, 2, 4}, Report{Lost: 1, Gaps: 1}},
		{"duplicate", []uint64{1, 2, 2, 3, 4}, Report{Duplicated: 1}},
		{"reordered", []uint64{1, 3, 2, 4}, Report{Reordered: 1, Gaps: 1}},
		{"joined late", []uint64{3, 4}, Report{Lost: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger()
			for seq := uint64(1); seq <= 4; seq++ {
				l.Acked("C1", seq, "m", now, now)
			}
			for _, seq := range tt.got {
				l.Delivered("s1", "C1", seq, "m")
			}
			r := l.Check()
			if r.Lost != tt.want.Lost || r.Gaps != tt.want.Gaps || r.Duplicated != tt.want.Duplicated || r.Reordered != tt.want.Reordered {
				t.Fatalf("report %v, want lost %d gaps %d dup %d reordered %d", r, tt.want.Lost, tt.want.Gaps, tt.want.Duplicated, tt.want.Reordered)
			}
			if r.OK() != (tt.name == "perfect") {
				t.Fatalf("OK() = %v for %s", r.OK(), tt.name)
			}
		})
	}
}

func TestLedgerTextMismatchAndUnackedGap(t *testing.T) {
	l := NewLedger()
	l.Acked("C1", 1, "a", time.Now(), time.Now())
	l.Acked("C1", 3, "c", time.Now(), time.Now()) // seq 2 committed but its ack was lost
	l.Delivered("s1", "C1", 1, "a")
	l.Delivered("s1", "C1", 2, "b")
	l.Delivered("s1", "C1", 3, "not c")
	r := l.Check()
	if r.Mismatched != 1 || r.Lost != 0 || r.Gaps != 0 || r.OK() {
		t.Fatalf("report %v", r)
	}
	if last := l.Last("s1"); last["C1"] != 3 {
		t.Fatalf("Last = %v", last)
	}
}

func TestFirstAckAfter(t *testing.T) {
	l := NewLedger()
	t0 := time.Unix(100, 0)
	for i := range 5 {
		sent := t0.Add(time.Duration(i) * time.Second)
		l.Acked("C1", uint64(i+1), "m", sent, sent.Add(100*time.Millisecond))
	}
	// The publish sent at 1s and acked at 1.1s does not count: it was
	// sent before the event at 1.05s.
	if at, ok := l.FirstAckAfter("C1", t0.Add(1050*time.Millisecond)); !ok || !at.Equal(t0.Add(2100*time.Millisecond)) {
		t.Fatalf("FirstAckAfter = %v %v", at, ok)
	}
	if _, ok := l.FirstAckAfter("C1", t0.Add(time.Hour)); ok {
		t.Fatal("an ack after the last one")
	}
}

func TestLagging(t *testing.T) {
	l := NewLedger()
	t0 := time.Unix(100, 0)
	l.Acked("C1", 1, "a", t0.Add(-time.Second), t0)
	l.Acked("C1", 2, "b", t0.Add(time.Second), t0.Add(2*time.Second))
	l.Acked("C2", 1, "x", t0.Add(-time.Second), t0) // nothing sent after t0 on C2
	l.Delivered("s1", "C1", 1, "a")
	l.Delivered("s2", "C1", 1, "a")
	l.Delivered("s2", "C1", 2, "b")
	if got := l.Lagging(t0); len(got) != 1 || got[0] != "s1 C1 (at 1, wants 2)" {
		t.Fatalf("Lagging = %q", got)
	}
	l.Delivered("s1", "C1", 2, "b")
	if got := l.Lagging(t0); len(got) != 0 {
		t.Fatalf("Lagging after catching up = %q", got)
	}
}

func TestAckLatency(t *testing.T) {
	l := NewLedger()
	t0 := time.Unix(100, 0)
	for i := range 100 {
		sent := t0.Add(time.Duration(i) * time.Millisecond)
		l.Acked("C1", uint64(i+1), "m", sent, sent.Add(time.Duration(i+1)*time.Millisecond))
	}
	if p50, p99 := l.AckLatency(t0, t0.Add(time.Second)); p50 != 51*time.Millisecond || p99 != 100*time.Millisecond {
		t.Fatalf("p50 %v p99 %v", p50, p99)
	}
	if p50, p99 := l.AckLatency(t0.Add(time.Hour), t0.Add(2*time.Hour)); p50 != 0 || p99 != 0 {
		t.Fatalf("no acks: p50 %v p99 %v", p50, p99)
	}
}
