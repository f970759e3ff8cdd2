// Package lifecycle gives a component ownership of its goroutines and a
// shutdown state, the way nats-server starts every goroutine through one
// tracked helper and serf keeps a shutdown flag: a Group starts
// goroutines only while it is open, hands them a context that ends when
// it closes, and Close waits for every one of them.
//
// A component keeps one Group, starts each of its goroutines with Go, and
// calls Close from its own idempotent Close after it has stopped
// accepting work. The package knows nothing of what the goroutines do.
package lifecycle

import (
	"context"
	"sync"
)

// Group is the goroutines of one component. Safe for concurrent use.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and the wait group's Add against Wait
	closed bool
	wg     sync.WaitGroup
}

// NewGroup returns an open Group.
func NewGroup() *Group {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{ctx: ctx, cancel: cancel}
}

// Go runs f on a new goroutine that Close waits for, with a context that
// ends when the group closes. Once the group is closing it starts nothing
// and returns false.
func (g *Group) Go(f func(ctx context.Context)) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		f(g.ctx)
	}()
	return true
}

// Enter counts work that runs on a goroutine the group did not start
// (an HTTP handler that hands a connection over, say) until Leave; Close
// waits for it as for the group's own goroutines. False, and nothing
// counted, once the group is closing.
func (g *Group) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

// Leave ends work counted by Enter.
func (g *Group) Leave() { g.wg.Done() }

// Context ends when the group starts closing.
func (g *Group) Context() context.Context { return g.ctx }

// Done is closed when the group starts closing.
func (g *Group) Done() <-chan struct{} { return g.ctx.Done() }

// Wait blocks until ctx ends or the group starts closing: the body of a
// component's Run, which then calls the component's Close.
func (g *Group) Wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-g.ctx.Done():
	}
}

// Closing reports whether Close has been called.
func (g *Group) Closing() bool { return g.ctx.Err() != nil }

// Close stops the group from starting goroutines, cancels their context
// and waits for them all. Safe to call more than once and from several
// goroutines (each returns once the goroutines are gone), but not from a
// goroutine of the group.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}
