package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// registry is who is connected: the sessions, the ticket nonces seen (a
// ticket opens one connection), and whether new sessions are refused.
// Each session is counted by the gateway's goroutine group from register
// to unregister. Safe for concurrent use.
//
// Lock order: mu, then session.mu (sessions are ended under mu).
type registry struct {
	life *lifecycle.Group
	max  int // sessions at most (0: no limit)

	mu       sync.Mutex        // guards sessions, byUser, used, revoked, draining
	sessions map[*session]bool // -> counted in byUser
	byUser   map[string]int    // admitted sessions per user
	used     rtm.Used          // tickets that opened a session
	revoked  rtm.Revoked       // revocations learnt, until the tickets issued before them expire
	draining bool
}

func newRegistry(life *lifecycle.Group, max int) *registry {
	return &registry{life: life, max: max, sessions: map[*session]bool{}, byUser: map[string]int{},
		used: rtm.Used{}, revoked: rtm.Revoked{}}
}

// Why register refuses a session.
var (
	errDraining = errors.New("server restart")
	errFull     = errors.New("too many connections on this gateway")
)

// register adds a session unless new ones are refused (errDraining),
// the gateway holds its most (errFull), or its ticket tk predates a
// revocation of its token or its user (chat.ErrTokenRevoked,
// chat.ErrAccountInactive): the ticket's rtm.connect was answered before
// the revocation, and the session must not outlive it.
func (r *registry) register(s *session, tk rtm.Ticket) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rv, ok := r.revoked.Stops(tk); ok {
		if rv.All {
			return chat.ErrAccountInactive
		}
		return chat.ErrTokenRevoked
	}
	if r.max > 0 && len(r.sessions) >= r.max {
		return errFull
	}
	if r.draining || !r.life.Enter() {
		return errDraining
	}
	r.sessions[s] = false
	s.g.met.connected()
	return nil
}

// admitUser counts s as one of its user's sessions, unless the user has
// max already (scaled by the user's class: limit.BotFactor for a bot,
// none for unlimited; 0: no limit).
func (r *registry) admitUser(s *session, max int) bool {
	switch s.class {
	case limit.Unlimited:
		max = 0
	case limit.Bot:
		max *= limit.BotFactor
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if max > 0 && r.byUser[s.user] >= max {
		return false
	}
	r.byUser[s.user]++
	r.sessions[s] = true
	return true
}

func (r *registry) unregister(s *session) {
	r.mu.Lock()
	if r.sessions[s] {
		if r.byUser[s.user]--; r.byUser[s.user] == 0 {
			delete(r.byUser, s.user)
		}
	}
	delete(r.sessions, s)
	r.mu.Unlock()
	s.ended()
	r.life.Leave()
}

// claim marks a ticket used; false when it already was.
func (r *registry) claim(t rtm.Ticket) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.used.Claim(t)
}

// revoke records rv, learnt at now, and calls fn for every session it
// covers, under mu: a session registers either before (and fn ends it)
// or after (and register refuses it).
func (r *registry) revoke(rv rtm.Revocation, now time.Time, fn func(*session)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked.Add(rv, now)
	for s := range r.sessions {
		if rv.Covers(s.user, s.token) {
			fn(s)
		}
	}
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

// queued is the number of bytes queued for the sessions' sockets.
func (r *registry) queued() int {
	n := 0
	r.each(func(s *session) { n += s.queued() })
	return n
}

// each calls fn for every session, under mu (fn may end the session).
func (r *registry) each(fn func(*session)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.sessions {
		fn(s)
	}
}

// drain refuses new sessions from now on and returns the sessions.
func (r *registry) drain() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.draining = true
	out := make([]*session, 0, len(r.sessions))
	for s := range r.sessions {
		out = append(out, s)
	}
	return out
}

// stop refuses new sessions from now on and calls fn for every session.
func (r *registry) stop(fn func(*session)) {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
	r.each(fn)
}

// expire forgets ticket nonces (their tickets have expired) and
// revocations no unexpired ticket predates, until ctx ends.
func (r *registry) expire(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			r.used.Forget(now)
			r.revoked.Forget(now)
			r.mu.Unlock()
		}
	}
}

// sweep pings the sessions that have been silent for every, and closes
// those silent for twice as long, until ctx ends: a peer that died
// without a word (a pulled cable, a frozen laptop) is noticed within
// three times every, without a timer or a deadline per read. Every
// client answers a ping with a pong (RFC 6455), so only a dead one stays
// silent.
func (r *registry) sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	ping := wsframe.Frame(wsframe.OpPing, nil)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.each(func(s *session) {
				switch silent := time.Duration(now.UnixNano() - s.heard.Load()); {
				case silent >= 2*every:
					s.end(wsframe.StatusPolicyViolation, "no answer to pings", false)
				case silent >= every:
					s.pushFrame(ping)
				}
			})
		}
	}
}
