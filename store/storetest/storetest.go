package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// Run checks a backend. fresh is called once per subtest: it makes a
// new, empty database and returns a function that opens a store on it
// (called twice, two handles on one database, as two nodes have). The
// suite closes what it opens.
func Run(t *testing.T, fresh func(t *testing.T) func() (store.Store, error)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"Channels", testChannels},
		{"Members", testMembers},
		{"AppendAndRead", testAppendAndRead},
		{"AppendFencesStaleWriters", testAppendFences},
		{"AppendWritesUpToTheFirstConflict", testAppendUpToConflict},
		{"History", testHistory},
		{"HistoryAcrossCommits", testHistoryAcrossCommits},
		{"Meta", testMeta},
		{"EntriesAndState", testEntriesAndState},
		{"StaleChangeNotApplied", testStaleChange},
		{"ChannelChanges", testChannelChanges},
		{"Revocations", testRevocations},
		{"OpenDM", testOpenDM},
		{"Marks", testMarks},
		{"Apps", testApps},
		{"AppUpdateDelete", testAppUpdateDelete},
		{"Search", testSearch},
		{"SearchSkipsRefused", testSearchSkipsRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, opened(t, fresh(t)))
		})
	}
	t.Run("OpenDMConcurrentlyFromTwoConnections", func(t *testing.T) {
		open := fresh(t)
		testOpenDMConcurrently(t, opened(t, open), opened(t, open))
	})
	t.Run("AppendTwoStaleOwnersFromTwoConnections", func(t *testing.T) {
		open := fresh(t)
		testStaleOwners(t, opened(t, open), opened(t, open))
	})
}

// opened opens a store with open; t.Cleanup closes it.
func opened(t *testing.T, open func() (store.Store, error)) store.Store {
	t.Helper()
	s, err := open()
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := chat.User{ID: "U1", Name: "alice", RealName: "Alice", Email: "a@example.com", Created: 1700000000, LimitClass: "bot"}
	must(t, s.CreateUser(ctx, u))
	if err := s.CreateUser(ctx, chat.User{ID: "U2", Name: "alice"}); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("duplicate name: err = %v, want ErrNameTaken", err)
	}
	got, err := s.User(ctx, "U1")
	must(t, err)
	if got != u {
		t.Fatalf("User = %+v, want %+v", got, u)
	}
	if got, err := s.UserByName(ctx, "alice"); err != nil || got.ID != "U1" {
		t.Fatalf("UserByName = %+v, %v", got, err)
	}
	if _, err := s.User(ctx, "U404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: err = %v", err)
	}
	must(t, s.SetAway(ctx, "U1", true))
	if got, _ := s.User(ctx, "U1"); !got.Away {
		t.Fatal("SetAway(true) did not stick")
	}
	must(t, s.SetAway(ctx, "U1", false))
	if err := s.SetAway(ctx, "U404", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetAway of a missing user: err = %v", err)
	}
	must(t, s.CreateUser(ctx, chat.User{ID: "U0", Name: "bob"}))
	list, err := s.ListUsers(ctx, "", 10)
	must(t, err)
	if len(list) != 2 || list[0].ID != "U0" || list[1].ID != "U1" {
		t.Fatalf("ListUsers = %+v", list)
	}
	if list, _ := s.ListUsers(ctx, "U0", 10); len(list) != 1 || list[0].ID != "U1" {
		t.Fatalf("ListUsers after U0 = %+v", list)
	}
	must(t, s.PutToken(ctx, []byte("hash1"), "U1"))
	if id, err := s.TokenUser(ctx, []byte("hash1")); err != nil || id != "U1" {
		t.Fatalf("TokenUser = %q, %v", id, err)
	}
	if _, err := s.TokenUser(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: err = %v", err)
	}
}

