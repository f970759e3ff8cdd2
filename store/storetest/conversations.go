package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// dm is a direct message as the Web API makes one.
func dm(id string, typ chat.ChannelType, creator string) chat.Channel {
	return chat.Channel{ID: id, Creator: creator, Created: 1700000000, IsPrivate: true, Type: typ}
}

func testOpenDM(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateChannel(ctx, chat.Channel{ID: "C1", Name: "general", Creator: "U1"}))
	pair := []string{"U1", "U2"}
	ch, created, err := s.OpenDM(ctx, dm("D1", chat.TypeIM, "U1"), pair)
	must(t, err)
	want := dm("D1", chat.TypeIM, "U1")
	want.Name = chat.DMName(pair)
	if !created || ch != want {
		t.Fatalf("first OpenDM = %+v, %v; want %+v, created", ch, created, want)
	}
	// The same people again (the other one asking): the same conversation,
	// nothing new written.
	again, created, err := s.OpenDM(ctx, dm("D2", chat.TypeIM, "U2"), pair)
	must(t, err)
	if created || again != want {
		t.Fatalf("second OpenDM = %+v, %v; want %+v, not created", again, created, want)
	}
	if _, err := s.Channel(ctx, "D2"); err == nil {
		t.Fatal("the second OpenDM wrote its channel")
	}
	got, err := s.Channel(ctx, "D1")
	must(t, err)
	if got != want {
		t.Fatalf("Channel(D1) = %+v, want %+v", got, want)
	}
	members, err := s.Members(ctx, "D1")
	must(t, err)
	if !slices.Equal(members, pair) {
		t.Fatalf("members = %v, want %v", members, pair)
	}
	// Another set of people is another conversation.
	trio := []string{"U1", "U2", "U3"}
	g, created, err := s.OpenDM(ctx, dm("G1", chat.TypeMPIM, "U3"), trio)
	must(t, err)
	if !created || g.ID != "G1" || g.Type != chat.TypeMPIM {
		t.Fatalf("group OpenDM = %+v, %v", g, created)
	}
	if mine, _ := s.UserChannels(ctx, "U3"); !slices.Equal(mine, []string{"G1"}) {
		t.Fatalf("U3's channels = %v", mine)
	}
	if list, _ := s.ListChannels(ctx, "", 10); len(list) != 3 || list[0].Type != chat.TypeChannel {
		t.Fatalf("ListChannels = %+v", list)
	}
}

// testOpenDMConcurrently: two nodes opening the same conversations at
// once, many times over, each time agree on one.
func testOpenDMConcurrently(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const n = 20
	var got [2][n]string
	var wg sync.WaitGroup
	for i, s := range []store.Store{a, b} {
		wg.Go(func() {
			for j := range n {
				people := []string{"U0", fmt.Sprintf("U%02d", j+1)}
				ch, _, err := s.OpenDM(ctx, dm(fmt.Sprintf("D%d%02d", i, j), chat.TypeIM, people[i]), people)
				if err != nil {
					t.Error(err)
					return
				}
				got[i][j] = ch.ID
			}
		})
	}
	wg.Wait()
	for j := range n {
		if got[0][j] != got[1][j] || got[0][j] == "" {
			t.Fatalf("conversation %d: the two nodes got %q and %q", j, got[0][j], got[1][j])
		}
		members, err := a.Members(ctx, got[0][j])
		must(t, err)
		if len(members) != 2 {
			t.Fatalf("conversation %d has members %v", j, members)
		}
	}
}

func testMarks(t *testing.T, s store.Store) {
	ctx := context.Background()
	if ts, err := s.LastRead(ctx, "U1", "C1"); err != nil || ts != 0 {
		t.Fatalf("LastRead before any mark = %v, %v", ts, err)
	}
	must(t, s.SetLastRead(ctx, "U1", "C1", 1700000000_000200))
	must(t, s.SetLastRead(ctx, "U2", "C1", 1700000000_000100))
	if ts, err := s.LastRead(ctx, "U1", "C1"); err != nil || ts != 1700000000_000200 {
		t.Fatalf("LastRead = %v, %v", ts, err)
	}
	// Marking back (mark as unread) is allowed.
	must(t, s.SetLastRead(ctx, "U1", "C1", 1700000000_000050))
	if ts, _ := s.LastRead(ctx, "U1", "C1"); ts != 1700000000_000050 {
		t.Fatalf("LastRead after marking back = %v", ts)
	}
	if ts, _ := s.LastRead(ctx, "U2", "C1"); ts != 1700000000_000100 {
		t.Fatalf("another user's mark = %v", ts)
	}
	if ts, _ := s.LastRead(ctx, "U1", "C2"); ts != 0 {
		t.Fatalf("another channel's mark = %v", ts)
	}
	must(t, s.SetLastRead(ctx, "U1", "C2", 1700000000_000300))
	if all, err := s.LastReads(ctx, "U1"); err != nil || len(all) != 2 || all["C1"] != 1700000000_000050 || all["C2"] != 1700000000_000300 {
		t.Fatalf("LastReads = %v, %v", all, err)
	}
	if all, err := s.LastReads(ctx, "U9"); err != nil || len(all) != 0 {
		t.Fatalf("LastReads of nobody's = %v, %v", all, err)
	}
	for _, step := range []struct {
		user    string
		closed  bool
		changed bool
	}{{"U1", true, true}, {"U1", true, false}, {"U2", true, true}, {"U1", false, true}, {"U1", false, false}, {"U2", false, true}} {
		if changed, err := s.SetClosed(ctx, step.user, "D1", step.closed); err != nil || changed != step.changed {
			t.Fatalf("SetClosed(%s, %v) = %v, %v; want %v", step.user, step.closed, changed, err, step.changed)
		}
	}
	if closed, err := s.ClosedDMs(ctx, "U1"); err != nil || len(closed) != 0 {
		t.Fatalf("ClosedDMs after reopening = %v, %v", closed, err)
	}
	for _, c := range [][2]string{{"U1", "D1"}, {"U1", "G1"}, {"U2", "D2"}} {
		if _, err := s.SetClosed(ctx, c[0], c[1], true); err != nil {
			t.Fatal(err)
		}
	}
	if closed, err := s.ClosedDMs(ctx, "U1"); err != nil || len(closed) != 2 || !closed["D1"] || !closed["G1"] {
		t.Fatalf("ClosedDMs = %v, %v; want D1 and G1", closed, err)
	}
	if closed, err := s.ClosedDMs(ctx, "U9"); err != nil || len(closed) != 0 {
		t.Fatalf("ClosedDMs of nobody's = %v, %v", closed, err)
	}
}
