package channel

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/cespare/xxhash/v2"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/internode"
)

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

// sequence gives m the channel's next seq and a ts after every other.
// st.mu must be held.
func (st *chanState) sequence(m *chat.Message) {
	ts := chat.TSOf(time.Now())
	if ts <= st.lastTS {
		ts = st.lastTS + 1
	}
	st.lastSeq++
	st.lastTS = ts
	m.Seq, m.TS = st.lastSeq, ts
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
