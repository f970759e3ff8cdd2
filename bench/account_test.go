package bench

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// pubAt is a crafted publish: when it was sent and acknowledged (0: no
// answer, ackFailed: refused).
type pubAt struct{ sent, ack int64 }

func testChan(t *testing.T, pubs ...pubAt) *benchChan {
	t.Helper()
	ch := &benchChan{idx: 0, id: "C1"}
	for _, p := range pubs {
		_, rec := ch.pubs.alloc()
		rec.sent.Store(p.sent)
		rec.ack.Store(p.ack)
	}
	return ch
}

// delivery is (publish index, seq).
type delivery [2]uint64

func testReceiver(ch *benchChan, hello int64, ds ...delivery) receiver {
	st := &recvState{ch: ch}
	for _, d := range ds {
		st.receive(d[0], d[1])
	}
	return receiver{hello: hello, chans: []*recvState{st}}
}

func TestTally(t *testing.T) {
	three := []pubAt{{10, 15}, {20, 25}, {30, 35}} // each acked before the next is sent
	tests := []struct {
		name  string
		pubs  []pubAt
		hello int64
		got   []delivery
		want  Account
	}{
		{"all in order", three, 1, []delivery{{0, 1}, {1, 2}, {2, 3}},
			Account{Expected: 3, Received: 3}},
		{"one lost", three, 1, []delivery{{0, 1}, {2, 3}},
			Account{Expected: 3, Received: 2, Lost: 1}},
		{"nothing arrived", three, 1, nil,
			Account{Expected: 3, Lost: 3}},
		{"hello after the first publish", three, 12, []delivery{{0, 1}, {1, 2}, {2, 3}},
			Account{Expected: 2, Received: 3, Extra: 1}},
		{"hello at the send time is not before it", three, 20, []delivery{{1, 2}, {2, 3}},
			Account{Expected: 1, Received: 2, Extra: 1}},
		{"never connected", three, 0, nil, Account{}},
		{"unacknowledged but delivered", []pubAt{{10, 15}, {20, 0}, {30, 35}}, 1, []delivery{{0, 1}, {1, 2}, {2, 3}},
			Account{Expected: 2, Received: 3, Extra: 1}},
		{"refused and not delivered", []pubAt{{10, 15}, {20, ackFailed}, {30, 35}}, 1, []delivery{{0, 1}, {2, 2}},
			Account{Expected: 2, Received: 2}},
		{"same publish twice", three, 1, []delivery{{0, 1}, {1, 2}, {1, 2}, {2, 3}},
			Account{Expected: 3, Received: 3, Duplicated: 1}},
		{"same seq for two publishes", three, 1, []delivery{{0, 1}, {1, 1}, {2, 3}},
			Account{Expected: 3, Received: 2, Lost: 1, Duplicated: 1}},
		{"reordered, causally ordered publishes", three, 1, []delivery{{1, 2}, {0, 1}, {2, 3}},
			Account{Expected: 3, Received: 3, OutOfOrder: 1, SeqRegressions: 1}},
		{"reordered, concurrent publishes", []pubAt{{10, 25}, {20, 26}, {30, 35}}, 1, []delivery{{1, 2}, {0, 1}, {2, 3}},
			Account{Expected: 3, Received: 3, SeqRegressions: 1}},
		{"reordered twice behind the highest", three, 1, []delivery{{2, 3}, {0, 1}, {1, 2}},
			Account{Expected: 3, Received: 3, OutOfOrder: 2, SeqRegressions: 2}},
		// B (index 0) has the highest seq but was sent first; X was acked
		// before A was sent, yet arrives after A: out of order with A.
		{"out of order with the last sent, not the highest seq", []pubAt{{10, 1000}, {20, 40}, {60, 70}}, 1,
			[]delivery{{2, 5}, {0, 10}, {1, 3}},
			Account{Expected: 3, Received: 3, OutOfOrder: 1, SeqRegressions: 1}},
		{"behind the highest seq, acked after the last was sent", []pubAt{{10, 1000}, {20, 65}, {60, 70}}, 1,
			[]delivery{{2, 5}, {0, 10}, {1, 3}},
			Account{Expected: 3, Received: 3, SeqRegressions: 1}},
		{"index no publish has", three, 1, []delivery{{0, 1}, {1, 2}, {2, 3}, {7, 4}},
			Account{Expected: 3, Received: 3, Malformed: 1}},
		{"absurd seq", three, 1, []delivery{{0, 1}, {1, 1 << 40}, {2, 3}},
			Account{Expected: 3, Received: 2, Lost: 1, Malformed: 1}},
		{"seq zero", three, 1, []delivery{{0, 0}},
			Account{Expected: 3, Lost: 3, Malformed: 1}},
		{"unordered send times", []pubAt{{30, 35}, {10, 15}, {20, 25}}, 18, []delivery{{1, 1}, {2, 2}, {0, 3}},
			Account{Expected: 2, Received: 3, Extra: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := testChan(t, tt.pubs...)
			if !tt.want.Clean() {
				tt.want.AffectedSessions = 1 // the one receiver
			}
			got := tally([]*benchChan{ch}, []receiver{testReceiver(ch, tt.hello, tt.got...)})
			if got != tt.want {
				t.Errorf("tally =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestTallySessions: the expectation is per session, by its hello.
func TestTallySessions(t *testing.T) {
	ch := testChan(t, pubAt{10, 15}, pubAt{20, 25}, pubAt{30, 35})
	rs := []receiver{
		testReceiver(ch, 5, delivery{0, 1}, delivery{1, 2}, delivery{2, 3}),
		testReceiver(ch, 25, delivery{2, 3}),
		testReceiver(ch, 40),
	}
	got := tally([]*benchChan{ch}, rs)
	want := Account{Expected: 4, Received: 4}
	if got != want {
		t.Fatalf("tally = %+v, want %+v", got, want)
	}
}

func TestSeqMismatch(t *testing.T) {
	ch := testChan(t, pubAt{10, 15}, pubAt{20, 25})
	a := testReceiver(ch, 1, delivery{0, 1}, delivery{1, 2})
	b := testReceiver(ch, 1, delivery{0, 2}, delivery{1, 1})
	got := tally([]*benchChan{ch}, []receiver{a, b})
	if got.SeqMismatch != 2 || got.Clean() {
		t.Fatalf("tally = %+v, want 2 seq mismatches", got)
	}
}

// TestPubTableConcurrent: indexes are dense and unique, and records stay
// where they were while the table grows.
func TestPubTableConcurrent(t *testing.T) {
	var tab pubTable
	const workers, each = 8, 3000
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				i, rec := tab.alloc()
				rec.sent.Store(int64(i) + 1)
				if tab.rec(i) != rec {
					t.Errorf("rec(%d) moved", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := tab.n.Load(); n != workers*each {
		t.Fatalf("n = %d", n)
	}
	for i := range uint64(workers * each) {
		if got := tab.rec(i).sent.Load(); got != int64(i)+1 {
			t.Fatalf("rec(%d).sent = %d", i, got)
		}
	}
	if tab.rec(workers*each) != nil {
		t.Fatal("rec past the end is not nil")
	}
}

// TestAccountClean: each problem alone makes an account unclean; what is
// not a problem does not.
func TestAccountClean(t *testing.T) {
	tests := []struct {
		name string
		a    Account
		want bool
	}{
		{"empty", Account{}, true},
		{"all received", Account{Expected: 5, Received: 5}, true},
		{"extra", Account{Expected: 5, Received: 7, Extra: 2}, true},
		{"lost", Account{Lost: 1}, false},
		{"duplicated", Account{Duplicated: 1}, false},
		{"out of order", Account{OutOfOrder: 1, SeqRegressions: 1}, false},
		{"seq regression alone", Account{SeqRegressions: 1}, false},
		{"seq mismatch", Account{SeqMismatch: 1}, false},
		{"malformed", Account{Malformed: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Clean(); got != tt.want {
				t.Errorf("%+v.Clean() = %v, want %v", tt.a, got, tt.want)
			}
		})
	}
}

// TestLateAck: a regression whose publish is acknowledged only after the
// delivery is judged by its ack time once it is known.
func TestLateAck(t *testing.T) {
	tests := []struct {
		name     string
		ack      int64
		wantOOO  uint64
		wantPend int // undecided after the deliveries
	}{
		{"acked before the other was sent", 25, 1, 0},
		{"acked after the other was sent", 35, 0, 0},
		{"refused", ackFailed, 0, 0},
		{"never answered", 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := testChan(t, pubAt{10, 15}, pubAt{20, 0}, pubAt{30, 35})
			st := &recvState{ch: ch}
			st.receive(0, 1)
			st.receive(2, 3)
			st.receive(1, 2) // no answer yet: undecided
			if len(st.pending) != 1 {
				t.Fatalf("pending = %v, want the one regression", st.pending)
			}
			ch.pubs.rec(1).ack.Store(tt.ack)
			got := tally([]*benchChan{ch}, []receiver{{hello: 1, chans: []*recvState{st}}})
			if got.OutOfOrder != tt.wantOOO || got.SeqRegressions != 1 {
				t.Errorf("out of order %d, regressions %d; want %d, 1", got.OutOfOrder, got.SeqRegressions, tt.wantOOO)
			}
			if len(st.pending) != tt.wantPend {
				t.Errorf("pending after tally = %v, want %d", st.pending, tt.wantPend)
			}
		})
	}
}

// TestRecvStateMemory: what a session keeps per channel grows with the
// gaps and the undecided reorderings, not with the publishes.
func TestRecvStateMemory(t *testing.T) {
	const n = 20_000
	pubs := make([]pubAt, n)
	for i := range pubs {
		pubs[i] = pubAt{int64(10 * (i + 1)), int64(10*(i+1) + 15)} // acked after the next is sent
	}
	ch := testChan(t, pubs...)
	st := &recvState{ch: ch}
	// In pairs swapped (each the later publish first), with one loss.
	for i := uint64(0); i+1 < n; i += 2 {
		if i == 5000 {
			continue
		}
		st.receive(i+1, i+2)
		st.receive(i, i+1)
	}
	if len(st.got) != 2 || len(st.seqs) != 2 {
		t.Errorf("got %d spans, seqs %d spans; want 2 each (one gap)", len(st.got), len(st.seqs))
	}
	if st.regress != n/2-1 || st.ooo != 0 || len(st.pending) != 0 {
		t.Errorf("regressions %d, out of order %d, pending %d; want %d, 0, 0", st.regress, st.ooo, len(st.pending), n/2-1)
	}

	// Reorderings whose publishes are never answered stay pending, but
	// those answered meanwhile are let go.
	ch = testChan(t, pubs...)
	st = &recvState{ch: ch}
	for i := uint64(0); i+1 < n; i += 2 {
		ch.pubs.rec(i).ack.Store(0)
		st.receive(i+1, i+2)
		st.receive(i, i+1)
		ch.pubs.rec(i).ack.Store(int64(10*(i+1) + 15))
	}
	if st.regress != n/2 || cap(st.pending) > 2*minPending {
		t.Errorf("regressions %d, pending %d (cap %d); want %d, at most %d", st.regress, len(st.pending), cap(st.pending), n/2, 2*minPending)
	}
}

func TestSpanSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s spanSet
	want := map[uint64]bool{}
	for range 20_000 {
		i := rng.Uint64N(3000)
		if s.add(i) != want[i] {
			t.Fatalf("add(%d) = %v, want %v", i, !want[i], want[i])
		}
		want[i] = true
	}
	for i := range uint64(3100) {
		if s.has(i) != want[i] {
			t.Fatalf("has(%d) = %v, want %v", i, s.has(i), want[i])
		}
	}
	for k, sp := range s {
		if sp.lo >= sp.hi || (k > 0 && s[k-1].hi >= sp.lo) {
			t.Fatalf("spans not sorted, disjoint and apart: %v", s[max(k-1, 0):k+1])
		}
	}
}
