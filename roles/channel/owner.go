package channel

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/cespare/xxhash/v2"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Config configures an Owner.
type Config struct {
	Self   string            // this node's name
	Team   string            // team id written into events
	Store  store.Store       // durable log
	View   func() *ring.View // current membership
	Logger *slog.Logger
	// MaxBatch bounds the messages committed in one transaction. Default 4096.
	MaxBatch int
	// CommitWindow is how long a busy owner lets a batch gather before
	// committing it: the cost of a transaction (its fsync and its page
	// writes) is shared by more messages. An owner whose last commit ended
	// longer ago than this commits at once, so light traffic waits for
	// nothing. Default 5ms; negative disables it.
	CommitWindow time.Duration
	// IdleAfter evicts a channel's state when it has had no traffic and no
	// subscriber for this long. Default 5 minutes.
	IdleAfter time.Duration
	// UserEvent, when set, delivers a client frame to every session of a
	// user (through the user's presence node): channel_joined after a
	// join, so the joiner's sessions start receiving from seq on.
	UserEvent func(user, channel string, seq uint64, name string, payload []byte)
}

// Owner is the channel role. Safe for concurrent use.
type Owner struct {
	cfg    Config
	log    *slog.Logger
	shards [64]shard

	commitMu    sync.Mutex // guards commits, committing, stopped, firstQueued
	commits     []pending
	committing  bool
	stopped     bool      // the committer has stopped: enqueue fails at once
	firstQueued time.Time // when the oldest queued message was queued
	commitWake  chan struct{}

	linksMu sync.Mutex // guards links
	links   map[*internode.Link]map[string]struct{}

	// Replies to a batch are run by the replier goroutine, not the
	// committer: a local caller's reply may write to a socket, and the
	// next commit should not wait for that.
	answers    []answer // the committer's, for the batch being answered
	answerMu   sync.Mutex
	answerQ    []answer
	answerWake chan struct{}

	memberMus [64]sync.Mutex // serialise membership changes per channel (held across store I/O)
	epoch     time.Time      // chanState.lastUsed counts seconds from here

	life      *lifecycle.Group // the committer, the view follower, membership changes
	closeOnce sync.Once
	// Shutdown first refuses new operations, then waits for the loads
	// in flight (whose queued operations still reach a running
	// committer), then stops the committer, which fails what is left.
	refusing atomic.Bool
	loadsMu  sync.Mutex     // orders loads.Add against the Wait in Close
	loads    sync.WaitGroup // load goroutines
}

type shard struct {
	mu sync.Mutex
	m  map[string]*chanState
}

// chanState is what an owner keeps per loaded channel. Fields below mu
// are guarded by it.
//
// It is kept small (a channel process holds millions): member ids are
// interned, shared by every channel; rarely used parts are pointers that
// stay nil; membership changes are serialised by the owner's striped
// locks, not a mutex per channel.
type chanState struct {
	id string

	mu        sync.Mutex
	dropped   bool   // pending commits for it must not be written; a fresh state replaces it
	archived  bool   // posts are refused
	private   bool   // a non-member is told the channel does not exist
	lastUsed  uint32 // seconds since the owner started
	loading   *loadWait
	lastSeq   uint64                  // last seq assigned
	committed uint64                  // last seq committed
	lastTS    chat.TS                 // ts of lastSeq
	members   []unique.Handle[string] // sorted by user id
	subs      []*internode.Link
	dedup     *dedup           // recent client_msg_ids; nil until the channel has one
	typing    map[string]int64 // user -> last typing passed on (unix nanos); nil when none
}

// dedupWindow is how many recent messages with a client_msg_id an owner
// remembers per channel (and reloads from the store after a move): a
// retried publish within this window returns the original seq and ts.
const dedupWindow = 128

// dedup is a fixed ring of recent (client_msg_id hash, seq, ts).
type dedup struct {
	e [dedupWindow]struct {
		h   uint64
		seq uint64
		ts  chat.TS
	}
	n int
}

func (d *dedup) add(id string, seq uint64, ts chat.TS) {
	e := &d.e[d.n%dedupWindow]
	e.h, e.seq, e.ts = xxhash.Sum64String(id), seq, ts
	d.n++
}

func (d *dedup) find(id string) (uint64, chat.TS, bool) {
	if d == nil {
		return 0, 0, false
	}
	h := xxhash.Sum64String(id)
	for i := range min(d.n, dedupWindow) {
		if e := &d.e[i]; e.h == h && e.seq != 0 {
			return e.seq, e.ts, true
		}
	}
	return 0, 0, false
}

