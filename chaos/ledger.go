package chaos

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Ledger records what publishers had acked and what subscribers
// received, and checks the delivery guarantees. Safe for concurrent use.
type Ledger struct {
	mu    sync.Mutex
	acked map[string]map[uint64]string // channel -> seq -> text
	ackAt map[string][]ack             // channel -> acks, in order
	subs  map[string]*subLog
	fails int
}

type ack struct {
	seq      uint64
	sent, at time.Time
}

type subLog struct {
	got map[string][]delivery // channel -> deliveries in arrival order
}

type delivery struct {
	seq  uint64
	text string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{acked: map[string]map[uint64]string{}, ackAt: map[string][]ack{}, subs: map[string]*subLog{}}
}

// Acked records that a publish of text to channel, first sent at sent,
// was acknowledged with seq at at.
func (l *Ledger) Acked(channel string, seq uint64, text string, sent, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.acked[channel]
	if m == nil {
		m = map[uint64]string{}
		l.acked[channel] = m
	}
	m[seq] = text
	l.ackAt[channel] = append(l.ackAt[channel], ack{seq, sent, at})
}

// Failed records a publish that was never acknowledged.
func (l *Ledger) Failed() {
	l.mu.Lock()
	l.fails++
	l.mu.Unlock()
}

// Delivered records that subscriber sub received (channel, seq, text).
func (l *Ledger) Delivered(sub, channel string, seq uint64, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.subs[sub]
	if s == nil {
		s = &subLog{got: map[string][]delivery{}}
		l.subs[sub] = s
	}
	s.got[channel] = append(s.got[channel], delivery{seq, text})
}

// Last returns the highest seq sub has received on each channel (what it
// resumes from).
func (l *Ledger) Last(sub string) map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]uint64{}
	if s := l.subs[sub]; s != nil {
		for ch, ds := range s.got {
			for _, d := range ds {
				out[ch] = max(out[ch], d.seq)
			}
		}
	}
	return out
}

// FirstAckAfter returns when the first publish to channel that was sent
// at or after t was acked: traffic flowing again after an event at t.
func (l *Ledger) FirstAckAfter(channel string, t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.ackAt[channel] {
		if !a.sent.Before(t) {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// Lagging lists the (subscriber, channel) pairs that have not yet
// received the first publish sent at or after t (for every channel with
// such a publish acked): empty once every client is live again after an
// event at t.
func (l *Ledger) Lagging(t time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for ch, acks := range l.ackAt {
		var want uint64
		for _, a := range acks {
			if !a.sent.Before(t) {
				want = a.seq
				break
			}
		}
		if want == 0 {
			continue
		}
		for name, s := range l.subs {
			var high uint64
			for _, d := range s.got[ch] {
				high = max(high, d.seq)
			}
			if high < want {
				out = append(out, fmt.Sprintf("%s %s (at %d, wants %d)", name, ch, high, want))
			}
		}
	}
	slices.Sort(out)
	return out
}

// AckLatency returns the median and 99th percentile of the time from
// first send to ack of the publishes first sent in [from, to).
func (l *Ledger) AckLatency(from, to time.Time) (p50, p99 time.Duration) {
	l.mu.Lock()
	var d []time.Duration
	for _, acks := range l.ackAt {
		for _, a := range acks {
			if !a.sent.Before(from) && a.sent.Before(to) {
				d = append(d, a.at.Sub(a.sent))
			}
		}
	}
	l.mu.Unlock()
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
}

// Report is the outcome of Check.
type Report struct {
	Acked       int // acknowledged publishes
	Unacked     int // publishes given up on
	Delivered   int // deliveries received, all subscribers
	Expected    int // deliveries of acked messages owed to subscribers
	Lost        int // acked messages a subscriber never received
	Duplicated  int // (channel, seq) received twice by one subscriber
	Reordered   int // a seq received after a higher one of its channel
	Gaps        int // a seq missing between two received ones (acked or not)
	Mismatched  int // a seq received with a text other than the acked one
	Subscribers int
	Problems    []string // the first few, for the log
}

// OK is true when nothing was lost, duplicated, reordered or mismatched.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Gaps == 0 && r.Mismatched == 0
}

func (r Report) String() string {
	return fmt.Sprintf("acked %d, unacked %d, subscribers %d, expected deliveries %d, delivered %d, lost %d, duplicated %d, reordered %d, gaps %d, mismatched %d",
		r.Acked, r.Unacked, r.Subscribers, r.Expected, r.Delivered, r.Lost, r.Duplicated, r.Reordered, r.Gaps, r.Mismatched)
}

// Check verifies, for every subscriber and every channel it received: each
// acked message was received exactly once, in seq order, with its text,
// and the seqs it received are dense from its first.
func (l *Ledger) Check() Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	var r Report
	r.Unacked = l.fails
	r.Subscribers = len(l.subs)
	for _, m := range l.acked {
		r.Acked += len(m)
	}
	problem := func(format string, args ...any) {
		if len(r.Problems) < 20 {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		}
	}
	names := make([]string, 0, len(l.subs))
	for n := range l.subs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		s := l.subs[name]
		for ch, acked := range l.acked {
			ds := s.got[ch]
			r.Delivered += len(ds)
			r.Expected += len(acked)
			seen := map[uint64]string{}
			var high uint64
			for i, d := range ds {
				if _, dup := seen[d.seq]; dup {
					r.Duplicated++
					problem("%s %s: seq %d received twice", name, ch, d.seq)
					continue
				}
				seen[d.seq] = d.text
				if d.seq < high {
					r.Reordered++
					problem("%s %s: seq %d after %d", name, ch, d.seq, high)
				} else if i > 0 && d.seq > high+1 {
					r.Gaps += int(d.seq - high - 1)
					problem("%s %s: seqs %d..%d missing", name, ch, high+1, d.seq-1)
				}
				high = max(high, d.seq)
				if want, ok := acked[d.seq]; ok && want != d.text {
					r.Mismatched++
					problem("%s %s: seq %d is %q, acked as %q", name, ch, d.seq, d.text, want)
				}
			}
			for seq := range acked {
				if _, ok := seen[seq]; !ok {
					r.Lost++
					problem("%s %s: acked seq %d never received", name, ch, seq)
				}
			}
		}
	}
	return r
}

// Durations summarises failover times.
type Durations []time.Duration

func (d Durations) String() string {
	if len(d) == 0 {
		return "none"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var parts []string
	for _, x := range s {
		parts = append(parts, x.Round(time.Millisecond).String())
	}
	return fmt.Sprintf("n=%d min=%v median=%v max=%v (all: %s)", len(s), s[0].Round(time.Millisecond),
		s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), strings.Join(parts, " "))
}
