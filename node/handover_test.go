package node_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// TestChannelNodeHandsOver drains a channel node (POST /drain, as
// `ringcast drain` does) while publishers post to every channel: the
// channels it owned move to their new owners before it leaves, every
// acked message reaches a subscriber once and in order, and the longest
// wait for an ack on a moved channel (the handover's gap) is well under
// a crash's failover: the nodes gossip with the production timing
// (ring.DefaultGossip), with which a SIGKILLed channel node's channels
// wait 1.3-2.8 s (docs/BENCHMARKS.md "Failover").
func TestChannelNodeHandsOver(t *testing.T) {
	prod := func(cfg *config.Config) { cfg.Gossip = ring.DefaultGossip() }
	c := nodetest.Start(t,
		nodetest.Spec{Name: "core", Roles: []ring.Role{ring.RoleAdmin, ring.RolePresence, ring.RoleGateway}, Host: "127.0.52.1", Tune: prod},
		nodetest.Spec{Name: "ch-1", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.52.2", Tune: prod},
		nodetest.Spec{Name: "ch-2", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.52.3", Tune: prod},
		nodetest.Spec{Name: "ch-3", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.52.4", Tune: prod},
	)
	core, leaver := c.Node("core"), c.Node("ch-2")
	pub, _ := c.UserWith(url.Values{"name": {"pub"}, "limit_class": {"unlimited"}})
	var chans, moved []string
	for i := 0; len(moved) < 4 || len(chans) < 12; i++ {
		ch := createChannel(t, pub, fmt.Sprint("handover-", i))
		chans = append(chans, ch)
		if nodetest.Owner(core, ch) == "ch-2" {
			moved = append(moved, ch)
		}
	}
	sub := nodetest.Connect(t, pub, core.HTTPAddr(), nil)

	// The subscriber reads every channel's messages.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[string][]uint64{}
	readDone := make(chan error, 1)
	go func() {
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				readDone <- err
				return
			}
			if ev.Type == "message" {
				mu.Lock()
				got[ev.ChannelID()] = append(got[ev.ChannelID()], ev.Seq)
				mu.Unlock()
			}
		}
	}()

	// One publisher per channel, one post at a time (with a client_msg_id,
	// so that a retry across the move is deduplicated), noting when each
	// ack came.
	type ack struct {
		seq uint64
		at  time.Time
	}
	acks := make([][]ack, len(chans))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, ch := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				var res struct {
					Message struct {
						Seq uint64 `json:"seq"`
					} `json:"message"`
				}
				err := pub.Call(ctx, "chat.postMessage", url.Values{"channel": {ch}, "text": {fmt.Sprint(k)},
					"client_msg_id": {fmt.Sprint(ch, "-", k)}}, &res)
				if err != nil {
					t.Errorf("post %d to %s: %v", k, ch, err)
					return
				}
				acks[i] = append(acks[i], ack{res.Message.Seq, time.Now()})
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // traffic before

	t0 := time.Now()
	drain(t, leaver)
	nodetest.WaitFor(t, 10*time.Second, "ch-2 out of core's view", func() bool {
		_, in := core.View().Members["ch-2"]
		return !in
	})
	left := time.Since(t0)
	for _, ch := range moved {
		if o := nodetest.Owner(core, ch); o == "ch-2" || o == "" {
			t.Fatalf("channel %s still owned by %q", ch, o)
		}
	}
	time.Sleep(500 * time.Millisecond) // traffic after
	close(stop)
	wg.Wait()

	// Every acked message reached the subscriber once, in order.
	nodetest.WaitFor(t, 10*time.Second, "the subscriber to have every acked message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i, ch := range chans {
			if len(got[ch]) < len(acks[i]) {
				return false
			}
		}
		return true
	})
	cancel()
	<-readDone
	var gaps []time.Duration
	isMoved := map[string]bool{}
	for _, ch := range moved {
		isMoved[ch] = true
	}
	var worstMoved, worstStayed time.Duration
	for i, ch := range chans {
		mu.Lock()
		seqs := got[ch]
		mu.Unlock()
		for j, s := range seqs {
			if s != uint64(j+1) {
				t.Fatalf("channel %s: seq %d at %d (lost, duplicated or reordered)", ch, s, j)
			}
		}
		for j, a := range acks[i] {
			if a.seq != uint64(j+1) {
				t.Fatalf("channel %s: ack %d has seq %d", ch, j, a.seq)
			}
		}
		if len(seqs) != len(acks[i]) {
			t.Fatalf("channel %s: %d messages delivered, %d acked", ch, len(seqs), len(acks[i]))
		}
		// The longest wait between two acks from just before the drain.
		var worst time.Duration
		for j := 1; j < len(acks[i]); j++ {
			if prev := acks[i][j-1].at; acks[i][j].at.After(t0) {
				if prev.Before(t0) {
					prev = t0
				}
				worst = max(worst, acks[i][j].at.Sub(prev))
			}
		}
		if isMoved[ch] {
			worstMoved = max(worstMoved, worst)
			gaps = append(gaps, worst)
		} else {
			worstStayed = max(worstStayed, worst)
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	t.Logf("%d channels, %d moved off ch-2; ch-2 out of the view %v after the drain began; longest wait for an ack: moved channels %v (each: %v), the others %v",
		len(chans), len(moved), left.Round(time.Millisecond), worstMoved.Round(time.Millisecond), gaps, worstStayed.Round(time.Millisecond))
	// The handover adds little to what a busy machine does to every
	// channel (the others' longest wait), and stays under a crash's
	// failover.
	if worstMoved > worstStayed+500*time.Millisecond || worstMoved >= 2*time.Second {
		t.Errorf("a moved channel waited %v for an ack (the others %v): the handover is not faster than a crash's failover",
			worstMoved, worstStayed)
	}
}
