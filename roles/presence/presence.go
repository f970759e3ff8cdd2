package presence

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Config configures a Server.
type Config struct {
	Self   string
	View   func() *ring.View
	Logger *slog.Logger
	// Settle is how long a new owner waits for gateways to re-report
	// before answering watches. Default 2s.
	Settle time.Duration
	// LeaseTTL drops a gateway's sessions when it has sent nothing for
	// this long. Default 15s (gateways renew every LeaseTTL/3).
	LeaseTTL time.Duration
}

// Server is the presence role. Safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	seen *ring.View // the last view Run acted on (from New on)
	life *lifecycle.Group

	mu          sync.Mutex // guards everything below
	users       map[string]*entry
	gws         map[string]*gateway
	watching    map[*internode.Link]map[string]struct{}
	settleUntil time.Time
	unsynced    map[string]bool // gateways yet to re-report after a view change
	queued      []func()        // watch replies waiting for the settle
	// dropped holds the open links of gateways whose sessions were
	// dropped: if the gateway was only thought dead (a stall, a false
	// suspicion), it is asked to report again as soon as it is back in
	// the view or sends anything.
	dropped map[*internode.Link]struct{}
}

// entry is one tracked user.
type entry struct {
	gws      []gwCount // sessions per gateway
	away     bool      // set away by the user
	active   bool      // the status subscribers were last told
	last     int64     // unix seconds of the last session change
	watchers []*internode.Link
	movedAt  int64 // unix nanos since this node stopped owning the user; 0 while it owns
	setAt    int64 // unix nanos of the user's last SetAway; the entry is kept rtm.UserDataAge after it
}

type gwCount struct {
	name  string
	n     int32
	round uint64 // the gateway's resync round of the report
}

type gateway struct {
	link  *internode.Link // the latest link the gateway reported on
	lease time.Time
	// The gateway's last OpSynced: its counts from earlier rounds are
	// stale (sessions that ended while their user was owned elsewhere),
	// but only once our ring agrees with the one it synced against.
	syncRound uint64
	syncRing  []string
	applied   bool
}

// New makes a Server; Run starts its housekeeping.
func New(cfg Config) (*Server, error) {
	if cfg.View == nil || cfg.Self == "" {
		return nil, errors.New("presence: Self and View are required")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 15 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("role", "presence"), seen: cfg.View(), life: lifecycle.NewGroup(),
		users: map[string]*entry{}, gws: map[string]*gateway{}, watching: map[*internode.Link]map[string]struct{}{},
		dropped: map[*internode.Link]struct{}{}}
	// A node that just started knows nobody's sessions yet: it settles
	// like one that just gained users, even before its view shows a
	// gateway (gossip may not have told it of any yet).
	s.startSettle(s.seen, true)
	return s, nil
}

// startSettle begins a settle period: watches wait until every gateway
// in v re-reported, or Settle passed. With no gateway there is nothing to
// wait for, unless the node just started (fresh). s.mu must be held (or
// s unshared).
func (s *Server) startSettle(v *ring.View, fresh bool) {
	s.unsynced = map[string]bool{}
	for _, m := range v.WithRole(ring.RoleGateway) {
		s.unsynced[m.Name] = true
	}
	if len(s.unsynced) == 0 && !fresh {
		s.settled()
		return
	}
	s.settleUntil = time.Now().Add(s.cfg.Settle)
}

func (e *entry) sessions() int32 {
	var n int32
	for _, g := range e.gws {
		n += g.n
	}
	return n
}

func (e *entry) isActive() bool { return !e.away && e.sessions() > 0 }

// Run follows view changes and expires leases until ctx ends or Close.
func (s *Server) Run(ctx context.Context) error {
	s.life.Go(s.loop)
	s.life.Wait(ctx)
	return s.Close()
}

// Close stops the housekeeping and waits for it. Safe to call more than
// once, with or without Run.
func (s *Server) Close() error {
	s.life.Close()
	return nil
}

