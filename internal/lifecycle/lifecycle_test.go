package lifecycle

import (
	"context"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCloseWaitsAndRefuses: Close cancels the context of running
// goroutines and returns after they end; afterwards Go starts nothing.
func TestCloseWaitsAndRefuses(t *testing.T) {
	g := NewGroup()
	var ended atomic.Int32
	for range 3 {
		if !g.Go(func(ctx context.Context) {
			<-ctx.Done()
			ended.Add(1)
		}) {
			t.Fatal("an open group refused a goroutine")
		}
	}
	if g.Closing() {
		t.Fatal("closing before Close")
	}
	g.Close()
	if n := ended.Load(); n != 3 {
		t.Fatalf("Close returned with %d of 3 goroutines ended", 3-n)
	}
	if g.Go(func(context.Context) { t.Error("started after Close") }) {
		t.Fatal("Go after Close reported a start")
	}
	if !g.Closing() {
		t.Fatal("not closing after Close")
	}
	g.Close() // idempotent
}

// TestGoFromGroupGoroutine: a goroutine of the group may start another
// while the group is open (a load starting a reply, say).
func TestGoFromGroupGoroutine(t *testing.T) {
	g := NewGroup()
	started := make(chan bool, 1)
	g.Go(func(ctx context.Context) {
		started <- g.Go(func(ctx context.Context) { <-ctx.Done() })
	})
	if !<-started {
		t.Fatal("nested Go refused while open")
	}
	g.Close()
}

// TestEnterLeave: Close waits for entered work; Enter fails once closing.
func TestEnterLeave(t *testing.T) {
	g := NewGroup()
	if !g.Enter() {
		t.Fatal("Enter refused while open")
	}
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	<-g.Done()
	select {
	case <-closed:
		t.Fatal("Close returned before Leave")
	default:
	}
	if g.Enter() {
		t.Fatal("Enter accepted while closing")
	}
	g.Leave()
	<-closed
}
