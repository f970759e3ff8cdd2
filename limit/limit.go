package limit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ringcast/ringcast/chat"
)

// Rate is N events per Per, in bursts of up to N. The zero Rate is no
// limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Unlimited reports whether r limits nothing.
func (r Rate) Unlimited() bool { return r.N <= 0 || r.Per <= 0 }

// String writes r as Set reads it: "60/m", "1/s", "20/h", "0" (none).
func (r Rate) String() string {
	if r.Unlimited() {
		return "0"
	}
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/m", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.N)
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// Set parses "N/s", "N/m", "N/h", "N/<duration>" or "0" (no limit).
func (r *Rate) Set(s string) error {
	if s == "0" {
		*r = Rate{}
		return nil
	}
	ns, per, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 0 {
		return fmt.Errorf("rate %q: want N/s, N/m, N/h or 0 for none", s)
	}
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return fmt.Errorf("rate %q: want N/s, N/m, N/h or 0 for none", s)
		}
	}
	*r = Rate{N: n, Per: d}
	return nil
}

// Type names the flag's value in --help.
func (r *Rate) Type() string { return "rate" }

// Class is a user's limit class.
type Class string

// The classes. A bot may do BotFactor times what a person may; unlimited
// is for load tools and trusted integrations, set by an operator.
const (
	Person    Class = ""
	Bot       Class = "bot"
	Unlimited Class = "unlimited"
)

// BotFactor is how many times a person's rates a bot gets.
const BotFactor = 10

// ErrBadClass: not a limit class.
var ErrBadClass = errors.New("limit class: want \"\", \"person\", \"bot\" or \"unlimited\"")

// ParseClass reads a class name ("person" is the default class).
func ParseClass(s string) (Class, error) {
	switch Class(s) {
	case Person, "person":
		return Person, nil
	case Bot, Unlimited:
		return Class(s), nil
	}
	return "", ErrBadClass
}

// ClassOf is u's class: the one set for it, else a bot's for a bot user.
func ClassOf(u chat.User) Class {
	if c, err := ParseClass(u.LimitClass); err == nil && c != Person {
		return c
	}
	if u.IsBot {
		return Bot
	}
	return Person
}

// Limiter keeps one token bucket per key (a user, a user and a method
// tier, a connection...). Safe for concurrent use. Its memory is bounded
// by the keys active within one period: buckets that have filled up
// again are forgotten (a full bucket is the same as none).
type Limiter struct {
	rate Rate

	mu        sync.Mutex // guards buckets, swept
	buckets   map[string]*Bucket
	swept     time.Time
	sweepSize int
}

// Bucket is one token bucket, for a key of a Limiter or on its own (a
// connection's). The zero Bucket is full. Not safe for concurrent use.
type Bucket struct {
	tokens float64
	at     time.Time
}

// Allow takes one event at now from b at rate r for class c; when it is
// refused, retry is how long until one would be allowed.
func (b *Bucket) Allow(r Rate, c Class, now time.Time) (ok bool, retry time.Duration) {
	if r.Unlimited() || c == Unlimited {
		return true, 0
	}
	n := float64(r.N)
	if c == Bot {
		n *= BotFactor
	}
	perSec := n / r.Per.Seconds()
	if b.at.IsZero() {
		b.tokens = n
	} else {
		b.tokens = min(n, b.tokens+now.Sub(b.at).Seconds()*perSec)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / perSec * float64(time.Second)))
}

// New makes a Limiter of rate r (a zero r allows everything).
func New(r Rate) *Limiter {
	return &Limiter{rate: r, buckets: map[string]*Bucket{}, sweepSize: 1024}
}

// Allow takes one event for key of class c at now. When it is refused,
// retry is how long until one would be allowed.
func (l *Limiter) Allow(key string, c Class, now time.Time) (ok bool, retry time.Duration) {
	if l == nil || l.rate.Unlimited() || c == Unlimited {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &Bucket{}
		l.buckets[key] = b
		l.sweepLocked(now)
	}
	return b.Allow(l.rate, c, now)
}

// sweepLocked forgets the buckets that are full again, at most once a
// period and only once there are many. l.mu must be held.
func (l *Limiter) sweepLocked(now time.Time) {
	if len(l.buckets) < l.sweepSize || now.Sub(l.swept) < l.rate.Per {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		// Filled up again whatever the class (a person's refill is the
		// slowest): forgetting it changes nothing.
		if now.Sub(b.at) >= l.rate.Per {
			delete(l.buckets, k)
		}
	}
	l.sweepSize = max(1024, 2*len(l.buckets))
}

// RetryAfter is Retry-After's value for a wait of d: whole seconds,
// rounded up, at least 1.
func RetryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
