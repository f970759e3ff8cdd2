package node_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// membershipLog records, per user, when their membership of one channel
// changed: each change as the interval of the call that made it.
type membershipLog struct {
	mu  sync.Mutex
	ops map[string][]memberOp // by user, in order
}

type memberOp struct {
	start, end time.Time
	member     bool // after the op
}

func (l *membershipLog) add(user string, op memberOp) {
	l.mu.Lock()
	l.ops[user] = append(l.ops[user], op)
	l.mu.Unlock()
}

// outsideThroughout reports whether user was certainly not a member at
// any moment of [from, to]: the last change before from left them out
// and no change of theirs began before to.
func (l *membershipLog) outsideThroughout(user string, from, to time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	member := false // nobody is in the channel before the test adds them
	for _, op := range l.ops[user] {
		if !op.start.Before(to) {
			break
		}
		if !op.end.Before(from) {
			return false // a change overlaps the window
		}
		member = op.member
	}
	return !member
}

// received is an event of the private channel that reached a session.
type received struct {
	user string
	at   time.Time
	ev   *client.Event
}

// TestPrivateChannelChurnLeaksNothing: while members are invited and
// leave a private channel over and over from several goroutines, and its
// owner posts all the while, sessions on two gateways receive no event
// of the channel when their user is not a member: zero leaked events
// over thousands of operations. A leak is an event (a message, or another
// member's joined/left) that reached a session whose user was outside
// the channel for the whole time from the event's cause until it arrived.
func TestPrivateChannelChurnLeaksNothing(t *testing.T) {
	const (
		churners   = 6
		sessionsOf = 3 // per churner: one that stays, two that reconnect
	)
	opsEach := 300 // membership changes per churner, at least
	if raceEnabled {
		opsEach = 100 // the posts and session starts keep the total in the thousands
	}
	// minOps is the floor of posts, membership changes and session
	// starts together: the churn goes on past opsEach until it is
	// reached, however fast or loaded the machine is.
	const minOps = 2000
	c := nodetest.Start(t,
		nodetest.Spec{Name: "core", Host: "127.0.22.11", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}},
		nodetest.Spec{Name: "gw-a", Host: "127.0.22.12", Roles: []ring.Role{ring.RoleGateway}},
		nodetest.Spec{Name: "gw-b", Host: "127.0.22.13", Roles: []ring.Role{ring.RoleGateway}})
	gateways := []string{c.Node("gw-a").HTTPAddr(), c.Node("gw-b").HTTPAddr()}
	unlimited := func(name string) (*client.API, string) {
		return c.UserWith(url.Values{"name": {name}, "limit_class": {"unlimited"}})
	}
	owner, _ := unlimited("owner")
	var res struct{ Channel struct{ ID string } }
	nodetest.Call(t, owner, "conversations.create", url.Values{"name": {"secret"}, "is_private": {"true"}}, &res)
	secret := res.Channel.ID

	log := &membershipLog{ops: map[string][]memberOp{}}
	var recvMu sync.Mutex
	var got []received

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	var reconnects, posted, changes atomic.Int64
	enough := func() bool { return posted.Load()+changes.Load()+reconnects.Load() >= minOps }
	type churner struct {
		name, id string
		api      *client.API
	}
	var cs []churner
	for i := range churners {
		name := fmt.Sprint("churner-", i)
		api, id := unlimited(name)
		cs = append(cs, churner{name, id, api})
		for s := range sessionsOf {
			// One session stays; the others reconnect all the time, to
			// whichever gateway rtm.connect picks, so that sessions
			// start (reading the user's channels) in the middle of the
			// churn.
			readers.Add(1)
			go func() {
				defer readers.Done()
				for ctx.Err() == nil {
					r, err := api.Connect(ctx, nil)
					if isCode(err, "service_unavailable") {
						// No gateway in view for a moment: a loaded
						// machine let a probe time out.
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("%s: connect: %v", name, err)
						}
						return
					}
					life := ctx
					var stop context.CancelFunc = func() {}
					if s > 0 {
						life, stop = context.WithTimeout(ctx, time.Duration(20+rand.IntN(60))*time.Millisecond)
					}
					for {
						ev, err := r.Next(life)
						if err != nil {
							break
						}
						if ev.ChannelID() == secret {
							recvMu.Lock()
							got = append(got, received{user: id, at: time.Now(), ev: ev})
							recvMu.Unlock()
						}
					}
					stop()
					r.Conn.CloseNow()
					reconnects.Add(1)
				}
			}()
		}
	}

	// The owner posts all the while, over RTM without waiting for acks
	// (a few hundred a second); the churners are invited and leave.
	pub := nodetest.Connect(t, owner, gateways[0], nil)
	var work sync.WaitGroup
	stopPosts := make(chan struct{})
	work.Add(2)
	go func() {
		defer work.Done()
		for {
			if _, err := pub.Next(ctx); err != nil {
				return // acks and the owner's own copies: not checked here
			}
		}
	}()
	go func() {
		defer work.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopPosts:
				return
			case <-tick.C:
			}
			if _, err := pub.Send(ctx, map[string]any{"type": "message", "channel": secret, "text": fmt.Sprint("m", i)}); err != nil {
				t.Errorf("post %d: %v", i, err)
				return
			}
			posted.Add(1)
		}
	}()
	var churn sync.WaitGroup
	for _, ch := range cs {
		churn.Add(1)
		go func() {
			defer churn.Done()
			in := false
			for i := 0; i < opsEach || !enough(); i++ {
				op := memberOp{start: time.Now(), member: !in}
				var err error
				if in {
					err = ch.api.Call(ctx, "conversations.leave", url.Values{"channel": {secret}}, nil)
				} else {
					err = owner.Call(ctx, "conversations.invite", url.Values{"channel": {secret}, "users": {ch.id}}, nil)
				}
				op.end = time.Now()
				if err != nil {
					t.Errorf("%s: membership change: %v", ch.name, err)
					return
				}
				log.add(ch.id, op)
				changes.Add(1)
				in = !in
				if rand.IntN(4) == 0 {
					time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
				}
			}
			if in { // end outside, so that later events are leaks too
				op := memberOp{start: time.Now()}
				err := ch.api.Call(ctx, "conversations.leave", url.Values{"channel": {secret}}, nil)
				op.end = time.Now()
				if err != nil {
					t.Errorf("%s: last leave: %v", ch.name, err)
				}
				log.add(ch.id, op)
				changes.Add(1)
			}
		}()
	}
	churn.Wait()
	close(stopPosts)
	// Events still on their way after the last change would be leaks
	// too: a last post, seen by nobody, marks the end of the stream.
	nodetest.Call(t, owner, "chat.postMessage", url.Values{"channel": {secret}, "text": {"the end"}}, nil)
	time.Sleep(500 * time.Millisecond) // let stragglers arrive: a leak must not escape by being late
	cancel()
	readers.Wait()
	work.Wait()

	recvMu.Lock()
	defer recvMu.Unlock()
	var leaks []string
	delivered := 0
	for _, r := range got {
		switch r.ev.Type {
		case "message":
			delivered++
		case "member_joined_channel", "member_left_channel":
			if r.ev.User == r.user {
				continue // about oneself: a join's or leave's own notice
			}
		default:
			continue // channel_joined / channel_left: the user's own
		}
		// The owner stamps a message with the time it sequenced it, and
		// a member event with the time of the change (one clock: one
		// process).
		var stamp struct {
			TS      string `json:"ts"`
			EventTS string `json:"event_ts"`
		}
		json.Unmarshal(r.ev.Raw, &stamp)
		ts, err := chat.ParseTS(cmp.Or(stamp.TS, stamp.EventTS))
		if err != nil {
			t.Fatalf("event without a time: %s", r.ev.Raw)
		}
		if log.outsideThroughout(r.user, time.UnixMicro(int64(ts)), r.at) {
			leaks = append(leaks, fmt.Sprintf("%s at %s got %s", r.user, r.at.Format("15:04:05.000000"), r.ev.Raw))
		}
	}
	t.Logf("%d posts, %d membership changes, %d sessions started, %d message deliveries to churners, %d leaked",
		posted.Load(), changes.Load(), reconnects.Load(), delivered, len(leaks))
	if !enough() {
		t.Fatalf("only %d operations", posted.Load()+changes.Load()+reconnects.Load())
	}
	if len(leaks) > 0 {
		n := min(len(leaks), 10)
		t.Fatalf("%d events of the private channel reached non-members; first %d:\n%v", len(leaks), n, leaks[:n])
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
