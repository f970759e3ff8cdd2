package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/node/nodetest"
)

// limitedNode is one node with limits tuned by tune (the rest default).
func limitedNode(t *testing.T, host string, tune func(*limit.Config)) *nodetest.Cluster {
	return nodetest.Start(t, nodetest.Spec{Name: "solo", Host: host, Tune: func(c *config.Config) { tune(&c.Limits) }})
}

// refusedBy checks the gateway's count of refusals by each limit
// (ringcast_gateway_refused_total, from the node's start) in /metrics.
func refusedBy(t *testing.T, c *nodetest.Cluster, want map[string]float64) {
	t.Helper()
	m := nodetest.Scrape(t, c.First())
	for _, l := range []string{"rtm_frames", "rtm_messages", "user_messages", "inflight", "sockets_per_user", "sockets_per_gateway", "draining"} {
		if got := m[`ringcast_gateway_refused_total{limit="`+l+`"}`]; got != want[l] {
			t.Errorf("ringcast_gateway_refused_total{limit=%q} = %v, want %v", l, got, want[l])
		}
	}
}

// acks sends n messages to ch on r and returns the error code of each
// answer (0 for an ack).
func acks(t *testing.T, r *client.RTM, ch string, n int) []int {
	t.Helper()
	want := map[int64]int{}
	for i := range n {
		id, err := r.Send(t.Context(), map[string]any{"type": "message", "channel": ch, "text": "m"})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = i
	}
	codes := make([]int, n)
	for left := n; left > 0; {
		ev := nodetest.Next(t, r)
		if ev.ReplyTo == nil {
			continue
		}
		i, ok := want[*ev.ReplyTo]
		if !ok {
			continue
		}
		left--
		if ev.Error != nil {
			codes[i] = ev.Error.Code
			if ev.Error.Code == -1 && ev.Error.Msg != "slow down, too many messages..." {
				t.Fatalf("rate-limit ack: %s", ev.Raw)
			}
		}
	}
	return codes
}

func count(codes []int, code int) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

func historyLen(t *testing.T, api *client.API, ch string) int {
	t.Helper()
	var h struct{ Messages []any }
	nodetest.Call(t, api, "conversations.history", url.Values{"channel": {ch}, "limit": {"999"}}, &h)
	return len(h.Messages)
}

// TestRTMMessageRate: a websocket over its message rate gets Slack's
// error ack (code -1, "slow down, too many messages...") for each
// message over, nothing is stored for those, and the user's rate counts
// messages from every connection and from chat.postMessage together.
func TestRTMMessageRate(t *testing.T) {
	c := limitedNode(t, "127.0.22.41", func(l *limit.Config) {
		l.RTMMessages = limit.Rate{N: 3, Per: time.Hour}
		l.Messages = limit.Rate{N: 5, Per: time.Hour}
	})
	alice, _ := c.User("alice")
	ch := createChannel(t, alice, "general")
	r1 := nodetest.Connect(t, alice, "", nil)
	if codes := acks(t, r1, ch, 4); count(codes, 0) != 3 || codes[3] != -1 {
		t.Fatalf("one connection, 4 messages at 3 an hour: %v", codes)
	}
	r2 := nodetest.Connect(t, alice, "", nil)
	if codes := acks(t, r2, ch, 3); count(codes, 0) != 2 || codes[2] != -1 { // the user's 4th and 5th
		t.Fatalf("a second connection, the user at 3 of 5: %v", codes)
	}
	if err := alice.Call(context.Background(), "chat.postMessage", url.Values{"channel": {ch}, "text": {"x"}}, nil); !isCode(err, "ratelimited") {
		t.Fatalf("chat.postMessage after 5 over RTM: %v", err)
	}
	if n := historyLen(t, alice, ch); n != 5 {
		t.Fatalf("history has %d messages, want 5", n)
	}
	// A bot may send ten times as many.
	bot, _ := c.UserWith(url.Values{"name": {"ci"}, "is_bot": {"true"}})
	nodetest.Call(t, bot, "conversations.join", url.Values{"channel": {ch}}, nil)
	rb := nodetest.Connect(t, bot, "", nil)
	if codes := acks(t, rb, ch, 31); count(codes, 0) != 30 || codes[30] != -1 {
		t.Fatalf("a bot, 31 messages at 30 an hour: %v", codes)
	}
	refusedBy(t, c, map[string]float64{"rtm_messages": 2, "user_messages": 1})
}