func (s *Server) loop(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.seen.Changed():
			s.seen = s.cfg.View()
			s.viewChanged(s.seen)
		case now := <-tick.C:
			s.expire(now)
		}
	}
}

// viewChanged drops gateways that left, forgets users moved elsewhere,
// and starts a settle period for the users that may have moved here.
func (s *Server) viewChanged(v *ring.View) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.gws {
		if m, ok := v.Members[name]; !ok || !m.Has(ring.RoleGateway) {
			s.dropGateway(name)
		}
	}
	for l := range s.dropped {
		if m, ok := v.Members[l.Peer()]; ok && m.Has(ring.RoleGateway) {
			s.askResync(l)
		}
	}
	// Users the ring moved away are kept for a while (a view may be an
	// intermediate one, and the ring may move them back) and dropped by
	// expire once they stayed elsewhere for a lease.
	pr := v.Ring(ring.RolePresence)
	now := time.Now().UnixNano()
	for u, e := range s.users {
		switch {
		case pr.Owner(u) == s.cfg.Self:
			e.movedAt = 0
		case e.movedAt == 0:
			e.movedAt = now
		}
	}
	// The settle starts before the gateways' resyncs are applied: the
	// counts they drop must not be announced before the others re-report.
	s.startSettle(v, false)
	for _, g := range s.gws {
		s.applySync(g, v)
	}
}

// applySync drops the counts a gateway did not refresh in its last resync
// round, once our presence ring is the one it synced against (before,
// its silence about a user may only mean it sent that user elsewhere).
// s.mu must be held.
func (s *Server) applySync(g *gateway, v *ring.View) {
	pr := v.Ring(ring.RolePresence)
	if g.applied || g.syncRound == 0 || !slices.Equal(g.syncRing, pr.Nodes()) {
		return
	}
	g.applied = true
	for u, e := range s.users {
		if pr.Owner(u) != s.cfg.Self {
			continue
		}
		for i, c := range e.gws {
			if s.gws[c.name] == g && c.round < g.syncRound {
				e.gws = slices.Delete(e.gws, i, i+1)
				s.update(u, e)
				break
			}
		}
	}
}

// owns reports whether this node owns u in the current view.
func (s *Server) owns(u string) bool {
	return s.cfg.View().Ring(ring.RolePresence).Owner(u) == s.cfg.Self
}

// dropGateway forgets a gateway's sessions. s.mu must be held.
func (s *Server) dropGateway(name string) {
	if l := s.gws[name].link; l != nil {
		s.dropped[l] = struct{}{}
	}
	delete(s.gws, name)
	for u, e := range s.users {
		if i := slices.IndexFunc(e.gws, func(g gwCount) bool { return g.name == name }); i >= 0 {
			e.gws = slices.Delete(e.gws, i, i+1)
			e.last = time.Now().Unix()
			s.update(u, e)
		}
	}
}

func (s *Server) settling() bool { return !s.settleUntil.IsZero() }

// settled ends a settle period: queued watches are answered and every
// status that changed meanwhile is announced. s.mu must be held.
func (s *Server) settled() {
	s.settleUntil = time.Time{}
	s.unsynced = nil
	q := s.queued
	s.queued = nil
	for _, f := range q {
		f()
	}
	for u, e := range s.users {
		s.update(u, e)
	}
}

func (s *Server) expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settling() && now.After(s.settleUntil) {
		s.settled()
	}
	gone := now.Add(-s.cfg.LeaseTTL).UnixNano()
	for u, e := range s.users {
		if e.movedAt != 0 && e.movedAt < gone {
			for _, l := range e.watchers {
				delete(s.watching[l], u)
			}
			delete(s.users, u)
			continue
		}
		if e.setAt != 0 && !e.held(now) {
			e.setAt = 0
			s.update(u, e) // forgotten now if nothing else refers to it
		}
	}
	for name, g := range s.gws {
		if now.Sub(g.lease) > s.cfg.LeaseTTL {
			s.log.Warn("gateway lease expired: dropping its sessions", "gateway", name)
			s.dropGateway(name)
		}
	}
}

