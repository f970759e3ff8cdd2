package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/transport/rtm"
)

// registry is who is connected: the sessions, the ticket nonces seen (a
// ticket opens one connection), and whether new sessions are refused.
// Each session is counted by the gateway's goroutine group from register
// to unregister. Safe for concurrent use.
//
// Lock order: mu, then session.mu (sessions are ended under mu).
type registry struct {
	life *lifecycle.Group

	mu       sync.Mutex // guards sessions, used, draining
	sessions map[*session]struct{}
	used     map[uint64]time.Time // ticket nonces seen, until they expire
	draining bool
}

func newRegistry(life *lifecycle.Group) *registry {
	return &registry{life: life, sessions: map[*session]struct{}{}, used: map[uint64]time.Time{}}
}

// register adds a session unless new ones are refused.
func (r *registry) register(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining || !r.life.Enter() {
		return false
	}
	r.sessions[s] = struct{}{}
	return true
}

func (r *registry) unregister(s *session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
	r.life.Leave()
}

// claim marks a ticket used; false when it already was.
func (r *registry) claim(t rtm.Ticket) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.used[t.Nonce]; ok {
		return false
	}
	r.used[t.Nonce] = t.Expires
	return true
}

// accepting reports whether new sessions are taken.
func (r *registry) accepting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.draining
}

// count is the number of sessions.
func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// each calls fn for every session, under mu (fn may end the session).
func (r *registry) each(fn func(*session)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.sessions {
		fn(s)
	}
}

// stop refuses new sessions from now on and calls fn for every session.
func (r *registry) stop(fn func(*session)) {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
	r.each(fn)
}

// expire forgets ticket nonces (their tickets have expired) until ctx
// ends.
func (r *registry) expire(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			for n, exp := range r.used {
				if now.After(exp) {
					delete(r.used, n)
				}
			}
			r.mu.Unlock()
		}
	}
}
