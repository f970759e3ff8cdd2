package gateway

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/roles/channel"
	"github.com/ringcast/ringcast/roles/presence"
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
// when the user's channels are read. The rest of store.Store is not
// used by a session start.
type journalStore struct {
	store.Store
	j *journal
}

func (s journalStore) User(_ context.Context, id string) (chat.User, error) {
	return chat.User{ID: id}, nil
}

func (s journalStore) UserChannels(context.Context, string) ([]string, error) {
	s.j.note("channels")
	return nil, nil
}

// presenceNode is a presence node that notes reports and queries and
// answers queries.
type presenceNode struct{ j *journal }

func (p presenceNode) HandleFrame(l *internode.Link, f *internode.Frame) {
	switch f.Op {
	case presence.OpReport:
		p.j.note("report " + f.User)
	case presence.OpQuery:
		p.j.note("query")
		l.Send(&internode.Frame{Kind: internode.KindReply, ReqID: f.ReqID})
	}
}

func (presenceNode) LinkClosed(*internode.Link) {}

// TestStartReportsBeforeReadingChannels: a new session's presence node
// has the session's report before the session reads the user's channels.
// A channel joined while the session starts is then in what it reads,
// or its channel_joined (sent by way of the presence node after the
// join) finds the session; reading first left a window in which the
// join was in neither. With no presence node, start does not wait for
// one.
func TestStartReportsBeforeReadingChannels(t *testing.T) {
	key := []byte("k")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, withPresence := range []bool{true, false} {
		j := &journal{}
		members := []ring.Member{{Name: "gw", Meta: ring.Meta{Roles: []ring.Role{ring.RoleGateway}}}}
		if withPresence {
			srv, err := internode.Listen("127.0.0.1:0", "p", key, presenceNode{j}, logger)
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve()
			t.Cleanup(func() { srv.Close() })
			members = append(members, ring.Member{Name: "p", Meta: ring.Meta{Roles: []ring.Role{ring.RolePresence}, Internode: srv.Addr()}})
		}
		view := ring.NewStatic(ring.NewView("gw", members))
		g, err := New(Config{Self: "gw", Key: key, Store: journalStore{j: j}, View: view.View,
			Router: channel.NewRouter(view.View, nil, "gw", nil), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { defer close(ran); g.Run(ctx) }()

		s, _ := testSession(t, g, 0)
		s.user = "U1"
		if !s.start(nil) {
			t.Fatal("start failed")
		}
		want := []string{"report U1", "query", "channels"}
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

// TestEventKindsDiffer: the gateway tells presence events from channel
// events by their Op alone, so no two may share one.
func TestEventKindsDiffer(t *testing.T) {
	seen := map[byte]string{}
	for name, op := range map[string]byte{
		"channel.EvMessage": channel.EvMessage, "channel.EvResubscribe": channel.EvResubscribe,
		"channel.EvTyping": channel.EvTyping, "channel.EvMemberJoined": channel.EvMemberJoined,
		"channel.EvMemberLeft": channel.EvMemberLeft,
		"presence.EvPresence":  presence.EvPresence, "presence.EvUser": presence.EvUser,
		"presence.EvResync": presence.EvResync,
	} {
		if other, dup := seen[op]; dup {
			t.Errorf("%s and %s are both %d", name, other, op)
		}
		seen[op] = name
	}
}