func testChannels(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := chat.Channel{ID: "C1", Name: "general", Creator: "U1", Created: 1700000000, Topic: "t"}
	must(t, s.CreateChannel(ctx, c))
	if err := s.CreateChannel(ctx, chat.Channel{ID: "C2", Name: "general", Creator: "U2"}); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("duplicate channel name: err = %v", err)
	}
	if m, _ := s.Members(ctx, "C2"); len(m) != 0 {
		t.Fatalf("failed create left members %v", m)
	}
	got, err := s.Channel(ctx, "C1")
	must(t, err)
	if got != c {
		t.Fatalf("Channel = %+v, want %+v", got, c)
	}
	if got, err := s.ChannelByName(ctx, "general"); err != nil || got.ID != "C1" {
		t.Fatalf("ChannelByName = %+v, %v", got, err)
	}
	if _, err := s.Channel(ctx, "C404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing channel: err = %v", err)
	}
	if m, _ := s.Members(ctx, "C1"); !slices.Equal(m, []string{"U1"}) {
		t.Fatalf("creator is not the only member: %v", m)
	}
	for i := range 5 {
		must(t, s.CreateChannel(ctx, chat.Channel{ID: fmt.Sprintf("C9%d", i), Name: fmt.Sprintf("c%d", i), Creator: "U1"}))
	}
	var all []string
	after := ""
	for {
		page, err := s.ListChannels(ctx, after, 2)
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			all = append(all, c.ID)
		}
		after = page[len(page)-1].ID
	}
	if want := []string{"C1", "C90", "C91", "C92", "C93", "C94"}; !slices.Equal(all, want) {
		t.Fatalf("paged ListChannels = %v, want %v", all, want)
	}
}

func testMembers(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateChannel(ctx, chat.Channel{ID: "C1", Name: "a", Creator: "U1"}))
	must(t, s.CreateChannel(ctx, chat.Channel{ID: "C2", Name: "b", Creator: "U2"}))
	member := func(seq uint64, k chat.Kind) chat.Message {
		m := msg("C1", seq)
		m.User, m.Text, m.More = "U2", "", &chat.More{Kind: k, Subtype: chat.ChannelSubtypes[k], Name: "C"}
		return m
	}
	// A join entry adds the member in its Append; a second join (the
	// owner never writes one, but a replayed store must not fail) too.
	if res, err := s.Append(ctx, []chat.Message{member(1, chat.KindJoin), member(2, chat.KindJoin)}); err != nil || res[0] != nil || res[1] != nil {
		t.Fatalf("Append of joins = %v, %v", res, err)
	}
	if m, _ := s.Members(ctx, "C1"); !slices.Equal(m, []string{"U1", "U2"}) {
		t.Fatalf("Members = %v", m)
	}
	if c, _ := s.UserChannels(ctx, "U2"); !slices.Equal(c, []string{"C1", "C2"}) {
		t.Fatalf("UserChannels = %v", c)
	}
	if in, err := s.IsMember(ctx, "C1", "U2"); err != nil || !in {
		t.Fatalf("IsMember(C1, U2) = %v, %v", in, err)
	}
	if in, err := s.IsMember(ctx, "C1", "U9"); err != nil || in {
		t.Fatalf("IsMember(C1, U9) = %v, %v", in, err)
	}
	if res, err := s.Append(ctx, []chat.Message{member(3, chat.KindLeave), member(4, chat.KindLeave)}); err != nil || res[0] != nil || res[1] != nil {
		t.Fatalf("Append of leaves = %v, %v", res, err)
	}
	// A fenced join (seq 4 is written) changes no membership.
	if res, err := s.Append(ctx, []chat.Message{member(4, chat.KindJoin)}); err != nil || res[0] == nil {
		t.Fatalf("Append of a stale join = %v, %v; want it refused", res, err)
	}
	if in, _ := s.IsMember(ctx, "C1", "U2"); in {
		t.Fatal("a refused join entry made U2 a member")
	}
	msgs, err := s.Messages(ctx, "C1", 0, 10)
	if err != nil || len(msgs) != 4 || msgs[0].Kind() != chat.KindJoin || msgs[3].Kind() != chat.KindLeave || msgs[0].User != "U2" || msgs[0].More.Name != "C" {
		t.Fatalf("the log of joins and leaves = %+v, %v", msgs, err)
	}
	if c, _ := s.UserChannels(ctx, "U2"); !slices.Equal(c, []string{"C2"}) {
		t.Fatalf("UserChannels after leave = %v", c)
	}
}

