package apps

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/appevent"
	"github.com/ringcast/ringcast/transport/rtm"
)

// dispatcher delivers one app's events. Its run goroutine owns every
// field below the channels; the others talk to it through them.
type dispatcher struct {
	a    *Apps
	app  chat.App
	reg  chan *conn
	gone chan *conn
	acks chan ackOf
	revs chan rtm.Revocation
	upd  chan chat.App // the app changed (not its request URL: a new dispatcher for that)
	res  chan httpResult
	quit chan struct{} // closed by stop
	done chan struct{} // closed when run returns

	// listed is the app as the role's supervisor last listed it (set
	// when made, under Apps.mu; then the supervisor's alone).
	listed chat.App

	wakeMu sync.Mutex          // guards woken; a leaf lock (taken under waker.mu)
	woken  map[string]struct{} // channels with new commits
	wakeCh chan struct{}       // cap 1: woken has channels

	// Owned by run.
	conns    []*conn
	next     int // round robin over conns
	chans    map[string]*chanState
	byEnv    map[string]*item
	listedAt time.Time         // the last listing of the bot's channels
	dirty    map[string]uint64 // positions to store
	flushed  time.Time         // when positions were last stored
	posting  bool              // an Events API request is out
	queue    []*item           // Events API: waiting for the poster, in order
	failures int               // Events API requests failed in a row
	paused   time.Time         // failing: no request before this
}

type ackOf struct {
	c  *conn
	id string
}

// chanState is the app's delivery state of one channel.
type chanState struct {
	id   string
	ch   chat.Channel // zero while the bot is not a member
	pos  uint64       // every entry up to here is delivered and acknowledged (stored)
	read uint64       // entries up to here are read into flight
	fly  []*item      // events in flight, by seq
	// out: the last entry read is the bot's own leave; nothing after it
	// is read until the log has the bot's join again (list looks).
	out bool
}

// item is one event in flight.
type item struct {
	channel  string
	seq      uint64
	env      string // envelope id, the same on every attempt
	payload  []byte // the event_callback
	attempts int    // sends so far
	reason   string // why it is sent again
	due      time.Time
	to       *conn // the connection it was last sent on (nil: none)
	done     bool  // acknowledged or given up
}

func newDispatcher(a *Apps, app chat.App) *dispatcher {
	return &dispatcher{a: a, app: app, listed: app, reg: make(chan *conn), gone: make(chan *conn), acks: make(chan ackOf, 64),
		revs: make(chan rtm.Revocation), upd: make(chan chat.App),
		res: make(chan httpResult, 1), quit: make(chan struct{}), done: make(chan struct{}),
		woken: map[string]struct{}{}, wakeCh: make(chan struct{}, 1),
		chans: map[string]*chanState{}, byEnv: map[string]*item{}, dirty: map[string]uint64{}}
}

// stop ends run; the caller holds a.mu, so it does not wait.
func (d *dispatcher) stop() { close(d.quit) }

// register adds c; false when the dispatcher has stopped.
func (d *dispatcher) register(c *conn) bool {
	select {
	case d.reg <- c:
		return true
	case <-d.done:
		return false
	}
}

func (d *dispatcher) unregister(c *conn) {
	select {
	case d.gone <- c:
	case <-d.done:
	}
}

// ack passes on a client's ack.
func (d *dispatcher) ack(c *conn, id string) {
	select {
	case d.acks <- ackOf{c, id}:
	case <-d.done:
	}
}

// revoke closes the connections rv covers.
func (d *dispatcher) revoke(rv rtm.Revocation) {
	select {
	case d.revs <- rv:
	case <-d.done:
	}
}

// update hands run the app's new name or events.
func (d *dispatcher) update(app chat.App) {
	select {
	case d.upd <- app:
	case <-d.done:
	}
}