func (st *chanState) remember(m *chat.Message) {
	if m.ClientMsgID == "" {
		return
	}
	if st.dedup == nil {
		st.dedup = &dedup{}
	}
	st.dedup.add(m.ClientMsgID, m.Seq, m.TS)
}

// loadWait queues the operations that arrive while a state loads.
type loadWait struct {
	ops []func(*chanState, error)
}

type pending struct {
	st    *chanState
	msg   chat.Message
	event []byte
	dup   bool // a retry of msg, which is queued ahead: answer as it went
	reply func(chat.Message, error)
}

// New makes an Owner; Run starts its committer.
func New(cfg Config) (*Owner, error) {
	if cfg.Store == nil || cfg.View == nil || cfg.Self == "" {
		return nil, errors.New("channel: Store, View and Self are required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.CommitWindow == 0 {
		cfg.CommitWindow = 5 * time.Millisecond
	}
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = 5 * time.Minute
	}
	o := &Owner{
		cfg:        cfg,
		epoch:      time.Now(),
		log:        cfg.Logger.With("role", "channel"),
		commitWake: make(chan struct{}, 1),
		answerWake: make(chan struct{}, 1),
		links:      map[*internode.Link]map[string]struct{}{},
		life:       lifecycle.NewGroup(),
	}
	for i := range o.shards {
		o.shards[i].m = map[string]*chanState{}
	}
	return o, nil
}

// Run commits batches, follows ownership changes and evicts idle state
// until ctx ends or Close; then it shuts down as Close does.
func (o *Owner) Run(ctx context.Context) error {
	o.life.Go(o.followView)
	o.life.Go(func(ctx context.Context) {
		// The replier belongs to the committer: it stops only after the
		// last batch's replies were handed to it.
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			o.replier(stop)
		}()
		o.commitLoop(ctx)
		close(stop)
		<-done
	})
	o.life.Wait(ctx)
	return o.Close()
}

// Close stops the owner: new operations are refused (chat.ErrUnavailable),
// loads in flight finish and their queued operations reach the
// committer, then the committer stops and fails what is still queued,
// and every goroutine is waited for. Every operation gets its reply.
// Safe to call more than once, with or without Run.
func (o *Owner) Close() error {
	o.closeOnce.Do(func() {
		o.loadsMu.Lock()
		o.refusing.Store(true)
		o.loadsMu.Unlock()
		o.loads.Wait()
		o.life.Close()
		o.stopCommits() // in case the committer never ran
	})
	return nil
}

type answer struct {
	reply func(chat.Message, error)
	m     chat.Message
	err   error
}

// answer records a reply to send after the batch.
func (o *Owner) answer(reply func(chat.Message, error), m chat.Message, err error) {
	o.answers = append(o.answers, answer{reply, m, err})
}

// flushAnswers hands the batch's replies to the replier.
func (o *Owner) flushAnswers() {
	if len(o.answers) == 0 {
		return
	}
	o.answerMu.Lock()
	o.answerQ = append(o.answerQ, o.answers...)
	o.answerMu.Unlock()
	clear(o.answers)
	o.answers = o.answers[:0]
	select {
	case o.answerWake <- struct{}{}:
	default:
	}
}

// replier runs replies in commit order until stop, then runs what is left.
func (o *Owner) replier(stop chan struct{}) {
	var run []answer
	for {
		stopping := false
		select {
		case <-stop:
			stopping = true
		case <-o.answerWake:
		}
		o.answerMu.Lock()
		run, o.answerQ = o.answerQ, run[:0]
		o.answerMu.Unlock()
		for i, a := range run {
			a.reply(a.m, a.err)
			run[i] = answer{}
		}
		if stopping {
			return
		}
	}
}

func (o *Owner) shard(id string) *shard {
	return &o.shards[xxhash.Sum64String(id)&63]
}

func (o *Owner) owns(id string) bool {
	return o.cfg.View().Ring(ring.RoleChannel).Owner(id) == o.cfg.Self
}

// with runs fn with the channel's state locked and loaded, or with the
// load's error. Operations on one channel run in the order with was
// called; fn runs on the caller's goroutine when the state is ready and
// on the loader's otherwise, so it must not block.
func (o *Owner) with(id string, fn func(*chanState, error)) {
	if o.refusing.Load() {
		fn(nil, chat.ErrUnavailable)
		return
	}
	for {
		sh := o.shard(id)
		sh.mu.Lock()
		st := sh.m[id]
		if st == nil {
			o.loadsMu.Lock()
			if o.refusing.Load() {
				o.loadsMu.Unlock()
				sh.mu.Unlock()
				fn(nil, chat.ErrUnavailable)
				return
			}
			o.loads.Add(1)
			o.loadsMu.Unlock()
			st = &chanState{id: id, loading: &loadWait{ops: []func(*chanState, error){fn}}}
			sh.m[id] = st
			sh.mu.Unlock()
			go o.load(st)
			return
		}
		sh.mu.Unlock()
		st.mu.Lock()
		switch {
		case st.dropped:
			st.mu.Unlock()
			continue // a fresh state replaces it
		case st.loading != nil:
			st.loading.ops = append(st.loading.ops, fn)
		default:
			st.lastUsed = o.now()
			fn(st, nil)
		}
		st.mu.Unlock()
		return
	}
}

