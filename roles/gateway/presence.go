package gateway

import (
	"context"
	"slices"
	"time"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/presence"
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
			known = append(known, rtm.PresenceChange(id, presence.Name(statusOf(w.active))))
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
		w.link.Send(&internode.Frame{Kind: internode.KindPresence, Op: presence.OpUnwatch, Users: []string{id}})
	}
}

func statusOf(active bool) byte {
	if active {
		return presence.Active
	}
	return presence.Away
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
			g.toPresenceNodes(ctx, v, &internode.Frame{Kind: internode.KindPresence, Op: presence.OpLease})
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
				g.toPresenceNodes(ctx, v, &internode.Frame{Kind: internode.KindPresence, Op: presence.OpSynced,
					TS: int64(round), Users: v.Ring(ring.RolePresence).Nodes()})
				continue
			}
		}
		if !g.flushPresence(ctx, v) {
			retry.Reset(200 * time.Millisecond)
		}
	}
}

// toPresenceNodes sends f to every presence node in v.
func (g *Gateway) toPresenceNodes(ctx context.Context, v *ring.View, f *internode.Frame) {
	for _, m := range v.WithRole(ring.RolePresence) {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if l, err := g.pool.Get(dctx, m.Name, m.Internode); err == nil {
			l.Send(f)
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
		f := &internode.Frame{Kind: internode.KindPresence, Op: presence.OpReport, User: id, Seq: uint64(r.n), TS: int64(round)}
		if r.away {
			f.Extra = "away"
		}
		l.Send(f)
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
		l.Go(&internode.Frame{Kind: internode.KindPresence, Op: presence.OpWatch, Users: ids},
			func(f *internode.Frame, err error) { g.onWatched(l, ids, f, err) })
	}
	// A link is handled in order: the answer to a query sent after the
	// reports means the presence node has them.
	for l, w := range waitsOn {
		l.Go(&internode.Frame{Kind: internode.KindPresence, Op: presence.OpQuery},
			func(*internode.Frame, error) { closeAll(w) })
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
func (g *Gateway) onWatched(l *internode.Client, ids []string, f *internode.Frame, err error) {
	if err == nil && (f.Extra != "" || len(f.Payload) != len(ids)) {
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
		active := f.Payload[i] == presence.Active
		if !w.known || w.active != active {
			w.known, w.active = true, active
			outs = append(outs, out{slices.Clone(w.sessions), rtm.PresenceChange(id, presence.Name(f.Payload[i]))})
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
func (g *Gateway) onPresence(from *internode.Client, f *internode.Frame) {
	active := f.Text == "active"
	g.presMu.Lock()
	w := g.watches[f.User]
	if w == nil || w.link != from || (w.known && w.active == active) {
		g.presMu.Unlock()
		return
	}
	w.known, w.active = true, active
	sessions := slices.Clone(w.sessions)
	g.presMu.Unlock()
	frame := rtm.PresenceChange(f.User, f.Text)
	for _, s := range sessions {
		s.push(frame)
	}
}

// onUserEvent delivers an event addressed to a user's sessions.
func (g *Gateway) onUserEvent(f *internode.Frame) {
	g.presMu.Lock()
	u := g.users[f.User]
	var sessions []*session
	if u != nil {
		sessions = slices.Clone(u.sessions)
		if f.Text == presence.ManualChange {
			u.away = f.Extra == "away"
		}
	}
	g.presMu.Unlock()
	frame := f.Payload
	if f.Text == presence.ManualChange {
		p := "active"
		if f.Extra == "away" {
			p = "away"
		}
		frame = rtm.ManualPresenceChange(p)
	}
	for _, s := range sessions {
		s.push(frame)
		if f.Text == presence.ChannelJoined {
			g.attach(s, f.Channel, f.Seq, true)
		}
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
	pc := presence.NewClient(g.cfg.View, g.pool)
	for _, id := range ids {
		g.presMu.Lock()
		w := g.watches[id]
		known, active := w != nil && w.known, w != nil && w.active
		g.presMu.Unlock()
		if !known {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			info, err := pc.Query(ctx, id)
			cancel()
			if err != nil {
				s.push(rtm.ErrorEvent(rtm.CodeUnavailable, "presence unavailable for "+id))
				continue
			}
			active = info.Active
		}
		s.push(rtm.PresenceChange(id, presence.Name(statusOf(active))))
	}
}
