package ring

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestGossipStates: the transitions gossipStates makes of memberlist's
// events and probe results, and departed members forgotten after the
// window, as memberlist forgets them.
func TestGossipStates(t *testing.T) {
	now := time.Now()
	g := newGossipStates(30 * time.Second)
	for _, n := range []string{"a", "b", "c", "d"} {
		g.alive(n)
	}
	g.suspect("b")
	g.suspect("b") // a second failed probe: still one suspicion
	g.suspect("x") // not a member: nothing
	g.departed("c", false, now)
	g.departed("d", true, now)
	want := GossipState{Alive: 1, Suspect: 1, Dead: 1, Left: 1, Suspicions: 1, Deaths: 1, Leaves: 1}
	if got := g.read(now); got != want {
		t.Fatalf("read: %+v, want %+v", got, want)
	}
	g.NotifyPingComplete(&memberlist.Node{Name: "b"}, time.Millisecond, nil) // b answers a probe
	g.suspect("c")                                                           // dead stays dead
	want = GossipState{Alive: 2, Dead: 1, Left: 1, Suspicions: 1, Deaths: 1, Leaves: 1}
	if got := g.read(now.Add(30 * time.Second)); got != want {
		t.Fatalf("read after the answer: %+v, want %+v", got, want)
	}
	want = GossipState{Alive: 2, Suspicions: 1, Deaths: 1, Leaves: 1}
	if got := g.read(now.Add(31 * time.Second)); got != want {
		t.Fatalf("read after the window: %+v, want %+v", got, want)
	}
	for line, want := range map[string]string{
		"Suspect ch-2 has failed, no acks received": "ch-2",
		"Suspect a b has failed, no acks received":  "a b",
		"Suspect x has failed":                      "",
		"Marking x as failed":                       "",
	} {
		if got, _ := suspectLine(line); got != want {
			t.Errorf("suspectLine(%q) = %q, want %q", line, got, want)
		}
	}
}