func msg(ch string, seq uint64) chat.Message {
	return chat.Message{Channel: ch, Seq: seq, TS: chat.TS(1_700_000_000_000_000 + int64(seq)*10),
		User: "U1", Text: fmt.Sprintf("%s-%d", ch, seq)}
}

func testAppendAndRead(t *testing.T, s store.Store) {
	ctx := context.Background()
	if seq, ts, err := s.Last(ctx, "C1"); err != nil || seq != 0 || ts != 0 {
		t.Fatalf("Last of empty channel = %d, %d, %v", seq, ts, err)
	}
	var batch []chat.Message
	for i := uint64(1); i <= 10; i++ {
		batch = append(batch, msg("C1", i), msg("C2", i))
	}
	batch[0].ThreadTS, batch[0].ClientMsgID = 5, "cm-1"
	res, err := s.Append(ctx, batch)
	must(t, err)
	for i, e := range res {
		if e != nil {
			t.Fatalf("message %d: %v", i, e)
		}
	}
	got, err := s.Messages(ctx, "C1", 3, 4)
	must(t, err)
	if len(got) != 4 || got[0].Seq != 4 || got[3].Seq != 7 || got[0] != msg("C1", 4) {
		t.Fatalf("Messages(after 3, 4) = %+v", got)
	}
	if got, _ := s.Messages(ctx, "C1", 0, 1); got[0] != batch[0] {
		t.Fatalf("first message = %+v, want %+v", got[0], batch[0])
	}
	if seq, ts, err := s.Last(ctx, "C2"); err != nil || seq != 10 || ts != msg("C2", 10).TS {
		t.Fatalf("Last = %d, %d, %v", seq, ts, err)
	}
}

func testAppendFences(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Append(ctx, []chat.Message{msg("C1", 1), msg("C1", 2)})
	must(t, err)
	// A stale writer believes the channel is at seq 1 and writes 2 and 3;
	// another channel in the same batch is unaffected.
	stale2, stale3 := msg("C1", 2), msg("C1", 3)
	stale2.Text, stale2.TS = "stale", stale2.TS+1
	stale3.TS++
	res, err := s.Append(ctx, []chat.Message{stale2, msg("C9", 1), stale3})
	must(t, err)
	if !errors.Is(res[0], store.ErrConflict) || res[1] != nil || !errors.Is(res[2], store.ErrConflict) {
		t.Fatalf("results = %v, want [conflict nil conflict]", res)
	}
	got, _ := s.Messages(ctx, "C1", 0, 10)
	if len(got) != 2 || got[1].Text != "C1-2" {
		t.Fatalf("log after stale append = %+v", got)
	}
}