// wake says channel has new commits (the waker's, on a link's reader:
// it does not block).
func (d *dispatcher) wake(channel string) {
	d.wakeMu.Lock()
	d.woken[channel] = struct{}{}
	d.wakeMu.Unlock()
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// reading reports whether the dispatcher reads the logs now: it has a
// connection, or a request URL that is not paused.
func (d *dispatcher) reading(now time.Time) bool {
	return len(d.conns) > 0 || (d.http() && now.After(d.paused))
}

// http reports whether the app's events go to its request URL.
func (d *dispatcher) http() bool { return d.app.RequestURL != "" }

func (d *dispatcher) run(ctx context.Context) {
	defer close(d.done)
	poll := time.NewTicker(d.a.cfg.Poll)
	defer poll.Stop()
	defer d.unwatchAll()
	d.load(ctx)
	for {
		select {
		case <-ctx.Done():
			d.bye(appevent.ReasonRefresh)
			d.flush(context.WithoutCancel(ctx))
			return
		case <-d.quit:
			d.bye(appevent.ReasonRefresh)
			d.flush(ctx)
			return
		case c := <-d.reg:
			if d.a.stopped(c.ticket) { // revoked after ServeHTTP checked
				c.revoked()
				continue
			}
			if len(d.conns) >= MaxConnections {
				c.shut(websocket.StatusTryAgainLater, "too many connections for this app")
				continue
			}
			d.conns = append(d.conns, c)
			c.send(appevent.Hello(len(d.conns), d.app.ID, d.a.cfg.Self, time.Hour))
			d.resend(time.Now(), false) // what waited for a connection
		case c := <-d.gone:
			d.drop(c)
		case app := <-d.upd:
			d.app = app
			d.a.bots.Forget(app.BotUser)
		case rv := <-d.revs:
			for _, c := range slices.Clone(d.conns) {
				if rv.Covers(c.ticket.User, c.ticket.Token) {
					c.revoked()
					d.drop(c)
				}
			}
		case a := <-d.acks:
			d.acked(a.id)
		case r := <-d.res:
			d.posted(r)
		case <-d.wakeCh:
			d.wakeMu.Lock()
			woken := d.woken
			d.woken = map[string]struct{}{}
			d.wakeMu.Unlock()
			if now := time.Now(); d.reading(now) {
				for ch := range woken {
					if cs := d.chans[ch]; cs != nil {
						d.readChannel(ctx, cs, now)
					}
				}
			}
		case <-poll.C:
			now := time.Now()
			if now.Sub(d.listedAt) >= listEvery {
				d.list(ctx, now)
			}
			if d.reading(now) {
				for _, cs := range d.chans {
					d.readChannel(ctx, cs, now)
				}
			}
			d.post()
			d.resend(now, true)
			if now.Sub(d.flushed) >= flushEvery {
				d.flush(ctx)
				d.flushed = now
			}
		}
	}
}

// drop forgets c (gone, or closing) and sends what waited for its ack
// to the other connections at once.
func (d *dispatcher) drop(c *conn) {
	d.conns = slices.DeleteFunc(d.conns, func(x *conn) bool { return x == c })
	for _, it := range d.byEnv {
		if it.to == c {
			it.to, it.due = nil, time.Now()
		}
	}
	d.resend(time.Now(), false)
}

// bye tells every connection to reconnect and closes it.
func (d *dispatcher) bye(reason string) {
	for _, c := range d.conns {
		c.send(appevent.Disconnect(reason, d.a.cfg.Self))
		c.shut(websocket.StatusNormalClosure, reason)
	}
}

// load reads the app's stored positions.
func (d *dispatcher) load(ctx context.Context) {
	pos, err := d.a.cfg.Store.Positions(ctx, d.app.ID)
	if err != nil {
		d.a.log.Warn("app positions", "app", d.app.ID, "err", err)
		return
	}
	for ch, seq := range pos {
		cs := &chanState{id: ch, pos: seq, read: seq}
		if seq > 0 { // stopped at the bot's leave?
			msgs, err := d.a.cfg.Store.Messages(ctx, ch, seq-1, 1)
			cs.out = err == nil && len(msgs) == 1 && d.ownMember(&msgs[0]) == chat.KindLeave
		}
		d.chans[ch] = cs
	}
}

// ownMember is the kind of m when it is the bot joining or leaving, else
// chat.KindMessage.
func (d *dispatcher) ownMember(m *chat.Message) chat.Kind {
	if k := m.Kind(); k.MemberKind() && m.User == d.app.BotUser {
		return k
	}
	return chat.KindMessage
}

// list refreshes the bot's channels. A channel first seen starts at the
// bot's first join entry since the app was created (so its own
// member_joined_channel is its first event); a channel it was in before joins were entries of the log, after
// the entries older than the previous listing (the bot joined since), or,
// on the dispatcher's first listing, older than its app's creation or a
// listing interval ago, whichever is later. A channel the bot left
// (its leave entry read) starts again at its next join entry. A channel
// no longer listed is read until the bot's leave entry, which its Append
// wrote with the membership: the log, not the listing, says where the
// bot's events of it end.
func (d *dispatcher) list(ctx context.Context, now time.Time) {
	ids, err := d.a.cfg.Store.UserChannels(ctx, d.app.BotUser)
	if err != nil {
		d.a.log.Warn("bot channels", "app", d.app.ID, "err", err)
		return
	}
	since := d.listedAt
	if since.IsZero() {
		since = now.Add(-2 * listEvery)
		if created := time.Unix(d.app.Created, 0); created.After(since) {
			since = created
		}
	}
	in := map[string]bool{}
	for _, id := range ids {
		in[id] = true
		cs := d.chans[id]
		if cs != nil && cs.out {
			join, err := d.findJoin(ctx, id, cs.read, 0) // the first join after the leave
			if err != nil || join == 0 {
				continue
			}
			cs.read, cs.out = join-1, false
			d.advance(cs)
		}
		if cs != nil && cs.ch.ID != "" {
			continue
		}
		ch, err := d.a.cfg.Store.Channel(ctx, id)
		if err != nil {
			continue
		}
		if cs == nil {
			start, err := d.startOf(ctx, id, chat.TSOf(since))
			if err != nil {
				continue
			}
			cs = &chanState{id: id, pos: start, read: start}
			d.dirty[id] = start
			d.chans[id] = cs
		}
		cs.ch = ch
		if d.a.wake != nil {
			d.a.wake.watch(d, id)
		}
	}
	for id, cs := range d.chans {
		if !in[id] && cs.out && len(cs.fly) == 0 && cs.ch.ID != "" {
			cs.ch = chat.Channel{} // left: kept (its position stays) but not read
			if d.a.wake != nil {
				d.a.wake.unwatch(d, id)
			}
		}
	}
	d.listedAt = now
}

// startOf is where a channel first seen starts: before the bot's first
// join entry since its app was created among the channel's last 1000
// entries (a channel with no stored position is one the app never
// read: everything since the bot joined is for it, within the
// retention), or its latest join entry, or else startAt(since).
func (d *dispatcher) startOf(ctx context.Context, channel string, since chat.TS) (uint64, error) {
	last, _, err := d.a.cfg.Store.Last(ctx, channel)
	if err != nil {
		return 0, err
	}
	join, err := d.findJoin(ctx, channel, max(last, 1000)-1000, chat.TSOf(time.Unix(d.app.Created, 0)))
	if err != nil || join > 0 {
		return max(join, 1) - 1, err
	}
	return d.startAt(ctx, channel, since)
}

// findJoin returns the seq of the bot's first join entry at or after
// since after seq after, else of its last one, or 0 when there is none.
func (d *dispatcher) findJoin(ctx context.Context, channel string, after uint64, since chat.TS) (uint64, error) {
	found := uint64(0)
	for {
		msgs, err := d.a.cfg.Store.Messages(ctx, channel, after, 1000)
		if err != nil || len(msgs) == 0 {
			return found, err
		}
		for i := range msgs {
			if d.ownMember(&msgs[i]) == chat.KindJoin {
				if msgs[i].TS >= since {
					return msgs[i].Seq, nil
				}
				found = msgs[i].Seq
			}
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// startAt is the position before the channel's first entry at or after
// ts.
func (d *dispatcher) startAt(ctx context.Context, channel string, ts chat.TS) (uint64, error) {
	last, lastTS, err := d.a.cfg.Store.Last(ctx, channel)
	if err != nil || last == 0 || lastTS < ts {
		return last, err
	}
	from := uint64(0)
	if last > 1000 {
		from = last - 1000
	}
	msgs, err := d.a.cfg.Store.Messages(ctx, channel, from, 1000)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if m.TS >= ts {
			return m.Seq - 1, nil
		}
	}
	return last, nil
}

// readChannel reads new entries of a channel the bot is in, when there
// is room in its window, and sends their events.
func (d *dispatcher) readChannel(ctx context.Context, cs *chanState, now time.Time) {
	if cs.ch.ID == "" || cs.out || len(cs.fly) >= window {
		return
	}
	msgs, err := d.a.cfg.Store.Messages(ctx, cs.id, cs.read, window-len(cs.fly))
	if err != nil {
		d.a.log.Warn("read channel for app", "app", d.app.ID, "channel", cs.id, "err", err)
		return
	}
	oldest := chat.TSOf(now.Add(-d.a.cfg.Retention))
	for i := range msgs {
		m := &msgs[i]
		cs.read = m.Seq
		if m.TS < oldest {
			continue
		}
		for _, ev := range d.events(ctx, cs.ch, m) {
			it := &item{channel: cs.id, seq: m.Seq, env: appevent.NewEnvelopeID(),
				payload: appevent.Callback(d.a.cfg.Team, &d.app, &ev)}
			cs.fly = append(cs.fly, it)
			d.byEnv[it.env] = it
			d.deliver(it, now)
		}
		if d.ownMember(m) == chat.KindLeave {
			cs.out = true // nothing after the bot's leave is for it
			break
		}
	}
	d.advance(cs)
}

// unwatchAll ends the dispatcher's wake-ups.
func (d *dispatcher) unwatchAll() {
	if d.a.wake == nil {
		return
	}
	for id, cs := range d.chans {
		if cs.ch.ID != "" {
			d.a.wake.unwatch(d, id)
		}
	}
}

// deliver sends it (again) to one connection or to the request URL.
func (d *dispatcher) deliver(it *item, now time.Time) {
	if d.http() {
		it.due = now.Add(365 * 24 * time.Hour) // until the poster reports
		d.queue = append(d.queue, it)
		d.post()
		return
	}
	it.to = nil
	for range len(d.conns) {
		c := d.conns[d.next%len(d.conns)]
		d.next++
		if c.send(appevent.Envelope(it.env, it.attempts, it.reason, it.payload)) {
			it.to = c
			break
		}
	}
	if it.to == nil {
		it.due = now.Add(365 * 24 * time.Hour) // when a connection comes
		return
	}
	it.attempts++
	it.due = now.Add(d.a.cfg.AckTimeout)
	it.reason = "timeout"
}

// resend sends again what is due: all waiting with timers when timed,
// else only what has no connection.
func (d *dispatcher) resend(now time.Time, timed bool) {
	var due []*item
	for _, it := range d.byEnv {
		if (timed && !it.due.After(now)) || (!timed && it.to == nil && !d.http() && len(d.conns) > 0) {
			due = append(due, it)
		}
	}
	slices.SortFunc(due, func(a, b *item) int { return cmpItem(a, b) })
	for _, it := range due {
		if it.attempts > d.a.cfg.Retries {
			d.a.log.Warn("app event given up", "app", d.app.ID, "channel", it.channel, "seq", it.seq, "attempts", it.attempts)
			d.finish(it)
			continue
		}
		if d.http() {
			d.deliver(it, now) // back in the poster's queue
			continue
		}
		if it.to == nil && len(d.conns) == 0 {
			continue
		}
		d.deliver(it, now)
	}
}

func cmpItem(a, b *item) int {
	return cmp.Or(strings.Compare(a.channel, b.channel), cmp.Compare(a.seq, b.seq))
}

// acked records a client's ack; an unknown envelope id changes nothing.
func (d *dispatcher) acked(id string) {
	if it := d.byEnv[id]; it != nil {
		d.finish(it)
	}
}

// finish takes it out of flight and moves its channel's position.
func (d *dispatcher) finish(it *item) {
	it.done = true
	delete(d.byEnv, it.env)
	if cs := d.chans[it.channel]; cs != nil {
		d.advance(cs)
	}
}

// advance moves cs's position past every entry whose events are done.
func (d *dispatcher) advance(cs *chanState) {
	for len(cs.fly) > 0 && cs.fly[0].done {
		cs.fly = cs.fly[1:]
	}
	pos := cs.read
	if len(cs.fly) > 0 {
		pos = cs.fly[0].seq - 1
	}
	if pos != cs.pos {
		cs.pos = pos
		d.dirty[cs.id] = pos
	}
}

// flushEvery is how often a dispatcher stores the positions that moved
// (and when it stops). A write per poll competed with the message log's
// commits for the store's write lock (SQLite: one writer); the cost is
// that a host that dies redelivers up to this much acked events, with
// their event ids.
const flushEvery = time.Second

// flush stores the positions that moved.
func (d *dispatcher) flush(ctx context.Context) {
	if len(d.dirty) == 0 {
		return
	}
	if err := d.a.cfg.Store.SetPositions(ctx, d.app.ID, d.dirty); err != nil {
		if !errors.Is(err, context.Canceled) {
			d.a.log.Warn("store app positions", "app", d.app.ID, "err", err)
		}
		return
	}
	clear(d.dirty)
}

// botOf returns a message author's app's bot profile (zero: none, or
// the store failed).
func (d *dispatcher) botOf(ctx context.Context, user string) chat.Bot {
	b, _ := d.a.bots.Of(ctx, d.a.cfg.Store, user)
	return b
}
