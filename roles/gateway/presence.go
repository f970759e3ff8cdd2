package gateway

import (
	"context"
	"slices"
	"time"

	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// MaxPresenceIDs bounds one presence_sub or presence_query (Slack: 500).
const MaxPresenceIDs = 500

// leaseEvery is how often the gateway renews its presence lease.
const leaseEvery = 5 * time.Second

// localUser is a user with sessions on this gateway. Guarded by presMu.
type localUser struct {
	sessions []*session
	away     bool // set away (from the store, then from events)
}

// watch is one user that local sessions subscribed to with presence_sub.
// One per (user, presence node), however many sessions watch it.
type watch struct {
	sessions []*session
	link     *internode.Client // where the watch is registered
	known    bool              // a state has been received
	active   bool
}

// userUp counts a new session of s.user and reports it. The returned
// channel is closed once the user's presence node has the report (or
// there is no presence node to tell): from then on, user events such as
// channel_joined reach this session.
func (g *Gateway) userUp(s *session, away bool) <-chan struct{} {
	reported := make(chan struct{})
	g.presMu.Lock()
	u := g.users[s.user]
	if u == nil {
		u = &localUser{away: away}
		g.users[s.user] = u
	}
	u.sessions = append(u.sessions, s)
	g.presDirty[s.user] = struct{}{}
	g.presWaits[s.user] = append(g.presWaits[s.user], reported)
	g.presMu.Unlock()
	g.wakePresence()
	return reported
}

// userDown uncounts a closed session and drops its watches.
func (g *Gateway) userDown(s *session) {
	g.presMu.Lock()
	if u := g.users[s.user]; u != nil {
		u.sessions = slices.DeleteFunc(u.sessions, func(x *session) bool { return x == s })
		g.presDirty[s.user] = struct{}{}
	}
	for _, id := range s.watched {
		g.unwatchLocked(s, id)
	}
	s.watched = nil
	g.presMu.Unlock()
	g.wakePresence()
}

func (g *Gateway) wakePresence() {
	select {
	case g.presWake <- struct{}{}:
	default:
	}
}

// setWatches replaces the users session s watches (presence_sub) and
// sends it the known state of each; the others follow when known.
func (g *Gateway) setWatches(s *session, ids []string) {
	g.presMu.Lock()
	old := s.watched
	s.watched = ids
	for _, id := range old {
		if !slices.Contains(ids, id) {
			g.unwatchLocked(s, id)
		}
	}
	var known [][]byte // JSON payloads, pushed after presMu is released
	for _, id := range ids {
		if slices.Contains(old, id) {
			continue
		}
		w := g.watches[id]
		if w == nil {
			w = &watch{}
			g.watches[id] = w
			g.watchDirty[id] = struct{}{}
		}
		w.sessions = append(w.sessions, s)
		if w.known {
			known = append(known, rtm.PresenceChange(id, cluster.PresenceName(w.active)))
		}
	}
	g.presMu.Unlock()
	for _, f := range known {
		s.push(f)
	}
	g.wakePresence()
}

// unwatchLocked removes s from id's watchers; the last one out ends the
// watch at the presence node. presMu must be held.
func (g *Gateway) unwatchLocked(s *session, id string) {
	w := g.watches[id]
	if w == nil {
		return
	}
	w.sessions = slices.DeleteFunc(w.sessions, func(x *session) bool { return x == s })
	if len(w.sessions) > 0 {
		return
	}
	delete(g.watches, id)
	delete(g.watchDirty, id)
	if w.link != nil {
		internode.Send(w.link.Link, internode.Unwatch{Users: []string{id}})
	}
}

// presenceLoop is the one goroutine that talks to presence nodes: it
// reports session counts, registers watches, renews the lease, and after
// the presence ring changes re-reports everything and says so.
func (g *Gateway) presenceLoop(ctx context.Context) {
	lease := time.NewTicker(leaseEvery)
	defer lease.Stop()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	v := g.cfg.View()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.presWake:
		case <-retry.C:
		case <-lease.C:
			toPresenceNodes(ctx, g, v, internode.Lease{})
		case <-v.Changed():
			nv := g.cfg.View()
			moved := !slices.Equal(nv.Ring(ring.RolePresence).Nodes(), v.Ring(ring.RolePresence).Nodes())
			v = nv
			if moved {
				g.presMu.Lock()
				g.presRound++
				for u := range g.users {
					g.presDirty[u] = struct{}{}
				}
				for id, w := range g.watches {
					w.link = nil
					g.watchDirty[id] = struct{}{}
				}
				g.presMu.Unlock()
				if !g.flushPresence(ctx, v) {
					retry.Reset(200 * time.Millisecond)
				}
				g.presMu.Lock()
				round := g.presRound
				g.presMu.Unlock()
				toPresenceNodes(ctx, g, v, internode.Synced{Round: round, Ring: v.Ring(ring.RolePresence).Nodes()})
				continue
			}
		}
		if !g.flushPresence(ctx, v) {
			retry.Reset(200 * time.Millisecond)
		}
	}
}

