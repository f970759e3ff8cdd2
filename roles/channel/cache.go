package channel

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/cespare/xxhash/v2"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
)

// cache is the owner's channel-state cache: the loaded state of each
// channel (in 64 shards), its lazy loading, its eviction when idle or no
// longer owned, and the index of which channels each subscribed link
// follows. Safe for concurrent use.
//
// Lock order: chanState.mu, then shard.mu or linksMu; never the other
// way round.
type cache struct {
	self      string
	store     store.Store
	view      func() *ring.View
	idleAfter time.Duration
	log       *slog.Logger
	epoch     time.Time // chanState.lastUsed counts seconds from here
	met       *ownerMetrics

	shards [64]shard

	linksMu sync.Mutex // guards links
	links   map[*internode.Link]map[string]struct{}

	// Shutdown refuses new operations, then waits for the loads in flight
	// (whose queued operations still reach a running committer).
	refusing atomic.Bool
	loadsMu  sync.Mutex     // orders loads.Add against the Wait in refuse
	loads    sync.WaitGroup // load goroutines
}

func newCache(self string, st store.Store, view func() *ring.View, idleAfter time.Duration, log *slog.Logger) *cache {
	c := &cache{self: self, store: st, view: view, idleAfter: idleAfter, log: log, epoch: time.Now(),
		links: map[*internode.Link]map[string]struct{}{}}
	for i := range c.shards {
		c.shards[i].m = map[string]*chanState{}
	}
	return c
}

// refuse makes every later operation fail with chat.ErrUnavailable and
// returns once the loads in flight have run their queued operations.
func (c *cache) refuse() {
	c.loadsMu.Lock()
	c.refusing.Store(true)
	c.loadsMu.Unlock()
	c.loads.Wait()
}

// follow records that link l subscribes to channel id.
func (c *cache) follow(l *internode.Link, id string) {
	c.linksMu.Lock()
	set := c.links[l]
	if set == nil {
		set = map[string]struct{}{}
		c.links[l] = set
	}
	set[id] = struct{}{}
	c.linksMu.Unlock()
}

// unfollow forgets that link l subscribes to channel id.
func (c *cache) unfollow(l *internode.Link, id string) {
	c.linksMu.Lock()
	delete(c.links[l], id)
	c.linksMu.Unlock()
}

// linkGone forgets link l and returns the channels it subscribed to.
func (c *cache) linkGone(l *internode.Link) map[string]struct{} {
	c.linksMu.Lock()
	defer c.linksMu.Unlock()
	ids := c.links[l]
	delete(c.links, l)
	return ids
}

func (c *cache) shard(id string) *shard {
	return &c.shards[xxhash.Sum64String(id)&63]
}

func (c *cache) owns(id string) bool {
	return c.view().Ring(ring.RoleChannel).Owner(id) == c.self
}

// with runs fn with the channel's state locked and loaded, or with the
// load's error. Operations on one channel run in the order with was
// called; fn runs on the caller's goroutine when the state is ready and
// on the loader's otherwise, so it must not block.
func (c *cache) with(id string, fn func(*chanState, error)) {
	if c.refusing.Load() {
		fn(nil, chat.ErrUnavailable)
		return
	}
	for {
		sh := c.shard(id)
		sh.mu.Lock()
		st := sh.m[id]
		if st == nil {
			c.loadsMu.Lock()
			if c.refusing.Load() {
				c.loadsMu.Unlock()
				sh.mu.Unlock()
				fn(nil, chat.ErrUnavailable)
				return
			}
			c.loads.Add(1)
			c.loadsMu.Unlock()
			st = &chanState{id: id, loading: &loadWait{ops: []func(*chanState, error){fn}}}
			sh.m[id] = st
			sh.mu.Unlock()
			go c.load(st)
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
			st.lastUsed = c.now()
			fn(st, nil)
		}
		st.mu.Unlock()
		return
	}
}

