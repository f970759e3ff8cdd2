package ring

import (
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// GossipState is what this node's memberlist knows of the members, for
// the metrics.
type GossipState struct {
	// Members by state. Alive and Suspect are the live members
	// (memberlist counts both); Dead and Left the departed ones it still
	// remembers, for GossipToTheDeadTime after their departure.
	Alive, Suspect, Dead, Left int
	// Health is memberlist's awareness of its own health: 0 is healthy;
	// it rises as this node's probes go unanswered.
	Health int
	// Suspicions counts the members this node came to suspect, Deaths
	// those declared dead and Leaves those that left, since it started.
	Suspicions, Deaths, Leaves uint64
}

// gossipState is one member's state.
type gossipState int

const (
	stateAlive gossipState = iota
	stateSuspect
	stateDead
	stateLeft
)

// gossipStates counts the members by state from what memberlist tells
// this node, never by reading memberlist's own *Node values (they change
// under its lock, and its Node.State is never set: hashicorp/memberlist
// #293). A member is:
//   - alive from memberlist's join or update event (it has just set the
//     member alive), and again once it answers one of this node's probes
//     (PingDelegate);
//   - suspect once this node's probe of it failed (memberlist logs the
//     failure and marks the member suspect; the log line is the only
//     public trace of it), until it answers a probe, is updated, or
//     departs. So suspect here is "this node's last probe of it went
//     unanswered": it lasts until the next probe of it (one round over
//     the members) where memberlist may take a refutation sooner, and a
//     suspicion this node only heard from another member is not seen
//     (each node counts its own probes' suspicions);
//   - dead or left from memberlist's leave event (left when the member's
//     last metadata said it was leaving, Meta.Leaving), and forgotten
//     after forget (memberlist's GossipToTheDeadTime), as memberlist
//     forgets it.
//
// Its methods are safe for concurrent use.
type gossipStates struct {
	forget time.Duration

	mu                         sync.Mutex
	members                    map[string]memberState
	suspicions, deaths, leaves uint64
}

type memberState struct {
	state gossipState
	since time.Time // when it departed (dead and left)
}

func newGossipStates(forget time.Duration) *gossipStates {
	return &gossipStates{forget: forget, members: map[string]memberState{}}
}

func (g *gossipStates) alive(name string) {
	g.mu.Lock()
	g.members[name] = memberState{state: stateAlive}
	g.mu.Unlock()
}

func (g *gossipStates) suspect(name string) {
	g.mu.Lock()
	if s, ok := g.members[name]; ok && s.state == stateAlive {
		g.members[name] = memberState{state: stateSuspect}
		g.suspicions++
	}
	g.mu.Unlock()
}

func (g *gossipStates) departed(name string, left bool, now time.Time) {
	g.mu.Lock()
	s := memberState{state: stateDead, since: now}
	if left {
		s.state = stateLeft
		g.leaves++
	} else {
		g.deaths++
	}
	g.members[name] = s
	g.mu.Unlock()
}

// suspected reports whether member name is suspect.
func (g *gossipStates) suspected(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.members[name].state == stateSuspect
}

// read counts the members by state at now, forgetting the departed ones
// memberlist no longer remembers.
func (g *gossipStates) read(now time.Time) GossipState {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := GossipState{Suspicions: g.suspicions, Deaths: g.deaths, Leaves: g.leaves}
	for name, s := range g.members {
		switch s.state {
		case stateAlive:
			out.Alive++
		case stateSuspect:
			out.Suspect++
		default:
			if now.Sub(s.since) > g.forget {
				delete(g.members, name)
			} else if s.state == stateDead {
				out.Dead++
			} else {
				out.Left++
			}
		}
	}
	return out
}

// NotifyPingComplete implements memberlist.PingDelegate: the member
// answered this node's probe. Only its Name is read (memberlist never
// changes a node's name).
func (g *gossipStates) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	g.mu.Lock()
	if s, ok := g.members[other.Name]; ok && s.state == stateSuspect {
		g.members[other.Name] = memberState{state: stateAlive}
	}
	g.mu.Unlock()
}

// AckPayload implements memberlist.PingDelegate: acks carry nothing.
func (g *gossipStates) AckPayload() []byte { return nil }

// suspectLine reads the member's name from memberlist's line for a
// failed probe (its level and "memberlist: " prefix removed).
func suspectLine(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "Suspect ")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, " has failed, no acks received")
	if !ok {
		return "", false
	}
	return name, true
}
