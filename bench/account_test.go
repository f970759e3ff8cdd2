package bench

import (
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
			if got.Clean() != (tt.want.Lost == 0 && tt.want.Duplicated == 0 && tt.want.SeqRegressions == 0 && tt.want.Malformed == 0) {
				t.Errorf("Clean() = %v", got.Clean())
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

func TestBitset(t *testing.T) {
	var b bitset
	for _, i := range []uint64{0, 63, 64, 1000, 5} {
		if b.set(i) {
			t.Fatalf("%d already set", i)
		}
		if !b.set(i) || !b.has(i) {
			t.Fatalf("%d not set", i)
		}
	}
	if b.has(6) || b.has(100000) {
		t.Fatal("has unset bit")
	}
}