// toPresenceNodes sends f to every presence node in v.
func toPresenceNodes[M internode.Message](ctx context.Context, g *Gateway, v *ring.View, f M) {
	for _, m := range v.WithRole(ring.RolePresence) {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if l, err := g.pool.Get(dctx, m.Name, m.Internode); err == nil {
			internode.Send(l.Link, f)
		}
		cancel()
	}
}

// presenceLinks finds the links to users' presence nodes during one
// flush: a resync touches every user, but only a few presence nodes, so
// each node's link is looked up (or dialed) once, and a node that cannot
// be reached is tried once.
type presenceLinks struct {
	g     *Gateway
	ctx   context.Context
	v     *ring.View
	links map[string]*internode.Client // by node name; nil: unreachable
}

// of returns the link to the node that owns user, or nil.
func (p *presenceLinks) of(user string) *internode.Client {
	m, ok := p.v.Owner(ring.RolePresence, user)
	if !ok {
		return nil
	}
	if l, seen := p.links[m.Name]; seen {
		return l
	}
	dctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	l, err := p.g.pool.Get(dctx, m.Name, m.Internode)
	if err != nil {
		l = nil
	}
	p.links[m.Name] = l
	return l
}

type report struct {
	n    int
	away bool
}

// flushPresence sends the pending reports and watches; false when some
// could not be sent (they stay pending).
func (g *Gateway) flushPresence(ctx context.Context, v *ring.View) bool {
	g.presMu.Lock()
	reports := make(map[string]report, len(g.presDirty))
	for id := range g.presDirty {
		if u := g.users[id]; u != nil {
			reports[id] = report{len(u.sessions), u.away}
		} else {
			reports[id] = report{}
		}
	}
	clear(g.presDirty)
	var waits map[string][]chan struct{} // only starting sessions wait
	if len(g.presWaits) > 0 {
		waits, g.presWaits = g.presWaits, map[string][]chan struct{}{}
	}
	var watchIDs []string
	for id := range g.watchDirty {
		watchIDs = append(watchIDs, id)
	}
	clear(g.watchDirty)
	round := g.presRound
	g.presMu.Unlock()

	ok := true
	links := &presenceLinks{g: g, ctx: ctx, v: v, links: map[string]*internode.Client{}}
	waitsOn := map[*internode.Client][]chan struct{}{}
	for id, r := range reports {
		l := links.of(id)
		if l == nil {
			g.presMu.Lock()
			g.presDirty[id] = struct{}{}
			if _, owned := v.Owner(ring.RolePresence, id); owned {
				g.presWaits[id] = append(g.presWaits[id], waits[id]...)
			} else {
				closeAll(waits[id]) // no presence node: nothing to wait for
			}
			g.presMu.Unlock()
			ok = false
			continue
		}
		if w := waits[id]; w != nil {
			waitsOn[l] = append(waitsOn[l], w...)
		}
		internode.Send(l.Link, internode.Report{User: id, Sessions: uint32(r.n), Away: r.away, Round: round})
		if r.n == 0 {
			g.presMu.Lock()
			if u := g.users[id]; u != nil && len(u.sessions) == 0 {
				delete(g.users, id)
			}
			g.presMu.Unlock()
		}
	}
	byLink := map[*internode.Client][]string{}
	for _, id := range watchIDs {
		l := links.of(id)
		if l == nil {
			g.presMu.Lock()
			if g.watches[id] != nil {
				g.watchDirty[id] = struct{}{}
			}
			g.presMu.Unlock()
			ok = false
			continue
		}
		byLink[l] = append(byLink[l], id)
	}
	for l, ids := range byLink {
		g.presMu.Lock()
		for _, id := range ids {
			if w := g.watches[id]; w != nil {
				w.link = l
			}
		}
		g.presMu.Unlock()
		internode.Go(l, internode.Watch{Users: ids},
			func(f internode.Frame, err error) { g.onWatched(l, ids, f, err) })
	}
	// A link is handled in order: the answer to a query sent after the
	// reports means the presence node has them.
	for l, w := range waitsOn {
		internode.Go(l, internode.Query{}, func(internode.Frame, error) { closeAll(w) })
	}
	return ok
}