// testAppendUpToConflict: a writer whose messages run into seqs another
// wrote has the messages before the first such seq written, and the rest
// of that channel refused, in one Append as across Appends.
func testAppendUpToConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Append(ctx, []chat.Message{msg("C1", 1), msg("C1", 2), msg("C1", 5), msg("C1", 6)})
	must(t, err)
	var batch []chat.Message
	for seq := uint64(3); seq <= 7; seq++ {
		m := msg("C1", seq)
		m.Text = "late"
		batch = append(batch, m, msg("C2", seq-2))
	}
	res, err := s.Append(ctx, batch)
	must(t, err)
	for i, m := range batch {
		want := m.Channel == "C1" && m.Seq >= 5
		if errors.Is(res[i], store.ErrConflict) != want || (!want && res[i] != nil) {
			t.Fatalf("result for %s %d = %v, want conflict %v", m.Channel, m.Seq, res[i], want)
		}
	}
	got, _ := s.Messages(ctx, "C1", 0, 10)
	var texts []string
	for i, m := range got {
		if m.Seq != uint64(i+1) {
			t.Fatalf("log %+v not dense", got)
		}
		texts = append(texts, m.Text)
	}
	if want := []string{"C1-1", "C1-2", "late", "late", "C1-5", "C1-6"}; !slices.Equal(texts, want) {
		t.Fatalf("texts = %q, want %q", texts, want)
	}
	// A stale writer starting before the written seqs and one starting
	// inside them are both refused whole.
	for _, first := range []uint64{4, 6} {
		res, err := s.Append(ctx, []chat.Message{msg("C1", first), msg("C1", first+1), msg("C1", first+2)})
		must(t, err)
		for i, e := range res {
			if !errors.Is(e, store.ErrConflict) {
				t.Fatalf("stale writer from %d: result %d = %v", first, i, e)
			}
		}
	}
	if last, _, _ := s.Last(ctx, "C1"); last != 6 {
		t.Fatalf("Last = %d after refused appends, want 6", last)
	}
}

// testStaleOwners races two owners of one channel, each on its own
// handle (connection) to the database, as two nodes that both believe
// they own it after a partition: each appends batches of the channel's
// next seqs as it sees them (with a message of a channel of its own in
// every batch) and, when fenced, reloads the channel's last seq like an
// owner would. Exactly one of them wins each seq, the other is told
// ErrConflict for it, the log is dense and holds the winner's text, and
// the channels nobody else writes are never fenced.
func testStaleOwners(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const n = 300
	type outcome struct {
		won       map[uint64]string
		conflicts int
	}
	out := [2]outcome{{won: map[uint64]string{}}, {won: map[uint64]string{}}}
	var wg sync.WaitGroup
	for w, s := range []store.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprint("Cown", w)
			next, ownSeq := uint64(1), uint64(0)
			for round := 0; next <= n; round++ {
				var batch []chat.Message
				for k := range 1 + round%4 { // batches of 1 to 4 of the channel
					m := msg("C1", next+uint64(k))
					m.TS += chat.TS(w) // distinct ts per writer
					m.Text = fmt.Sprintf("w%d-r%d-%d", w, round, k)
					batch = append(batch, m)
				}
				ownSeq++
				batch = append(batch[:1], append([]chat.Message{msg(own, ownSeq)}, batch[1:]...)...)
				res, err := s.Append(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				fenced := false
				for i, m := range batch {
					switch {
					case m.Channel == own && res[i] != nil:
						t.Errorf("writer %d: its own channel fenced: %v", w, res[i])
						return
					case m.Channel == own:
					case res[i] == nil && fenced:
						t.Errorf("writer %d: seq %d written after a fenced one in the same batch", w, m.Seq)
						return
					case res[i] == nil:
						out[w].won[m.Seq] = m.Text
					case errors.Is(res[i], store.ErrConflict):
						fenced = true
						out[w].conflicts++
					default:
						t.Errorf("writer %d: seq %d: %v", w, m.Seq, res[i])
						return
					}
				}
				if !fenced {
					next = batch[len(batch)-1].Seq + 1
					continue
				}
				// Fenced: reload the channel's state like an owner would.
				last, _, err := s.Last(ctx, "C1")
				if err != nil {
					t.Error(err)
					return
				}
				next = last + 1
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if out[0].conflicts+out[1].conflicts == 0 {
		t.Fatal("two owners starting at seq 1 were never fenced")
	}
	got, err := a.Messages(ctx, "C1", 0, 2*n)
	must(t, err)
	for i, m := range got {
		if m.Seq != uint64(i+1) {
			t.Fatalf("log not dense at %d: seq %d", i, m.Seq)
		}
		w0, ok0 := out[0].won[m.Seq]
		w1, ok1 := out[1].won[m.Seq]
		switch {
		case ok0 == ok1:
			t.Fatalf("seq %d: writer 0 won %v, writer 1 won %v; want exactly one", m.Seq, ok0, ok1)
		case ok0 && m.Text != w0, ok1 && m.Text != w1:
			t.Fatalf("seq %d holds %q, not the winner's text", m.Seq, m.Text)
		}
	}
	if len(got) < n || len(out[0].won)+len(out[1].won) != len(got) {
		t.Fatalf("log holds %d messages; writers won %d+%d", len(got), len(out[0].won), len(out[1].won))
	}
	t.Logf("two owners: %d and %d seqs won, %d and %d fenced", len(out[0].won), len(out[1].won), out[0].conflicts, out[1].conflicts)
}

func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	var batch []chat.Message
	for i := uint64(1); i <= 10; i++ {
		batch = append(batch, msg("C1", i))
	}
	_, err := s.Append(ctx, batch)
	must(t, err)
	ts := func(i int) chat.TS { return batch[i-1].TS }
	seqs := func(ms []chat.Message) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.HistoryQuery
		want []uint64
		more bool
	}{
		{"all", store.HistoryQuery{Limit: 100}, []uint64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, false},
		{"limit", store.HistoryQuery{Limit: 3}, []uint64{10, 9, 8}, true},
		{"exclusive", store.HistoryQuery{Oldest: ts(3), Latest: ts(6), Limit: 100}, []uint64{5, 4}, false},
		{"inclusive", store.HistoryQuery{Oldest: ts(3), Latest: ts(6), Inclusive: true, Limit: 100}, []uint64{6, 5, 4, 3}, false},
		{"page", store.HistoryQuery{Latest: ts(8), Limit: 2}, []uint64{7, 6}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := s.History(ctx, "C1", tt.q)
			must(t, err)
			if !slices.Equal(seqs(got), tt.want) || more != tt.more {
				t.Fatalf("History = %v more=%v, want %v more=%v", seqs(got), more, tt.want, tt.more)
			}
		})
	}
}

