package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// MaxPresenceIDs bounds one presence_sub or presence_query (Slack: 500).
const MaxPresenceIDs = 500

// leaseEvery is how often the gateway renews its presence lease.
const leaseEvery = 5 * time.Second

// presenceAgent is the gateway's side of presence: it reports each
// local user's session count to the user's presence node, watches a user
// once for every local session that sent presence_sub for it, renews the
// gateway's lease, and re-reports everything when the presence ring
// moves. It is also the way user events (channel_joined, away changes)
// reach the user's sessions. Safe for concurrent use.
//
// Lock order: mu is never held while taking chanSub.mu,
// subscriptions.mu or session.mu (frames for sessions are pushed after
// it is released); only a link's lock is taken under it (an Unwatch).
type presenceAgent struct {
	view   func() *ring.View
	pool   *internode.Pool
	client *cluster.Presence // queries for users nobody here watches
	subs   *subscriptions    // a channel_joined attaches the user's sessions

	mu         sync.Mutex // guards users, watches, dirty, waits, watchDirty, round, session.watched
	users      map[string]*localUser
	watches    map[string]*watch
	dirty      map[string]struct{}        // users whose count must be reported
	waits      map[string][]chan struct{} // per user: closed once its presence node has the report
	watchDirty map[string]struct{}        // watches to register
	round      uint64                     // resync round: +1 each time the presence ring moves
	wake       chan struct{}
}