// update announces e's status to its watchers if it changed (not while
// settling) and forgets e once nothing refers to it. s.mu must be held.
func (s *Server) update(u string, e *entry) {
	if now := e.isActive(); now != e.active && !s.settling() {
		e.active = now
		ev := internode.PresenceChange{User: u, Active: now}
		for _, l := range e.watchers {
			internode.Send(l, ev)
		}
	}
	if len(e.gws) == 0 && len(e.watchers) == 0 && !e.away && !e.held(time.Now()) {
		delete(s.users, u)
	}
}

// held reports whether e is kept for its last SetAway: a gateway may
// still report the user with the away flag of a ticket issued before it
// (up to rtm.UserDataAge old), and must be corrected (report).
func (e *entry) held(now time.Time) bool {
	return e.setAt != 0 && now.UnixNano()-e.setAt < int64(rtm.UserDataAge)
}

// get returns u's entry, creating it. s.mu must be held.
func (s *Server) get(u string) *entry {
	e := s.users[u]
	if e == nil {
		e = &entry{}
		s.users[u] = e
	}
	return e
}

// Tracked is the number of users this node holds state for.
func (s *Server) Tracked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

var _ internode.PresenceServer = (*Server)(nil)

// touch notes that gateway l.Peer() sent something: its lease holds,
// and if its sessions were dropped while it is in fact alive, it is
// asked to report again. Every request starts with it. s.mu must be
// held.
func (s *Server) touch(l *internode.Link) {
	if _, ok := s.dropped[l]; ok {
		s.askResync(l)
	}
	if g := s.gws[l.Peer()]; g != nil {
		g.lease = time.Now()
	}
}

// Report sets gateway l.Peer()'s session count for a user.
func (s *Server) Report(l *internode.Link, m internode.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(l)
	s.report(l, m.User, int32(m.Sessions), m.Away, m.Round)
}

// Lease renews gateway l.Peer()'s reports.
func (s *Server) Lease(l *internode.Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(l)
	s.lease(l)
}

// Synced records that gateway l.Peer() re-reported everything.
func (s *Server) Synced(l *internode.Link, m internode.Synced) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(l)
	s.lease(l)
	g := s.gws[l.Peer()]
	if m.Round >= g.syncRound {
		g.syncRound, g.syncRing, g.applied = m.Round, m.Ring, false
		s.applySync(g, s.cfg.View())
	}
	if s.settling() {
		delete(s.unsynced, l.Peer())
		if len(s.unsynced) == 0 {
			s.settled()
		}
	}
}

// Watch subscribes the link to users' presence and answers their
// states; while the node settles, the answer waits.
func (s *Server) Watch(r internode.Request, m internode.Watch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := r.Link
	s.touch(l)
	answer := func() {
		for _, u := range m.Users {
			if !s.owns(u) {
				// The gateway's ring is ahead of or behind ours: it
				// asks again when the rings agree.
				internode.Answer(r, internode.WatchReply{Err: string(chat.ErrWrongOwner)})
				return
			}
		}
		out := make([]bool, len(m.Users))
		for i, u := range m.Users {
			e := s.get(u)
			if !slices.Contains(e.watchers, l) {
				e.watchers = append(e.watchers, l)
			}
			set := s.watching[l]
			if set == nil {
				set = map[string]struct{}{}
				s.watching[l] = set
			}
			set[u] = struct{}{}
			e.active = e.isActive()
			out[i] = e.active
		}
		internode.Answer(r, internode.WatchReply{Active: out})
	}
	if s.settling() {
		s.queued = append(s.queued, answer)
	} else {
		answer()
	}
}

// Unwatch ends watches made on l.
func (s *Server) Unwatch(l *internode.Link, m internode.Unwatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(l)
	for _, u := range m.Users {
		delete(s.watching[l], u)
		if e := s.users[u]; e != nil {
			e.watchers = slices.DeleteFunc(e.watchers, func(x *internode.Link) bool { return x == l })
			s.update(u, e)
		}
	}
}