func closeAll(chans []chan struct{}) {
	for _, c := range chans {
		close(c)
	}
}

// onWatched handles a watch reply: the state of each user, sent to the
// watching sessions when it is new to them.
func (g *Gateway) onWatched(l *internode.Client, ids []string, f internode.Frame, err error) {
	var r internode.WatchReply
	if err == nil {
		err = r.Decode(f.Body)
	}
	if err == nil && (r.Err != "" || len(r.Active) != len(ids)) {
		err = errBadReply
	}
	type out struct {
		sessions []*session
		frame    []byte
	}
	var outs []out
	g.presMu.Lock()
	for i, id := range ids {
		w := g.watches[id]
		if w == nil || w.link != l {
			continue
		}
		if err != nil {
			w.link = nil
			g.watchDirty[id] = struct{}{}
			continue
		}
		active := r.Active[i]
		if !w.known || w.active != active {
			w.known, w.active = true, active
			outs = append(outs, out{slices.Clone(w.sessions), rtm.PresenceChange(id, cluster.PresenceName(active))})
		}
	}
	g.presMu.Unlock()
	if err != nil {
		g.wakePresence()
	}
	for _, o := range outs {
		for _, s := range o.sessions {
			s.push(o.frame)
		}
	}
}

// onPresence handles a change pushed by a presence node.
func (g *Gateway) onPresence(from *internode.Client, m internode.PresenceChange) {
	active := m.Active
	g.presMu.Lock()
	w := g.watches[m.User]
	if w == nil || w.link != from || (w.known && w.active == active) {
		g.presMu.Unlock()
		return
	}
	w.known, w.active = true, active
	sessions := slices.Clone(w.sessions)
	g.presMu.Unlock()
	frame := rtm.PresenceChange(m.User, cluster.PresenceName(active))
	for _, s := range sessions {
		s.push(frame)
	}
}

// localSessions returns user's sessions here, applying change to its
// entry first (under presMu).
func (g *Gateway) localSessions(user string, change func(*localUser)) []*session {
	g.presMu.Lock()
	defer g.presMu.Unlock()
	u := g.users[user]
	if u == nil {
		return nil
	}
	if change != nil {
		change(u)
	}
	return slices.Clone(u.sessions)
}

// onUserNotice delivers an event addressed to a user's sessions; a
// channel_joined also attaches them to the channel after its seq.
func (g *Gateway) onUserNotice(m internode.UserNotice) {
	for _, s := range g.localSessions(m.User, nil) {
		s.push(m.Payload)
		if m.Name == internode.ChannelJoined {
			g.attach(s, m.Channel, m.Seq, true)
		}
	}
}

// onAwayChange records that a user set away (or auto) and tells their
// sessions.
func (g *Gateway) onAwayChange(m internode.AwayChange) {
	frame := rtm.ManualPresenceChange(cluster.PresenceName(!m.Away))
	for _, s := range g.localSessions(m.User, func(u *localUser) { u.away = m.Away }) {
		s.push(frame)
	}
}

// reReport sends every user's session count again: a presence node
// dropped this gateway's sessions while it was thought dead.
func (g *Gateway) reReport() {
	g.presMu.Lock()
	for id := range g.users {
		g.presDirty[id] = struct{}{}
	}
	g.presMu.Unlock()
	g.wakePresence()
}

// presenceDown marks everything that went through a lost link to a
// presence node for sending again.
func (g *Gateway) presenceDown(peer string) {
	g.presMu.Lock()
	for id, w := range g.watches {
		if w.link != nil && w.link.Peer() == peer {
			w.link = nil
			g.watchDirty[id] = struct{}{}
		}
	}
	g.presMu.Unlock()
	g.reReport()
}

// query answers presence_query: a presence_change for each id, from the
// watch when this gateway has one, else from the user's presence node.
func (g *Gateway) query(s *session, ids []string) {
	for _, id := range ids {
		g.presMu.Lock()
		w := g.watches[id]
		known, active := w != nil && w.known, w != nil && w.active
		g.presMu.Unlock()
		if !known {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			info, err := g.cfg.Presence.Query(ctx, id)
			cancel()
			if err != nil {
				s.push(rtm.ErrorEvent(rtm.CodeUnavailable, "presence unavailable for "+id))
				continue
			}
			active = info.Active
		}
		s.push(rtm.PresenceChange(id, cluster.PresenceName(active)))
	}
}