// testHistoryAcrossCommits: ts bounds and pages over a log written by
// many appends of different sizes, with seqs interleaved with another
// channel's.
func testHistoryAcrossCommits(t *testing.T, s store.Store) {
	ctx := context.Background()
	seq := uint64(0)
	for _, n := range []int{1, 3, 2, 5, 1, 1, 4, 7, 2, 1} {
		var batch []chat.Message
		for range n {
			seq++
			batch = append(batch, msg("C1", seq), msg("C2", seq))
		}
		_, err := s.Append(ctx, batch)
		must(t, err)
	}
	ts := func(seq uint64) chat.TS { return msg("C1", seq).TS }
	for _, q := range []store.HistoryQuery{
		{Limit: 100}, {Limit: 5}, {Latest: ts(20), Limit: 4}, {Latest: ts(20), Inclusive: true, Limit: 4},
		{Oldest: ts(4), Latest: ts(17), Limit: 100}, {Oldest: ts(4), Latest: ts(17), Inclusive: true, Limit: 100},
		{Oldest: ts(6) + 1, Latest: ts(9) - 1, Limit: 100}, {Oldest: ts(6) - 1, Limit: 3}, {Oldest: ts(27), Limit: 10},
		{Latest: ts(1), Limit: 10}, {Oldest: ts(1) - 5, Latest: ts(27) + 5, Limit: 100},
	} {
		// The expected page, from the definition.
		var want []uint64
		for i := seq; i >= 1; i-- {
			t := ts(i)
			in := (q.Oldest == 0 || t > q.Oldest || (q.Inclusive && t == q.Oldest)) &&
				(q.Latest == 0 || t < q.Latest || (q.Inclusive && t == q.Latest))
			if in {
				want = append(want, i)
			}
		}
		more := len(want) > q.Limit
		want = want[:min(len(want), q.Limit)]
		got, gotMore, err := s.History(ctx, "C1", q)
		must(t, err)
		var seqs []uint64
		for _, m := range got {
			if m != msg("C1", m.Seq) {
				t.Fatalf("History(%+v) returned %+v", q, m)
			}
			seqs = append(seqs, m.Seq)
		}
		if !slices.Equal(seqs, want) || gotMore != more {
			t.Fatalf("History(%+v) = %v more=%v, want %v more=%v", q, seqs, gotMore, want, more)
		}
	}
	for after := range seq + 1 {
		got, err := s.Messages(ctx, "C2", after, 4)
		must(t, err)
		if len(got) != min(4, int(seq-after)) || (len(got) > 0 && got[0].Seq != after+1) {
			t.Fatalf("Messages(after %d, 4) = %+v", after, got)
		}
	}
}

