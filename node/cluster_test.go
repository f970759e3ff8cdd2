package node_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store/postgres/pgtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if code == 0 {
		if err := goleak.Find(nodetest.LeakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

type channelRes struct {
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
}

func createChannel(t *testing.T, api *client.API, name string) string {
	t.Helper()
	var res channelRes
	nodetest.Call(t, api, "conversations.create", url.Values{"name": {name}}, &res)
	return res.Channel.ID
}

// connect opens an RTM session and checks that hello comes first.
func connect(t *testing.T, api *client.API, resume map[string]uint64) *client.RTM {
	t.Helper()
	return nodetest.Connect(t, api, "", resume)
}

// collect reads frames until n message events arrived, returning them.
func collect(t *testing.T, r *client.RTM, n int) []*client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*client.Event
	for len(out) < n {
		ev, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		if ev.Type == "message" {
			out = append(out, ev)
		}
	}
	return out
}

// TestCrossNodeDelivery: a client on gateway node A receives, in seq
// order, messages posted through admin node B for channels owned by
// three other nodes, with the nodes on the embedded store and on
// PostgreSQL.
func TestCrossNodeDelivery(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCrossNodeDelivery(t, "") })
	t.Run("postgres", func(t *testing.T) { testCrossNodeDelivery(t, pgtest.DB(t)) })
}

func testCrossNodeDelivery(t *testing.T, store string) {
	c := nodetest.StartOn(t, store,
		nodetest.Spec{Name: "gw", Roles: []ring.Role{ring.RoleGateway}, Host: "127.0.0.2"},
		nodetest.Spec{Name: "admin", Roles: []ring.Role{ring.RoleAdmin}, Host: "127.0.0.3"},
		nodetest.Spec{Name: "ch-a", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.0.4"},
		nodetest.Spec{Name: "ch-b", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.0.5"},
		nodetest.Spec{Name: "ch-c", Roles: []ring.Role{ring.RoleChannel}, Host: "127.0.0.6"},
	)
	// Load, not people: up to 60 channels of posts in a burst would meet
	// a person's rate limit.
	bob, _ := c.UserWith(url.Values{"name": {"bob"}, "limit_class": {"unlimited"}})
	alice, _ := c.UserWith(url.Values{"name": {"alice"}, "limit_class": {"unlimited"}})
	// Channel ids are random, so 12 channels miss one of 3 owners about
	// once in 20 runs: create more until every owner has one (at most 60).
	const minChans, maxChans, perChan = 12, 60, 5
	owners := map[string]int{}
	var chans []string
	for i := 0; i < minChans || (len(owners) < 3 && i < maxChans); i++ {
		id := createChannel(t, bob, fmt.Sprintf("room-%d", i))
		nodetest.Call(t, alice, "conversations.join", url.Values{"channel": {id}}, nil)
		chans = append(chans, id)
		owners[nodetest.Owner(c.Node("gw"), id)]++
	}
	nChans := len(chans)
	if len(owners) != 3 {
		t.Fatalf("%d channels spread over %d channel nodes (%v), want all 3", nChans, len(owners), owners)
	}
	r := connect(t, alice, nil)
	for i := range perChan {
		for _, id := range chans {
			nodetest.Call(t, bob, "chat.postMessage", url.Values{"channel": {id}, "text": {fmt.Sprintf("%s #%d", id, i+1)}}, nil)
		}
	}
	got := collect(t, r, nChans*perChan)
	last := map[string]uint64{}
	for _, id := range chans {
		last[id] = 1 // alice's join entry
	}
	for _, ev := range got {
		ch := ev.ChannelID()
		if ev.Seq != last[ch]+1 {
			t.Fatalf("channel %s: seq %d after %d", ch, ev.Seq, last[ch])
		}
		if want := fmt.Sprintf("%s #%d", ch, ev.Seq-1); ev.Text != want {
			t.Fatalf("text %q, want %q", ev.Text, want)
		}
		last[ch] = ev.Seq
	}
	for _, id := range chans {
		if last[id] != perChan+1 {
			t.Fatalf("channel %s: got up to seq %d, want %d", id, last[id], perChan+1)
		}
	}
}
