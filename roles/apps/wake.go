package apps

import (
	"context"
	"sync"
	"time"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

// waker subscribes at the channels' owners (as a gateway does, on links
// of its own pool) for the channels the dispatchers read, only to learn
// that something was committed: a Posted wakes the dispatchers of its
// channel, which read the store as always. It is best effort: a lost
// subscription costs latency (the dispatchers still poll every
// Config.Poll), never an event. Safe for concurrent use.
type waker struct {
	a    *Apps
	pool *internode.Pool
	kick chan struct{} // cap 1: some channel needs subscribing

	mu    sync.Mutex // guards chans; a leaf lock
	chans map[string]*wakeSub
}

// wakeSub is one channel's subscription and who wants its wake-ups.
type wakeSub struct {
	ds   map[*dispatcher]struct{}
	link *internode.Client // where it is subscribed; nil: nowhere yet
}

func newWaker(a *Apps) *waker {
	w := &waker{a: a, kick: make(chan struct{}, 1), chans: map[string]*wakeSub{}}
	w.pool = internode.NewPool(a.cfg.Links, w.event, w.down, a.log)
	return w
}

func (w *waker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// watch has d woken by channel's commits.
func (w *waker) watch(d *dispatcher, channel string) {
	w.mu.Lock()
	s := w.chans[channel]
	if s == nil {
		s = &wakeSub{ds: map[*dispatcher]struct{}{}}
		w.chans[channel] = s
	}
	s.ds[d] = struct{}{}
	w.mu.Unlock()
	w.poke()
}

// unwatch undoes watch; the last one out unsubscribes.
func (w *waker) unwatch(d *dispatcher, channel string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.chans[channel]
	if s == nil {
		return
	}
	delete(s.ds, d)
	if len(s.ds) == 0 {
		delete(w.chans, channel)
		if s.link != nil {
			internode.Send(s.link.Link, internode.Unsubscribe{Channel: channel})
		}
	}
}

// event takes a frame an owner pushed, on a link's reader: it must not
// block.
func (w *waker) event(c *internode.Client, f internode.Frame) {
	switch f.Kind {
	case internode.KindPosted, internode.KindPostedAt, internode.KindPostedMember:
		// Owners send PostedAt (every link speaks Version2 and later),
		// and PostedMember for joins and leaves: each a commit.
		var m internode.PostedMember
		var err error
		switch f.Kind {
		case internode.KindPosted:
			err = m.Posted.Decode(f.Body)
		case internode.KindPostedAt:
			err = (*internode.PostedAt)(&m.Posted).Decode(f.Body)
		default:
			err = m.Decode(f.Body)
		}
		if err != nil {
			return
		}
		w.mu.Lock()
		if s := w.chans[m.Channel]; s != nil {
			for d := range s.ds {
				d.wake(m.Channel)
			}
		}
		w.mu.Unlock()
	case internode.KindResubscribe:
		var m internode.Resubscribe
		if m.Decode(f.Body) != nil {
			return
		}
		w.mu.Lock()
		if s := w.chans[m.Channel]; s != nil && s.link == c {
			s.link = nil
		}
		w.mu.Unlock()
		w.poke()
	}
}

// down forgets the subscriptions on a link that ended.
func (w *waker) down(peer string) {
	w.mu.Lock()
	for _, s := range w.chans {
		if s.link != nil && s.link.Peer() == peer {
			s.link = nil
		}
	}
	w.mu.Unlock()
	w.poke()
}

// maintain subscribes what needs it: new channels, those whose link
// ended or whose owner changed; every second too, for good measure.
func (w *waker) maintain(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		v := w.a.cfg.View()
		w.subscribe(ctx, v)
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-v.Changed():
		case <-t.C:
		}
	}
}

func (w *waker) subscribe(ctx context.Context, v *ring.View) {
	w.mu.Lock()
	var need []string
	for ch, s := range w.chans {
		owner, ok := v.Owner(ring.RoleChannel, ch)
		if ok && (s.link == nil || !s.link.Up() || s.link.Peer() != owner.Name) {
			need = append(need, ch)
		}
	}
	w.mu.Unlock()
	for _, ch := range need {
		owner, _ := v.Owner(ring.RoleChannel, ch)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		l, err := w.pool.Get(cctx, owner.Name, owner.Internode)
		var r internode.SubscribeReply
		if err == nil {
			var f internode.Frame
			if f, err = internode.Call(cctx, l, internode.Subscribe{Channel: ch}); err == nil {
				err = r.Decode(f.Body)
			}
		}
		cancel()
		if err != nil || r.Err != "" {
			continue // the next round tries again
		}
		w.mu.Lock()
		if s := w.chans[ch]; s != nil {
			s.link = l
		} else {
			internode.Send(l.Link, internode.Unsubscribe{Channel: ch})
		}
		w.mu.Unlock()
	}
}