// peek returns the channel's state if it is loaded, locked; else nil.
func (o *Owner) peek(id string) *chanState {
	sh := o.shard(id)
	sh.mu.Lock()
	st := sh.m[id]
	sh.mu.Unlock()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	if st.dropped || st.loading != nil {
		st.mu.Unlock()
		return nil
	}
	return st
}

// load reads a channel's state from the store, then runs the operations
// that queued meanwhile, in order.
func (o *Owner) load(st *chanState) {
	defer o.loads.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	var tail []chat.Message
	var members []string
	var ch chat.Channel
	if ch, err = o.cfg.Store.Channel(ctx, st.id); errors.Is(err, store.ErrNotFound) {
		err = chat.ErrChannelNotFound
	} else if err == nil {
		// The newest messages give the last seq and ts, and the recent
		// client_msg_ids that retries must not duplicate.
		if tail, _, err = o.cfg.Store.History(ctx, st.id, store.HistoryQuery{Limit: dedupWindow}); err == nil {
			members, err = o.cfg.Store.Members(ctx, st.id)
		}
	}
	if err != nil && err != chat.ErrChannelNotFound {
		o.log.Error("load channel", "channel", st.id, "err", err)
		err = chat.ErrUnavailable
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	ops := st.loading.ops
	st.loading = nil
	if err != nil {
		o.dropLocked(st)
	} else {
		if len(tail) > 0 {
			st.lastSeq, st.lastTS = tail[0].Seq, tail[0].TS
		}
		st.committed = st.lastSeq
		st.archived = ch.IsArchived
		st.private = ch.IsPrivate
		for i := len(tail) - 1; i >= 0; i-- {
			st.remember(&tail[i])
		}
		st.members = make([]unique.Handle[string], len(members))
		for i, m := range members {
			st.members[i] = unique.Make(m)
		}
		slices.SortFunc(st.members, compareMembers)
		st.lastUsed = o.now()
	}
	for _, fn := range ops {
		if err != nil {
			fn(nil, err)
		} else {
			fn(st, nil)
		}
	}
}

// dropLocked forgets st: pending commits for it are refused, subscribers
// are told to subscribe again, and the next request reloads it from the
// store. st.mu must be held.
func (o *Owner) dropLocked(st *chanState) {
	if st.dropped {
		return
	}
	st.dropped = true
	// Out of the cache first: a subscriber told to resubscribe may come
	// straight back, and must find a fresh state.
	sh := o.shard(st.id)
	sh.mu.Lock()
	if sh.m[st.id] == st {
		delete(sh.m, st.id)
	}
	sh.mu.Unlock()
	if len(st.subs) > 0 {
		ev := internode.Resubscribe{Channel: st.id}
		o.linksMu.Lock()
		for _, l := range st.subs {
			internode.Send(l, ev)
			delete(o.links[l], st.id)
		}
		o.linksMu.Unlock()
		st.subs = nil
	}
}

// now is the time in chanState.lastUsed units.
func (o *Owner) now() uint32 { return uint32(time.Since(o.epoch) / time.Second) }

func compareMembers(a, b unique.Handle[string]) int { return strings.Compare(a.Value(), b.Value()) }

// findMember returns where user is, or would be, in the sorted members.
func (st *chanState) findMember(user string) (int, bool) {
	return slices.BinarySearchFunc(st.members, user, func(h unique.Handle[string], u string) int {
		return strings.Compare(h.Value(), u)
	})
}

func (st *chanState) isMember(user string) bool {
	_, ok := st.findMember(user)
	return ok
}

// visibleTo applies the access rule (chat.Channel.VisibleTo) to the
// loaded state. st.mu must be held.
func (st *chanState) visibleTo(member bool) bool {
	return chat.Channel{IsPrivate: st.private}.VisibleTo(member)
}

// Publish sequences p and calls reply once it is committed (or failed).
// reply runs on the committer's goroutine and must not block.
func (o *Owner) Publish(p cluster.Post, reply func(chat.Message, error)) {
	if err := p.Check(); err != nil {
		reply(chat.Message{}, err)
		return
	}
	if !o.owns(p.Channel) {
		reply(chat.Message{}, cluster.ErrWrongOwner)
		return
	}
	o.with(p.Channel, func(st *chanState, err error) {
		if err != nil {
			reply(chat.Message{}, err)
			return
		}
		member := st.isMember(p.User)
		switch {
		case !st.visibleTo(member):
			reply(chat.Message{}, chat.ErrChannelNotFound)
			return
		case st.archived:
			reply(chat.Message{}, chat.ErrArchived)
			return
		case !member:
			reply(chat.Message{}, chat.ErrNotInChannel)
			return
		}
		if seq, ts, ok := st.dedup.find(p.ClientMsgID); ok && p.ClientMsgID != "" {
			m := chat.Message{Channel: p.Channel, Seq: seq, TS: ts, User: p.User, Text: p.Text,
				ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID}
			if seq <= st.committed {
				reply(m, nil)
			} else {
				o.enqueue(pending{st: st, msg: m, dup: true, reply: reply})
			}
			return
		}
		ts := chat.TSOf(time.Now())
		if ts <= st.lastTS {
			ts = st.lastTS + 1
		}
		st.lastSeq++
		st.lastTS = ts
		m := chat.Message{Channel: p.Channel, Seq: st.lastSeq, TS: ts, User: p.User,
			Text: p.Text, ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID}
		st.remember(&m)
		o.enqueue(pending{st: st, msg: m, event: rtm.AppendMessage(nil, &m, o.cfg.Team), reply: reply})
	})
}

// Typing passes a user's typing on to the channel's subscribers, at most
// once per TypingEvery per user; non-members and non-owners are ignored.
func (o *Owner) Typing(channel, user string) {
	if channel == "" || user == "" || !o.owns(channel) {
		return
	}
	o.with(channel, func(st *chanState, err error) {
		if err != nil || !st.isMember(user) {
			return
		}
		now := time.Now().UnixNano()
		if now-st.typing[user] < int64(cluster.TypingEvery) {
			return
		}
		if st.typing == nil {
			st.typing = map[string]int64{}
		}
		for u, t := range st.typing {
			if now-t >= int64(cluster.TypingEvery) {
				delete(st.typing, u)
			}
		}
		st.typing[user] = now
		broadcast(st, internode.ChannelEvent{Channel: channel, After: st.committed, Activity: internode.ActivityTyping,
			User: user, Payload: rtm.UserTyping(channel, user)})
	})
}

// broadcast sends an event to every subscriber of st, in the channel's
// order: st.mu must be held. Generic so that ev is not boxed: a
// broadcast allocates nothing.
func broadcast[M internode.Message](st *chanState, ev M) {
	for _, l := range st.subs {
		internode.Send(l, ev)
	}
}

// enqueue adds a sequenced message to the next batch. Callers hold the
// channel's lock, so one channel's messages enter in seq order. Once the
// committer has stopped, p is failed at once.
func (o *Owner) enqueue(p pending) {
	o.commitMu.Lock()
	if o.stopped {
		o.commitMu.Unlock()
		p.reply(chat.Message{}, chat.ErrUnavailable)
		return
	}
	if len(o.commits) == 0 {
		o.firstQueued = time.Now()
	}
	o.commits = append(o.commits, p)
	o.commitMu.Unlock()
	select {
	case o.commitWake <- struct{}{}:
	default:
	}
}

// commitLoop is the group commit: everything queued while the previous
// transaction ran (and, when busy, during the commit window) goes into
// the next one.
func (o *Owner) commitLoop(ctx context.Context) {
	var batch []pending
	var msgs []chat.Message
	var lastCommit time.Time
	for {
		select {
		case <-ctx.Done():
			o.stopCommits()
			return
		case <-o.commitWake:
		}
		for {
			if time.Since(lastCommit) < o.cfg.CommitWindow {
				o.gather(ctx)
			}
			o.commitMu.Lock()
			n := min(len(o.commits), o.cfg.MaxBatch)
			batch = append(batch[:0], o.commits[:n]...)
			o.commits = append(o.commits[:0], o.commits[n:]...)
			o.committing = n > 0
			o.commitMu.Unlock()
			if n == 0 {
				break
			}
			o.commit(batch, &msgs)
			lastCommit = time.Now()
			clear(batch)
		}
	}
}

// stopCommits makes enqueue fail from now on and fails what is queued.
func (o *Owner) stopCommits() {
	o.commitMu.Lock()
	o.stopped = true
	rest := o.commits
	o.commits = nil
	o.commitMu.Unlock()
	for _, p := range rest {
		p.reply(chat.Message{}, chat.ErrUnavailable)
	}
}

// gather waits, while the queue holds less than a full batch, until its
// oldest message has waited CommitWindow.
func (o *Owner) gather(ctx context.Context) {
	for {
		o.commitMu.Lock()
		n, first := len(o.commits), o.firstQueued
		o.commitMu.Unlock()
		wait := o.cfg.CommitWindow - time.Since(first)
		if n == 0 || n >= o.cfg.MaxBatch || wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-o.commitWake: // more arrived: is the batch full yet?
			t.Stop()
		}
	}
}