// peek returns the channel's state if it is loaded, locked; else nil.
func (c *cache) peek(id string) *chanState {
	sh := c.shard(id)
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
func (c *cache) load(st *chanState) {
	defer c.loads.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	var tail []chat.Message
	var members []string
	var ch chat.Channel
	if ch, err = c.store.Channel(ctx, st.id); errors.Is(err, store.ErrNotFound) {
		err = chat.ErrChannelNotFound
	} else if err == nil {
		// The last seq and ts, and the newest entries: the recent
		// client_msg_ids that retries must not duplicate.
		var last uint64
		if last, st.lastTS, err = c.store.Last(ctx, st.id); err == nil {
			st.lastSeq = last
			tail, err = c.store.Messages(ctx, st.id, max(last, dedupWindow)-dedupWindow, dedupWindow)
		}
		if err == nil {
			members, err = c.store.Members(ctx, st.id)
		}
	}
	if err != nil && err != chat.ErrChannelNotFound {
		c.log.Error("load channel", "channel", st.id, "err", err)
		err = chat.ErrUnavailable
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	ops := st.loading.ops
	st.loading = nil
	if err != nil {
		c.dropLocked(st)
	} else {
		c.met.loads.Inc()
		st.committed = st.lastSeq
		st.archived = ch.IsArchived
		st.private = ch.IsPrivate
		for i := range tail {
			st.remember(&tail[i])
		}
		st.members = make([]unique.Handle[string], len(members))
		for i, m := range members {
			st.members[i] = unique.Make(m)
		}
		slices.SortFunc(st.members, compareMembers)
		st.lastUsed = c.now()
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
func (c *cache) dropLocked(st *chanState) {
	if st.dropped {
		return
	}
	st.dropped = true
	c.met.evictions.Inc()
	// Out of the cache first: a subscriber told to resubscribe may come
	// straight back, and must find a fresh state.
	sh := c.shard(st.id)
	sh.mu.Lock()
	if sh.m[st.id] == st {
		delete(sh.m, st.id)
	}
	sh.mu.Unlock()
	if len(st.subs) > 0 {
		ev := internode.Resubscribe{Channel: st.id}
		c.linksMu.Lock()
		for _, l := range st.subs {
			internode.Send(l, ev)
			delete(c.links[l], st.id)
		}
		c.linksMu.Unlock()
		st.subs = nil
	}
}

// now is the time in chanState.lastUsed units.
func (c *cache) now() uint32 { return uint32(time.Since(c.epoch) / time.Second) }

// followView drops the state of channels this node no longer owns and
// evicts idle ones.
func (c *cache) followView(ctx context.Context) {
	tick := time.NewTicker(c.idleAfter / 2)
	defer tick.Stop()
	for {
		v := c.view()
		select {
		case <-ctx.Done():
			return
		case <-v.Changed():
			c.sweep(func(st *chanState) bool { return !c.owns(st.id) })
		case <-tick.C:
			c.sweep(c.idle)
		}
	}
}

// idle reports whether st may be evicted: no subscriber, nothing being
// committed, unused for IdleAfter. st.mu must be held.
func (c *cache) idle(st *chanState) bool {
	return len(st.subs) == 0 && st.committed == st.lastSeq && c.now()-st.lastUsed >= uint32(c.idleAfter/time.Second)
}

// sweep drops every loaded state for which drop (called with its lock
// held) is true.
func (c *cache) sweep(drop func(*chanState) bool) {
	var sts []*chanState
	for i := range c.shards {
		sh := &c.shards[i]
		sts = sts[:0]
		sh.mu.Lock()
		for _, st := range sh.m {
			sts = append(sts, st)
		}
		sh.mu.Unlock()
		for _, st := range sts {
			st.mu.Lock()
			if st.loading == nil && drop(st) {
				c.dropLocked(st)
			}
			st.mu.Unlock()
		}
	}
}

// loaded is the number of channels whose state is in memory.
func (c *cache) loaded() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