func newPresenceAgent(view func() *ring.View, pool *internode.Pool, client *cluster.Presence, subs *subscriptions) *presenceAgent {
	return &presenceAgent{view: view, pool: pool, client: client, subs: subs,
		users: map[string]*localUser{}, watches: map[string]*watch{}, dirty: map[string]struct{}{},
		waits: map[string][]chan struct{}{}, watchDirty: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// localUser is a user with sessions on this gateway. Guarded by
// presenceAgent.mu.
type localUser struct {
	sessions []*session
	away     bool // set away (from the first session's ticket, then from events)
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
func (p *presenceAgent) userUp(s *session, away bool) <-chan struct{} {
	reported := make(chan struct{})
	p.mu.Lock()
	u := p.users[s.user]
	if u == nil {
		u = &localUser{away: away}
		p.users[s.user] = u
	}
	u.sessions = append(u.sessions, s)
	p.dirty[s.user] = struct{}{}
	p.waits[s.user] = append(p.waits[s.user], reported)
	p.mu.Unlock()
	p.wakeUp()
	return reported
}

// userDown uncounts a closed session and drops its watches.
func (p *presenceAgent) userDown(s *session) {
	p.mu.Lock()
	if u := p.users[s.user]; u != nil {
		u.sessions = slices.DeleteFunc(u.sessions, func(x *session) bool { return x == s })
		p.dirty[s.user] = struct{}{}
	}
	for _, id := range s.watched {
		p.unwatchLocked(s, id)
	}
	s.watched = nil
	p.mu.Unlock()
	p.wakeUp()
}

func (p *presenceAgent) wakeUp() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// setWatches replaces the users session s watches (presence_sub) and
// sends it the known state of each; the others follow when known.
func (p *presenceAgent) setWatches(s *session, ids []string) {
	p.mu.Lock()
	old := s.watched
	s.watched = ids
	for _, id := range old {
		if !slices.Contains(ids, id) {
			p.unwatchLocked(s, id)
		}
	}
	var known [][]byte // JSON payloads, pushed after mu is released
	for _, id := range ids {
		if slices.Contains(old, id) {
			continue
		}
		w := p.watches[id]
		if w == nil {
			w = &watch{}
			p.watches[id] = w
			p.watchDirty[id] = struct{}{}
		}
		w.sessions = append(w.sessions, s)
		if w.known {
			known = append(known, rtm.PresenceChange(id, cluster.PresenceName(w.active)))
		}
	}
	p.mu.Unlock()
	for _, f := range known {
		s.push(f)
	}
	p.wakeUp()
}

// unwatchLocked removes s from id's watchers; the last one out ends the
// watch at the presence node. p.mu must be held.
func (p *presenceAgent) unwatchLocked(s *session, id string) {
	w := p.watches[id]
	if w == nil {
		return
	}
	w.sessions = slices.DeleteFunc(w.sessions, func(x *session) bool { return x == s })
	if len(w.sessions) > 0 {
		return
	}
	delete(p.watches, id)
	delete(p.watchDirty, id)
	if w.link != nil {
		internode.Send(w.link.Link, internode.Unwatch{Users: []string{id}})
	}
}

// run is the one goroutine that talks to presence nodes: it
// reports session counts, registers watches, renews the lease, and after
// the presence ring changes re-reports everything and says so.
func (p *presenceAgent) run(ctx context.Context) {
	lease := time.NewTicker(leaseEvery)
	defer lease.Stop()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	v := p.view()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-retry.C:
		case <-lease.C:
			toPresenceNodes(ctx, p, v, internode.Lease{})
		case <-v.Changed():
			nv := p.view()
			moved := !slices.Equal(nv.Ring(ring.RolePresence).Nodes(), v.Ring(ring.RolePresence).Nodes())
			v = nv
			if moved {
				p.mu.Lock()
				p.round++
				for u := range p.users {
					p.dirty[u] = struct{}{}
				}
				for id, w := range p.watches {
					w.link = nil
					p.watchDirty[id] = struct{}{}
				}
				p.mu.Unlock()
				if !p.flush(ctx, v) {
					retry.Reset(200 * time.Millisecond)
				}
				p.mu.Lock()
				round := p.round
				p.mu.Unlock()
				toPresenceNodes(ctx, p, v, internode.Synced{Round: round, Ring: v.Ring(ring.RolePresence).Nodes()})
				continue
			}
		}
		if !p.flush(ctx, v) {
			retry.Reset(200 * time.Millisecond)
		}
	}
}

// toPresenceNodes sends f to every presence node in v.
func toPresenceNodes[M internode.Message](ctx context.Context, p *presenceAgent, v *ring.View, f M) {
	for _, m := range v.WithRole(ring.RolePresence) {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if l, err := p.pool.Get(dctx, m.Name, m.Internode); err == nil {
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
	p     *presenceAgent
	ctx   context.Context
	v     *ring.View
	links map[string]*internode.Client // by node name; nil: unreachable
}

// of returns the link to the node that owns user, or nil.
func (pl *presenceLinks) of(user string) *internode.Client {
	m, ok := pl.v.Owner(ring.RolePresence, user)
	if !ok {
		return nil
	}
	if l, seen := pl.links[m.Name]; seen {
		return l
	}
	dctx, cancel := context.WithTimeout(pl.ctx, 3*time.Second)
	defer cancel()
	l, err := pl.p.pool.Get(dctx, m.Name, m.Internode)
	if err != nil {
		l = nil
	}
	pl.links[m.Name] = l
	return l
}

type report struct {
	n    int
	away bool
}

// flush sends the pending reports and watches; false when some
// could not be sent (they stay pending).
func (p *presenceAgent) flush(ctx context.Context, v *ring.View) bool {
	p.mu.Lock()
	reports := make(map[string]report, len(p.dirty))
	for id := range p.dirty {
		if u := p.users[id]; u != nil {
			reports[id] = report{len(u.sessions), u.away}
		} else {
			reports[id] = report{}
		}
	}
	clear(p.dirty)
	var waits map[string][]chan struct{} // only starting sessions wait
	if len(p.waits) > 0 {
		waits, p.waits = p.waits, map[string][]chan struct{}{}
	}
	var watchIDs []string
	for id := range p.watchDirty {
		watchIDs = append(watchIDs, id)
	}
	clear(p.watchDirty)
	round := p.round
	p.mu.Unlock()

	ok := true
	links := &presenceLinks{p: p, ctx: ctx, v: v, links: map[string]*internode.Client{}}
	waitsOn := map[*internode.Client][]chan struct{}{}
	for id, r := range reports {
		l := links.of(id)
		if l == nil {
			p.mu.Lock()
			p.dirty[id] = struct{}{}
			if _, owned := v.Owner(ring.RolePresence, id); owned {
				p.waits[id] = append(p.waits[id], waits[id]...)
			} else {
				closeAll(waits[id]) // no presence node: nothing to wait for
			}
			p.mu.Unlock()
			ok = false
			continue
		}
		if w := waits[id]; w != nil {
			waitsOn[l] = append(waitsOn[l], w...)
		}
		internode.Send(l.Link, internode.Report{User: id, Sessions: uint32(r.n), Away: r.away, Round: round})
		if r.n == 0 {
			p.mu.Lock()
			if u := p.users[id]; u != nil && len(u.sessions) == 0 {
				delete(p.users, id)
			}
			p.mu.Unlock()
		}
	}
	byLink := map[*internode.Client][]string{}
	for _, id := range watchIDs {
		l := links.of(id)
		if l == nil {
			p.mu.Lock()
			if p.watches[id] != nil {
				p.watchDirty[id] = struct{}{}
			}
			p.mu.Unlock()
			ok = false
			continue
		}
		byLink[l] = append(byLink[l], id)
	}
	for l, ids := range byLink {
		p.mu.Lock()
		for _, id := range ids {
			if w := p.watches[id]; w != nil {
				w.link = l
			}
		}
		p.mu.Unlock()
		internode.Go(l, internode.Watch{Users: ids},
			func(f internode.Frame, err error) { p.onWatched(l, ids, f, err) })
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
func (p *presenceAgent) onWatched(l *internode.Client, ids []string, f internode.Frame, err error) {
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
	p.mu.Lock()
	for i, id := range ids {
		w := p.watches[id]
		if w == nil || w.link != l {
			continue
		}
		if err != nil {
			w.link = nil
			p.watchDirty[id] = struct{}{}
			continue
		}
		active := r.Active[i]
		if !w.known || w.active != active {
			w.known, w.active = true, active
			outs = append(outs, out{slices.Clone(w.sessions), rtm.PresenceChange(id, cluster.PresenceName(active))})
		}
	}
	p.mu.Unlock()
	if err != nil {
		p.wakeUp()
	}
	for _, o := range outs {
		for _, s := range o.sessions {
			s.push(o.frame)
		}
	}
}

// changed handles a change pushed by a presence node.
func (p *presenceAgent) changed(from *internode.Client, m internode.PresenceChange) {
	active := m.Active
	p.mu.Lock()
	w := p.watches[m.User]
	if w == nil || w.link != from || (w.known && w.active == active) {
		p.mu.Unlock()
		return
	}
	w.known, w.active = true, active
	sessions := slices.Clone(w.sessions)
	p.mu.Unlock()
	frame := rtm.PresenceChange(m.User, cluster.PresenceName(active))
	for _, s := range sessions {
		s.push(frame)
	}
}

// localSessions returns user's sessions here, applying change to its
// entry first (under p.mu).
func (p *presenceAgent) localSessions(user string, change func(*localUser)) []*session {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.users[user]
	if u == nil {
		return nil
	}
	if change != nil {
		change(u)
	}
	return slices.Clone(u.sessions)
}

// onUserNotice delivers an event addressed to a user's sessions; a
// channel_joined also attaches them to the channel after its seq. The
// frame goes through each session's fan-out worker, behind what is
// queued there already (a channel_left of the same channel, say).
func (p *presenceAgent) onUserNotice(m internode.UserNotice) {
	frame := wsframe.Text(m.Payload)
	for _, s := range p.localSessions(m.User, nil) {
		s.pushLater(frame)
		if m.Name == internode.ChannelJoined {
			p.subs.attach(s, m.Channel, m.Seq, true, true, time.Time{})
		}
	}
}

// onAwayChange records that a user set away (or auto), or that the
// flag a new session's ticket carried was stale, and tells their
// sessions when the flag changed: a SetAway that crossed the report
// of a starting session comes twice (forwarded, then as the
// correction), and is told once.
func (p *presenceAgent) onAwayChange(m internode.AwayChange) {
	changed := false
	sessions := p.localSessions(m.User, func(u *localUser) { changed, u.away = u.away != m.Away, m.Away })
	if !changed {
		return
	}
	frame := rtm.ManualPresenceChange(cluster.PresenceName(!m.Away))
	for _, s := range sessions {
		s.push(frame)
	}
}

// reReport sends every user's session count again: a presence node
// dropped this gateway's sessions while it was thought dead.
func (p *presenceAgent) reReport() {
	p.mu.Lock()
	for id := range p.users {
		p.dirty[id] = struct{}{}
	}
	p.mu.Unlock()
	p.wakeUp()
}

// down marks everything that went through a lost link to a
// presence node for sending again.
func (p *presenceAgent) down(peer string) {
	p.mu.Lock()
	for id, w := range p.watches {
		if w.link != nil && w.link.Peer() == peer {
			w.link = nil
			p.watchDirty[id] = struct{}{}
		}
	}
	p.mu.Unlock()
	p.reReport()
}

// query answers presence_query: a presence_change for each id, from the
// watch when this gateway has one, else from the user's presence node.
func (p *presenceAgent) query(s *session, ids []string) {
	for _, id := range ids {
		p.mu.Lock()
		w := p.watches[id]
		known, active := w != nil && w.known, w != nil && w.active
		p.mu.Unlock()
		if !known {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			info, err := p.client.Query(ctx, id)
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
