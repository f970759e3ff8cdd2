package channel

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/internal/lifecycle"
	"github.com/ringcast/ringcast/metrics"
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
	// Metrics is where the owner registers its metrics (nil: nowhere).
	Metrics prometheus.Registerer
}

// Owner is the channel role. Safe for concurrent use.
//
// It is two parts, each with its own locks: the channel-state cache
// (cache.go: the loaded states, their loading, eviction and dropping,
// and which channels each subscribed link follows) and the committer
// (committer.go: the queue of sequenced messages, the group commit, the
// replies). The owner itself sequences posts and changes members under a
// channel's lock.
type Owner struct {
	cfg     Config
	log     *slog.Logger
	cache   *cache
	commits *committer

	memberMus [64]sync.Mutex // serialise membership changes per channel (held across store I/O)

	life      *lifecycle.Group // the committer, the view follower, membership changes
	closeOnce sync.Once
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
	log := cfg.Logger.With("role", "channel")
	c := newCache(cfg.Self, cfg.Store, cfg.View, cfg.IdleAfter, log)
	c.met = newOwnerMetrics(metrics.Registerer(cfg.Metrics), c)
	o := &Owner{
		cfg:     cfg,
		log:     log,
		cache:   c,
		commits: newCommitter(cfg.Store, c, cfg.MaxBatch, cfg.CommitWindow, log),
		life:    lifecycle.NewGroup(),
	}
	return o, nil
}

// Run commits batches, follows ownership changes and evicts idle state
// until ctx ends or Close; then it shuts down as Close does.
func (o *Owner) Run(ctx context.Context) error {
	o.life.Go(o.cache.followView)
	o.life.Go(o.commits.run)
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
		o.cache.refuse()
		o.life.Close()
		o.commits.stop() // in case the committer never ran
	})
	return nil
}

// Publish sequences p and calls reply once it is committed (or failed).
// reply runs on the committer's goroutine and must not block.
func (o *Owner) Publish(p cluster.Post, reply func(chat.Message, error)) {
	if err := p.Check(); err != nil {
		reply(chat.Message{}, err)
		return
	}
	if !o.cache.owns(p.Channel) {
		reply(chat.Message{}, chat.ErrWrongOwner)
		return
	}
	o.cache.with(p.Channel, func(st *chanState, err error) {
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
				ThreadTS: p.ThreadTS, ClientMsgID: p.ClientMsgID, More: richOf(p)}
			if seq <= st.committed {
				reply(m, nil)
			} else {
				o.commits.enqueue(pending{st: st, msg: m, dup: true, reply: reply})
			}
			return
		}
		m := chat.Message{Channel: p.Channel, User: p.User, Text: p.Text, ThreadTS: p.ThreadTS,
			ClientMsgID: p.ClientMsgID, More: richOf(p)}
		st.sequence(&m)
		st.remember(&m)
		o.cache.met.published.Inc()
		o.commits.enqueue(pending{st: st, msg: m, event: rtm.AppendMessage(nil, withBot(&m, p.More), o.cfg.Team), reply: reply})
	})
}

// withBot is m as its live event shows it: with the post's bot, which
// is not stored (chat.More.Bot).
func withBot(m *chat.Message, x *chat.More) *chat.Message {
	if x == nil || x.Bot == nil {
		return m
	}
	return m.WithBot(x.Bot)
}

// richOf keeps of a post's More only what a post may set: blocks,
// attachments, and on a reply thread_broadcast and its parent's author
// (parent_user_id, which the poster's node read when it checked the
// parent).
func richOf(p cluster.Post) *chat.More {
	x := p.More
	if x == nil {
		return nil
	}
	sub, author := x.Subtype, x.Author
	if sub != chat.SubtypeThreadBroadcast || p.ThreadTS == 0 {
		sub = ""
	}
	if p.ThreadTS == 0 {
		author = ""
	}
	if sub == "" && author == "" && x.Blocks == "" && x.Attachments == "" {
		return nil
	}
	return &chat.More{Subtype: sub, Author: author, Blocks: x.Blocks, Attachments: x.Attachments}
}

// Typing passes a user's typing on to the channel's subscribers, at most
// once per TypingEvery per user; non-members and non-owners are ignored.
func (o *Owner) Typing(channel, user string) {
	if channel == "" || user == "" || !o.cache.owns(channel) {
		return
	}
	o.cache.with(channel, func(st *chanState, err error) {
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

// posted sends a committed message to every subscriber of st, with its
// commit time where the link speaks internode.Version2. st.mu must be
// held.
func posted(st *chanState, m internode.Posted) {
	for _, l := range st.subs {
		internode.SendPosted(l, m)
	}
}

// Quiesce waits until nothing is queued or being committed, or ctx ends.
// Call it once this node no longer owns channels (after leaving).
func (o *Owner) Quiesce(ctx context.Context) { o.commits.quiesce(ctx) }

// Loaded is the number of channels whose state is in memory.
func (o *Owner) Loaded() int { return o.cache.loaded() }

// ChannelStatus is what the owner knows of one channel, for operators.
type ChannelStatus struct {
	Loaded      bool     `json:"loaded"`                // its state is in memory
	Committed   uint64   `json:"committed_seq"`         // the last seq committed (when loaded)
	Subscribers []string `json:"subscribers,omitempty"` // the nodes (gateways) subscribed to it, by name
}

// Status reports channel id as this owner has it: nothing but
// Loaded=false when its state is not in memory (no gateway subscribes).
func (o *Owner) Status(id string) ChannelStatus {
	st := o.cache.peek(id)
	if st == nil {
		return ChannelStatus{}
	}
	defer st.mu.Unlock()
	s := ChannelStatus{Loaded: true, Committed: st.committed}
	for _, l := range st.subs {
		s.Subscribers = append(s.Subscribers, l.Peer())
	}
	slices.Sort(s.Subscribers)
	return s
}