// TestRTMFrameFlood: every frame counts; frames over the rate are
// answered, and a client that keeps sending is disconnected (1008).
func TestRTMFrameFlood(t *testing.T) {
	c := limitedNode(t, "127.0.22.42", func(l *limit.Config) { l.RTMFrames = limit.Rate{N: 5, Per: time.Hour} })
	alice, _ := c.User("alice")
	r := nodetest.Connect(t, alice, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		// Exactly what it takes: frames the server has not read when it
		// closes would make its kernel reset the connection, and the
		// client lose the close frame.
		for range 5 + 100 {
			if _, err := r.Send(ctx, map[string]any{"type": "ping"}); err != nil {
				return
			}
		}
	}()
	pongs, refused := 0, 0
	for {
		ev, err := r.Next(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("after %d pongs and %d refusals: %v, want close 1008", pongs, refused, err)
			}
			break
		}
		switch {
		case ev.Type == "pong":
			pongs++
		case ev.Error != nil && ev.Error.Code == -1:
			refused++
		}
	}
	if pongs != 5 || refused != 100 {
		t.Fatalf("%d pongs, %d refusals before the close; want 5 and 100", pongs, refused)
	}
	refusedBy(t, c, map[string]float64{"rtm_frames": 100})
}

// TestSocketCaps: a user's websockets past --limit-sockets-per-user, and
// any past --limit-sockets, are closed with 1013 (try again later) right
// after the handshake; a bot may open ten times as many.
func TestSocketCaps(t *testing.T) {
	c := limitedNode(t, "127.0.22.43", func(l *limit.Config) {
		l.SocketsPerUser = 2
		l.SocketsPerGateway = 24
	})
	refused := func(api *client.API) {
		t.Helper()
		r, err := api.Connect(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Conn.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ev, err := r.Next(ctx) // not even hello: the close alone
		if websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
			t.Fatalf("over the cap: %v %v, want close 1013", ev, err)
		}
	}
	alice, _ := c.User("alice")
	a1 := nodetest.Connect(t, alice, "", nil)
	nodetest.Connect(t, alice, "", nil)
	refused(alice)
	bot, _ := c.UserWith(url.Values{"name": {"ci"}, "is_bot": {"true"}})
	for range 20 {
		nodetest.Connect(t, bot, "", nil)
	}
	refused(bot)
	bob, _ := c.User("bob")
	carol, _ := c.User("carol")
	nodetest.Connect(t, bob, "", nil)
	nodetest.Connect(t, bob, "", nil) // 24: the gateway is full
	refused(carol)
	refusedBy(t, c, map[string]float64{"sockets_per_user": 2, "sockets_per_gateway": 1})
	a1.Close()
	nodetest.WaitFor(t, 10*time.Second, "alice's session to go", func() bool { return sessions(t, c) == 23 })
	nodetest.Connect(t, carol, "", nil)
}

// sessions is the node's count of websockets, from /status.
func sessions(t *testing.T, c *nodetest.Cluster) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+c.First().HTTPAddr()+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+c.First().AdminKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Sessions int }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Sessions
}

// TestDeadPeerNoticed: the gateway pings a silent websocket and closes
// one that does not answer; a client that answers stays.
func TestDeadPeerNoticed(t *testing.T) {
	const ping = 200 * time.Millisecond
	c := limitedNode(t, "127.0.22.44", func(l *limit.Config) { l.RTMPing = ping })
	alice, _ := c.User("alice")
	answering := nodetest.Connect(t, alice, "", nil) // reading: coder/websocket answers pings
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, err := answering.Next(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	silent := nodetest.Connect(t, alice, "", nil) // reads nothing: answers no ping
	nodetest.WaitFor(t, 10*time.Second, "the silent session to be closed", func() bool { return sessions(t, c) == 1 })
	select {
	case err := <-readErr:
		t.Fatalf("the answering client was closed: %v", err)
	default:
	}
	_, err := silent.Next(t.Context())
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("the silent client: %v, want close 1008", err)
	}
}

// TestRTMInflightCap: one websocket has at most 256 messages sent and
// not yet acknowledged; the next gets the rate-limit error ack (-1), is
// not stored, and the user may send again once acks come back. The
// owner holds its commits for up to a second here, so a burst piles up.
func TestRTMInflightCap(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo", Host: "127.0.23.5", Tune: func(cfg *config.Config) { cfg.CommitWindow = time.Second }})
	alice, _ := c.UserWith(url.Values{"name": {"alice"}, "limit_class": {"unlimited"}})
	ch := createChannel(t, alice, "general")
	r := nodetest.Connect(t, alice, "", nil)
	codes := acks(t, r, ch, 600)
	acked, limited := count(codes, 0), count(codes, -1)
	t.Logf("600 sent at once: %d acked, %d refused", acked, limited)
	if limited == 0 || acked+limited != 600 {
		t.Fatalf("600 sent at once: %d acked, %d refused (-1), the rest %v", acked, limited, codes)
	}
	if n := historyLen(t, alice, ch); n != acked {
		t.Fatalf("history has %d messages, %d were acked", n, acked)
	}
	refusedBy(t, c, map[string]float64{"inflight": float64(limited)})
	if codes := acks(t, r, ch, 1); codes[0] != 0 {
		t.Fatalf("once the acks came back: %v", codes)
	}
}
