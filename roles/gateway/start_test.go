package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
)

// journal records, in order, what a session start did.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) note(s string) {
	j.mu.Lock()
	j.events = append(j.events, s)
	j.mu.Unlock()
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.events)
}

// journalStore is a store that knows one user, in no channel, and notes
// when the user or the user's channels are read. The rest of
// store.Store is not used by a session start.
type journalStore struct {
	store.Store
	j *journal
}

func (s journalStore) User(_ context.Context, id string) (chat.User, error) {
	s.j.note("user")
	return chat.User{ID: id}, nil
}

func (s journalStore) UserChannels(context.Context, string) ([]string, error) {
	s.j.note("channels")
	return nil, nil
}

// presenceNode is a presence node that notes reports and queries and
// answers queries.
type presenceNode struct {
	internode.PresenceServer // the rest: not sent by a session start
	j                        *journal
}

func (p presenceNode) Report(_ *internode.Link, m internode.Report) {
	p.j.note(fmt.Sprintf("report %s away=%v", m.User, m.Away))
}
func (p presenceNode) Query(r internode.Request, _ internode.Query) {
	p.j.note("query")
	internode.Answer(r, internode.QueryReply{})
}
func (p presenceNode) LinkClosed(*internode.Link) {}

// TestStartReportsBeforeReadingChannels: a new session's presence node
// has the session's report before the session reads the user's channels.
// A channel joined while the session starts is then in what it reads,
// or its channel_joined (sent by way of the presence node after the
// join) finds the session; reading first left a window in which the
// join was in neither. With no presence node, start does not wait for
// one. The user's row is not read: the away flag the report carries is
// the ticket's (start's argument).
func TestStartReportsBeforeReadingChannels(t *testing.T) {
	key := []byte("k")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, withPresence := range []bool{true, false} {
		j := &journal{}
		members := []ring.Member{{Name: "gw", Meta: ring.Meta{Roles: []ring.Role{ring.RoleGateway}}}}
		if withPresence {
			srv, err := internode.Listen("127.0.0.1:0", internode.Auth{Self: "p", Key: key}, &internode.Dispatcher{Presence: presenceNode{j: j}, Log: logger}, logger)
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve()
			t.Cleanup(func() { srv.Close() })
			members = append(members, ring.Member{Name: "p", Meta: ring.Meta{Roles: []ring.Role{ring.RolePresence}, Internode: srv.Addr()}})
		}
		view := ring.NewStatic(ring.NewView("gw", members))
		g, err := New(testConfig(view.View, journalStore{j: j}, key, logger))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { defer close(ran); g.Run(ctx) }()

		s, _ := testSession(t, g, 0)
		s.user = "U1"
		if !s.start(nil, true) {
			t.Fatal("start failed")
		}
		want := []string{"report U1 away=true", "query", "channels"}
		if !withPresence {
			want = []string{"channels"}
		}
		if got := j.list(); !slices.Equal(got, want) {
			t.Errorf("with a presence node %v: start did %q, want %q", withPresence, got, want)
		}
		cancel()
		<-ran
	}
}

// testConfig is a gateway named gw with clients of the other roles that
// reach no node (the tests do not publish).
func testConfig(view func() *ring.View, st store.Store, key []byte, logger *slog.Logger) Config {
	caller := cluster.NewCaller(view, nil)
	return Config{Self: "gw", Key: key, Links: internode.Auth{Self: "gw", Key: key}, Store: st, View: view, Channels: cluster.NewChannels(caller, "gw", nil),
		Presence: cluster.NewPresence(caller), Logger: logger}
}
