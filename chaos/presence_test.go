package chaos

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/proctest"
)

// presenceWatcher follows presence_change events for a set of users.
type presenceWatcher struct {
	mu     sync.Mutex
	state  map[string]string
	events []presenceEvent
}

type presenceEvent struct {
	user, presence string
	at             time.Time
}

func (w *presenceWatcher) run(ctx context.Context, r *client.RTM) {
	for {
		ev, err := r.Next(ctx)
		if err != nil {
			return
		}
		if ev.Type == "presence_change" {
			w.mu.Lock()
			w.state[ev.User] = ev.Presence
			w.events = append(w.events, presenceEvent{ev.User, ev.Presence, time.Now()})
			w.mu.Unlock()
		}
	}
}

// waitAll waits until every user in users is in state p, and returns when
// the last of them got there (by its latest event).
func (w *presenceWatcher) waitAll(t *testing.T, users []string, p string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		ok := true
		var last time.Time
		for _, u := range users {
			if w.state[u] != p {
				ok = false
				break
			}
			for i := len(w.events) - 1; i >= 0; i-- {
				if w.events[i].user == u {
					if w.events[i].at.After(last) {
						last = w.events[i].at
					}
					break
				}
			}
		}
		w.mu.Unlock()
		if ok {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("users not all %s within %v", p, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventsSince counts events after t (flaps when none were expected).
func (w *presenceWatcher) eventsSince(t time.Time) []presenceEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []presenceEvent
	for _, e := range w.events {
		if e.at.After(t) {
			out = append(out, e)
		}
	}
	return out
}

// describe lists events with their time after t0: what a flap looked
// like, for the next person to read a failure.
func describe(ev []presenceEvent, t0 time.Time) string {
	var b strings.Builder
	for _, e := range ev {
		fmt.Fprintf(&b, "[%s %s +%v] ", e.user, e.presence, e.at.Sub(t0).Round(time.Millisecond))
	}
	return b.String()
}

// TestPresenceUnderFailure: users online on gateway 1, a watcher on
// gateway 2. A presence node is SIGKILLed and restarted: the watcher's
// view stays correct, without flaps. Then gateway 1 is SIGKILLed: its
// users go away, within a bound, measured.
func TestPresenceUnderFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	c := newCluster(t, 5)
	c.admin = c.start("core", "admin,channel")
	gw1 := c.start("gw-1", "gateway")
	gw2 := c.start("gw-2", "gateway")
	pr1 := c.start("pr-1", "presence")
	c.start("pr-2", "presence")
	c.converged(30 * time.Second)

	const online, offline = 16, 8
	var onlineIDs, offlineIDs []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connect := func(api *client.API, gw *proctest.Proc) *client.RTM {
		t.Helper()
		for range 200 {
			var res struct{ URL string }
			if err := api.Call(ctx, "rtm.connect", nil, &res); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.URL, "//"+gw.HTTP+"/") {
				continue
			}
			r, err := client.Dial(ctx, res.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev, err := r.Next(ctx); err != nil || ev.Type != "hello" {
				t.Fatalf("hello: %v %v", ev, err)
			}
			return r
		}
		t.Fatalf("never got %s", gw.Name)
		return nil
	}
	watcherAPI, _ := c.user("watcher")
	var sessions []*client.RTM
	var apis []*client.API
	for i := range online + offline {
		api, id := c.user(fmt.Sprintf("user-%d", i))
		if i < online {
			onlineIDs = append(onlineIDs, id)
			apis = append(apis, api)
		} else {
			offlineIDs = append(offlineIDs, id)
		}
	}
	w := &presenceWatcher{state: map[string]string{}}
	wr := connect(watcherAPI, gw2)
	go w.run(ctx, wr)
	if _, err := wr.Send(ctx, map[string]any{"type": "presence_sub", "ids": append(slices.Clone(onlineIDs), offlineIDs...)}); err != nil {
		t.Fatal(err)
	}
	w.waitAll(t, append(slices.Clone(onlineIDs), offlineIDs...), "away", 10*time.Second)

	// Propagation: connect each online user on gw-1 and time the watcher's
	// active event on gw-2.
	var up, down Durations
	for i, api := range apis {
		t0 := time.Now()
		r := connect(api, gw1)
		at := w.waitAll(t, onlineIDs[i:i+1], "active", 10*time.Second)
		up = append(up, at.Sub(t0))
		t0 = time.Now()
		r.Conn.CloseNow()
		at = w.waitAll(t, onlineIDs[i:i+1], "away", 10*time.Second)
		down = append(down, at.Sub(t0))
		sessions = append(sessions, connect(api, gw1))
		w.waitAll(t, onlineIDs[i:i+1], "active", 10*time.Second)
	}
	t.Logf("presence propagation, disconnect on gw-1 -> away at the watcher on gw-2: %v", down)
	t.Logf("presence propagation, rtm.connect+dial on gw-1 -> active at the watcher on gw-2: %v", up)

	// calm fails on any event at the watcher since quiet, once the
	// settle is over; allActive checks every online user's state.
	calm := func(quiet time.Time, what string) {
		t.Helper()
		time.Sleep(3 * time.Second) // longer than the settle; a flap would show by now
		if ev := w.eventsSince(quiet); len(ev) > 0 {
			t.Fatalf("%s caused %d events: %s", what, len(ev), describe(ev, quiet))
		}
	}
	allActive := func(when string) {
		t.Helper()
		for _, id := range onlineIDs {
			var p struct{ Presence string }
			if err := watcherAPI.Call(ctx, "users.getPresence", url.Values{"user": {id}}, &p); err != nil || p.Presence != "active" {
				t.Fatalf("%s: %s is %q (%v)", when, id, p.Presence, err)
			}
		}
	}

	// A presence node dies: the users it owned move to the other; the
	// watcher must not see a single wrong event.
	quiet := time.Now()
	pr1.Kill()
	c.converged(30 * time.Second)
	calm(quiet, "presence node failure")
	allActive("after the presence node died")
	// It comes back: users move home again, still no flap.
	quiet = time.Now()
	if err := pr1.Restart(); err != nil {
		t.Fatal(err)
	}
	c.converged(30 * time.Second)
	calm(quiet, "presence node restart")

	// A presence node stalls until it is declared dead, then runs again
	// with the state it had: its users move away and back, and the
	// watcher still sees no event.
	quiet = time.Now()
	if err := pr1.Freeze(); err != nil {
		t.Fatal(err)
	}
	c.convergedWithout(pr1.Name, 30*time.Second)
	if err := pr1.Thaw(); err != nil {
		t.Fatal(err)
	}
	c.converged(30 * time.Second)
	calm(quiet, "presence node freeze")
	allActive("after the presence node ran again")

	// The gateway holding every online user stalls (a VM pause, a long
	// stop-the-world) until the cluster declares it dead: its users go
	// away. When it runs again they must come back by themselves, with
	// none of them reconnecting.
	if err := gw1.Freeze(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	at := w.waitAll(t, onlineIDs, "away", 20*time.Second)
	t.Logf("gateway SIGSTOP -> all %d of its users away at the watcher: %v", online, at.Sub(t0).Round(time.Millisecond))
	t0 = time.Now()
	if err := gw1.Thaw(); err != nil {
		t.Fatal(err)
	}
	at = w.waitAll(t, onlineIDs, "active", 20*time.Second)
	t.Logf("gateway SIGCONT -> all %d of its users active again at the watcher: %v", online, at.Sub(t0).Round(time.Millisecond))
	if d := at.Sub(t0); d > 10*time.Second {
		t.Fatalf("users came back %v after their gateway ran again, bound 10s", d)
	}

	// The gateway holding every online user dies.
	t0 = time.Now()
	gw1.Kill()
	at = w.waitAll(t, onlineIDs, "away", 20*time.Second)
	t.Logf("gateway SIGKILL -> all %d of its users away at the watcher: %v", online, at.Sub(t0).Round(time.Millisecond))
	if d := at.Sub(t0); d > 10*time.Second {
		t.Fatalf("users went away %v after their gateway died, bound 10s", d)
	}
	for _, r := range sessions {
		r.Conn.CloseNow()
	}
}