// Query answers users' states (for the first, the details too).
func (s *Server) Query(r internode.Request, m internode.Query) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(r.Link)
	rep := internode.QueryReply{Active: make([]bool, len(m.Users))}
	for i, u := range m.Users {
		if e := s.users[u]; e != nil {
			rep.Active[i] = e.isActive()
			if i == 0 {
				rep.Connections, rep.LastActive, rep.ManualAway = uint32(e.sessions()), e.last, e.away
			}
		}
	}
	internode.Answer(r, rep)
}

// SetAway records a user's away flag and tells their gateways.
func (s *Server) SetAway(r internode.Request, m internode.SetAway) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(r.Link)
	e := s.get(m.User)
	e.away, e.setAt = m.Away, time.Now().UnixNano()
	// The user's gateways keep the flag too, so that a new owner
	// rebuilds it from their reports.
	forward(s, m.User, internode.AwayChange{User: m.User, Away: m.Away})
	s.update(m.User, e)
	internode.Answer(r, internode.SetAwayReply{})
}

// UserEvent forwards an event to every gateway with sessions of the user.
func (s *Server) UserEvent(l *internode.Link, m internode.UserEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(l)
	forward(s, m.User, internode.UserNotice(m))
}

// forward sends ev to every gateway holding sessions of u. s.mu must be
// held.
func forward[M internode.Message](s *Server, u string, ev M) {
	if e := s.users[u]; e != nil {
		for _, g := range e.gws {
			if gw := s.gws[g.name]; gw != nil && gw.link != nil {
				internode.Send(gw.link, ev)
			}
		}
	}
}

// lease records that gateway l.Peer() is alive and reachable on l.
// s.mu must be held.
func (s *Server) lease(l *internode.Link) {
	g := s.gws[l.Peer()]
	if g == nil {
		g = &gateway{}
		s.gws[l.Peer()] = g
	}
	g.link, g.lease = l, time.Now()
}

// report sets gateway l.Peer()'s session count for u. s.mu must be held.
func (s *Server) report(l *internode.Link, u string, n int32, away bool, round uint64) {
	s.lease(l)
	e, known := s.users[u]
	if !known {
		// A new entry (first session, or a rebuild after the ring moved
		// u here) takes the away flag the gateway knows; afterwards
		// OpSetAway is the authority.
		e = &entry{away: away}
		s.users[u] = e
	} else if n > 0 && away != e.away {
		// The gateway took the flag from the rtm.connect ticket of a new
		// session, issued before the user's last SetAway (it is up to
		// rtm.UserDataAge old, and the entry is kept that long after
		// one): it is told the flag, as on a SetAway.
		internode.Send(l, internode.AwayChange{User: u, Away: e.away})
	}
	name := l.Peer()
	i := slices.IndexFunc(e.gws, func(g gwCount) bool { return g.name == name })
	switch {
	case i >= 0 && n > 0:
		e.gws[i].n, e.gws[i].round = n, round
	case i >= 0:
		e.gws = slices.Delete(e.gws, i, i+1)
	case n > 0:
		e.gws = append(e.gws, gwCount{name, n, round})
	}
	e.last = time.Now().Unix()
	s.update(u, e)
}

// LinkClosed forgets the watches made on l. Session counts stay: the
// gateway re-reports on a new link, and its lease covers the gap.
func (s *Server) LinkClosed(l *internode.Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u := range s.watching[l] {
		if e := s.users[u]; e != nil {
			e.watchers = slices.DeleteFunc(e.watchers, func(x *internode.Link) bool { return x == l })
			s.update(u, e)
		}
	}
	delete(s.watching, l)
	delete(s.dropped, l) // the gateway reports everything again on a new link
	if g := s.gws[l.Peer()]; g != nil && g.link == l {
		g.link = nil
	}
}

// askResync asks the gateway on l, whose sessions were dropped, to
// report every user again. s.mu must be held.
func (s *Server) askResync(l *internode.Link) {
	delete(s.dropped, l)
	s.log.Info("a dropped gateway is back: asking it to report again", "gateway", l.Peer())
	internode.Send(l, internode.Resync{})
}