func (o *Owner) commit(batch []pending, msgs *[]chat.Message) {
	*msgs = (*msgs)[:0]
	for i := range batch {
		p := &batch[i]
		p.st.mu.Lock()
		dropped := p.st.dropped
		p.st.mu.Unlock()
		if dropped {
			p.dup = false
			p.st = nil // answered below without being written
			continue
		}
		if !p.dup {
			*msgs = append(*msgs, p.msg)
		}
	}
	var res []error
	var err error
	if len(*msgs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err = o.cfg.Store.Append(ctx, *msgs)
		cancel()
		if err != nil {
			o.log.Error("commit failed", "messages", len(*msgs), "err", err)
		}
	}
	next := 0 // index into res
	for i := range batch {
		p := &batch[i]
		st := p.st
		if st == nil {
			o.answer(p.reply, chat.Message{}, cluster.ErrConflict)
			continue
		}
		st.mu.Lock()
		switch {
		case p.dup:
			// The original is ahead in this or an earlier batch.
			ok := st.committed >= p.msg.Seq && !st.dropped
			st.mu.Unlock()
			if ok {
				o.answer(p.reply, p.msg, nil)
			} else {
				o.answer(p.reply, chat.Message{}, cluster.ErrConflict)
			}
			continue
		case err != nil:
			o.dropLocked(st) // its seqs were assigned but not written
			st.mu.Unlock()
			o.answer(p.reply, chat.Message{}, chat.ErrUnavailable)
		case res[next] != nil:
			o.log.Warn("fenced: another node wrote this channel", "channel", st.id, "seq", p.msg.Seq)
			o.dropLocked(st)
			st.mu.Unlock()
			o.answer(p.reply, chat.Message{}, cluster.ErrConflict)
		default:
			st.committed = p.msg.Seq
			if len(st.subs) > 0 {
				broadcast(st, internode.Posted{Channel: st.id, Seq: p.msg.Seq, Payload: p.event})
			}
			st.mu.Unlock()
			o.answer(p.reply, p.msg, nil)
		}
		next++
	}
	o.flushAnswers()
}