// testRevocations: a revoked token answers ErrRevoked for good, a
// deactivated user is Deleted, and both are in the revocation log, in
// order; limit classes stick.
func testRevocations(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateUser(ctx, chat.User{ID: "U1", Name: "alice"}))
	must(t, s.CreateUser(ctx, chat.User{ID: "U2", Name: "bob"}))
	must(t, s.PutToken(ctx, []byte("t1"), "U1"))
	must(t, s.PutToken(ctx, []byte("t2"), "U1"))
	if revs, err := s.Revocations(ctx, 0, 10); err != nil || len(revs) != 0 {
		t.Fatalf("Revocations of a fresh store = %v, %v", revs, err)
	}
	if user, err := s.RevokeToken(ctx, []byte("t1")); err != nil || user != "U1" {
		t.Fatalf("RevokeToken = %q, %v", user, err)
	}
	if _, err := s.TokenUser(ctx, []byte("t1")); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("TokenUser of a revoked token: err = %v, want ErrRevoked", err)
	}
	if id, err := s.TokenUser(ctx, []byte("t2")); err != nil || id != "U1" {
		t.Fatalf("the user's other token: %q, %v", id, err)
	}
	if _, err := s.RevokeToken(ctx, []byte("t1")); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if _, err := s.RevokeToken(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeToken of an unknown token: err = %v", err)
	}
	must(t, s.SetDeleted(ctx, "U2", true))
	if u, _ := s.User(ctx, "U2"); !u.Deleted {
		t.Fatal("SetDeleted(true) did not stick")
	}
	if err := s.SetDeleted(ctx, "U404", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetDeleted of a missing user: err = %v", err)
	}
	revs, err := s.Revocations(ctx, 0, 10)
	must(t, err)
	if len(revs) != 3 || string(revs[0].Token) != "t1" || revs[0].User != "U1" || revs[2].Token != nil || revs[2].User != "U2" ||
		!(revs[0].ID < revs[1].ID && revs[1].ID < revs[2].ID) {
		t.Fatalf("Revocations = %+v", revs)
	}
	if later, _ := s.Revocations(ctx, revs[1].ID, 10); len(later) != 1 || later[0].ID != revs[2].ID {
		t.Fatalf("Revocations after the second = %+v", later)
	}
	must(t, s.SetDeleted(ctx, "U2", false)) // reactivating revokes nothing
	if later, _ := s.Revocations(ctx, revs[2].ID, 10); len(later) != 0 {
		t.Fatalf("reactivation logged %+v", later)
	}
	must(t, s.SetLimitClass(ctx, "U2", "unlimited"))
	if u, _ := s.User(ctx, "U2"); u.LimitClass != "unlimited" || u.Deleted {
		t.Fatalf("after SetLimitClass and reactivation: %+v", u)
	}
	if err := s.SetLimitClass(ctx, "U404", "bot"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetLimitClass of a missing user: err = %v", err)
	}
}

func testMeta(t *testing.T, s store.Store) {
	ctx := context.Background()
	v, err := s.Meta(ctx, "k", "first")
	must(t, err)
	if v != "first" {
		t.Fatalf("Meta = %q", v)
	}
	if v, _ := s.Meta(ctx, "k", "second"); v != "first" {
		t.Fatalf("Meta overwritten: %q", v)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
