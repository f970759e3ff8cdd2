package limit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// RemoteKey is the log attribute that names the remote end a record is
// about (host:port, or a net.Addr). Records with it are throttled per
// remote host by Throttle; the others pass as they are.
const RemoteKey = "remote"

// LogRate is how many records about one remote host a node logs: a few
// at once, then one every 10 s. A peer sending garbage gets a line now
// and then, not one per packet.
var LogRate = Rate{N: 6, Per: time.Minute}

// Throttle wraps h so that records carrying RemoteKey are passed on at
// most at rate r per remote host. The ones held back are counted, and
// the count rides on the host's next record that passes
// ("suppressed").
func Throttle(h slog.Handler, r Rate) slog.Handler {
	return &throttle{h: h, s: &throttleState{l: New(r), held: map[string]int{}}}
}

type throttle struct {
	h slog.Handler
	s *throttleState // shared by the handlers WithAttrs and WithGroup make
}

type throttleState struct {
	l    *Limiter
	mu   sync.Mutex // guards held
	held map[string]int
}

func (t *throttle) Enabled(ctx context.Context, l slog.Level) bool { return t.h.Enabled(ctx, l) }

func (t *throttle) Handle(ctx context.Context, r slog.Record) error {
	host := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == RemoteKey {
			host = hostOf(a.Value)
			return false
		}
		return true
	})
	if host == "" {
		return t.h.Handle(ctx, r)
	}
	s := t.s
	ok, _ := s.l.Allow(host, Person, r.Time)
	s.mu.Lock()
	if !ok {
		if len(s.held) < 100_000 {
			s.held[host]++
		}
		s.mu.Unlock()
		return nil
	}
	n := s.held[host]
	delete(s.held, host)
	s.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n))
	}
	return t.h.Handle(ctx, r)
}

func (t *throttle) WithAttrs(as []slog.Attr) slog.Handler {
	return &throttle{h: t.h.WithAttrs(as), s: t.s}
}

func (t *throttle) WithGroup(name string) slog.Handler {
	return &throttle{h: t.h.WithGroup(name), s: t.s}
}

// hostOf is the host of an address value: "10.0.0.1" of "10.0.0.1:7946".
func hostOf(v slog.Value) string {
	s := fmt.Sprint(v.Any())
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}