// Quiesce waits until nothing is queued or being committed, or ctx ends.
// Call it once this node no longer owns channels (after leaving).
func (o *Owner) Quiesce(ctx context.Context) {
	for {
		o.commitMu.Lock()
		idle := len(o.commits) == 0 && !o.committing
		o.commitMu.Unlock()
		if idle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// followView drops the state of channels this node no longer owns and
// evicts idle ones.
func (o *Owner) followView(ctx context.Context) {
	tick := time.NewTicker(o.cfg.IdleAfter / 2)
	defer tick.Stop()
	for {
		v := o.cfg.View()
		select {
		case <-ctx.Done():
			return
		case <-v.Changed():
			o.sweep(func(st *chanState) bool { return !o.owns(st.id) })
		case <-tick.C:
			o.sweep(o.idle)
		}
	}
}

// idle reports whether st may be evicted: no subscriber, nothing being
// committed, unused for IdleAfter. st.mu must be held.
func (o *Owner) idle(st *chanState) bool {
	return len(st.subs) == 0 && st.committed == st.lastSeq && o.now()-st.lastUsed >= uint32(o.cfg.IdleAfter/time.Second)
}

// sweep drops every loaded state for which drop (called with its lock
// held) is true.
func (o *Owner) sweep(drop func(*chanState) bool) {
	var sts []*chanState
	for i := range o.shards {
		sh := &o.shards[i]
		sts = sts[:0]
		sh.mu.Lock()
		for _, st := range sh.m {
			sts = append(sts, st)
		}
		sh.mu.Unlock()
		for _, st := range sts {
			st.mu.Lock()
			if st.loading == nil && drop(st) {
				o.dropLocked(st)
			}
			st.mu.Unlock()
		}
	}
}

// Loaded is the number of channels whose state is in memory.
func (o *Owner) Loaded() int {
	n := 0
	for i := range o.shards {
		sh := &o.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
