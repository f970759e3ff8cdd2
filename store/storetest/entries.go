package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// entry is the change of kind k by user to the message of channel at
// target, as entry seq.
func entry(ch string, seq uint64, k chat.Kind, user string, target chat.TS) chat.Message {
	m := msg(ch, seq)
	m.User, m.Text, m.More = user, "", &chat.More{Kind: k, Target: target}
	return m
}

// testEntriesAndState: every kind of entry goes into the log and comes
// back as written (resume reads them), and History, Replies and
// MessageAt show the current state they make, whichever commits carry
// them.
func testEntriesAndState(t *testing.T, s store.Store) {
	ctx := context.Background()
	ts := func(seq uint64) chat.TS { return msg("C1", seq).TS }
	var log []chat.Message
	add := func(ms ...chat.Message) {
		t.Helper()
		res, err := s.Append(ctx, ms)
		must(t, err)
		for i, e := range res {
			if e != nil {
				t.Fatalf("entry %d: %v", i, e)
			}
		}
		log = append(log, ms...)
	}
	add(msg("C1", 1), msg("C1", 2), msg("C1", 3)) // 1: parent, 2: edited and reacted, 3: deleted
	reply := func(seq uint64, user string, broadcast bool) chat.Message {
		m := msg("C1", seq)
		m.User, m.ThreadTS = user, ts(1)
		if broadcast {
			m.More = &chat.More{Subtype: chat.SubtypeThreadBroadcast}
		}
		return m
	}
	edit := entry("C1", 5, chat.KindEdit, "U1", ts(2))
	edit.Text, edit.More.Blocks, edit.More.Author, edit.More.PrevText = "new text", `[{"type":"divider"}]`, "U1", "C1-2"
	react := func(seq uint64, k chat.Kind, user, name string) chat.Message {
		e := entry("C1", seq, k, user, ts(2))
		e.More.Name = name
		return e
	}
	// One commit: a reply, an edit and reactions; the next: more.
	add(reply(4, "U2", false), edit, react(6, chat.KindReactionAdd, "U2", "thumbsup"), react(7, chat.KindReactionAdd, "U3", "thumbsup"))
	add(react(8, chat.KindReactionAdd, "U1", "eyes"), react(9, chat.KindReactionRemove, "U2", "thumbsup"),
		entry("C1", 10, chat.KindDelete, "U1", ts(3)), reply(11, "U3", true), reply(12, "U2", false))

	got, err := s.Messages(ctx, "C1", 0, 100)
	must(t, err)
	if !reflect.DeepEqual(got, log) {
		t.Fatalf("Messages = %+v\nwant %+v", got, log)
	}

	hist, more, err := s.History(ctx, "C1", store.HistoryQuery{Limit: 100})
	must(t, err)
	var seqs []uint64
	for _, m := range hist {
		seqs = append(seqs, m.Seq)
	}
	// Replies are left out but the broadcast one (11); the deleted 3 is gone.
	if !slices.Equal(seqs, []uint64{11, 2, 1}) || more {
		t.Fatalf("History seqs = %v more=%v, want [11 2 1]", seqs, more)
	}
	m2 := hist[1]
	if m2.Text != "new text" || m2.More.Blocks != `[{"type":"divider"}]` || *m2.More.Edited != (chat.Edited{User: "U1", TS: ts(5)}) ||
		!reflect.DeepEqual(m2.More.Reactions, []chat.Reaction{{Name: "thumbsup", Users: []string{"U3"}}, {Name: "eyes", Users: []string{"U1"}}}) {
		t.Fatalf("edited message = %+v %+v", m2, m2.More)
	}
	p := hist[2]
	if p.ThreadTS != ts(1) || p.More.ReplyCount != 3 || !slices.Equal(p.More.ReplyUsers, []string{"U2", "U3"}) || p.More.LatestReply != ts(12) {
		t.Fatalf("parent = %+v %+v", p, p.More)
	}
	// A page cut by limit still fills itself past skipped entries.
	hist, more, err = s.History(ctx, "C1", store.HistoryQuery{Limit: 2})
	must(t, err)
	if len(hist) != 2 || hist[1].Seq != 2 || !more {
		t.Fatalf("History limit 2 = %+v more=%v", hist, more)
	}

	thread, more, err := s.Replies(ctx, "C1", store.RepliesQuery{Thread: ts(1), Limit: 100})
	must(t, err)
	seqs = seqs[:0]
	for _, m := range thread {
		seqs = append(seqs, m.Seq)
	}
	if !slices.Equal(seqs, []uint64{1, 4, 11, 12}) || more {
		t.Fatalf("Replies seqs = %v more=%v", seqs, more)
	}
	page, more, err := s.Replies(ctx, "C1", store.RepliesQuery{Thread: ts(1), Limit: 2})
	must(t, err)
	if len(page) != 2 || page[1].Seq != 4 || !more {
		t.Fatalf("Replies page 1 = %+v more=%v", page, more)
	}
	page, more, err = s.Replies(ctx, "C1", store.RepliesQuery{Thread: ts(1), After: ts(4), Limit: 2})
	must(t, err)
	if len(page) != 2 || page[0].Seq != 11 || page[1].Seq != 12 || more {
		t.Fatalf("Replies page 2 = %+v more=%v", page, more)
	}
	for _, bad := range []chat.TS{ts(3), ts(4), ts(5), ts(1) + 1, 0} {
		if _, _, err := s.Replies(ctx, "C1", store.RepliesQuery{Thread: bad, Limit: 10}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Replies of %v: err = %v, want ErrNotFound", bad, err)
		}
	}
	if _, err := s.MessageAt(ctx, "C1", ts(3)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MessageAt of a deleted message: %v", err)
	}
	if m, err := s.MessageAt(ctx, "C1", ts(12)); err != nil || m.ThreadTS != ts(1) || m.User != "U2" {
		t.Fatalf("MessageAt of a reply = %+v, %v", m, err)
	}
	if _, err := store.ThreadParent(ctx, s, "C1", ts(12)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ThreadParent of a reply: %v", err)
	}

	// Deleting the parent leaves a tombstone over its replies; deleting
	// them all then takes it away.
	add(entry("C1", 13, chat.KindDelete, "U1", ts(1)))
	hist, _, err = s.History(ctx, "C1", store.HistoryQuery{Limit: 100})
	must(t, err)
	if len(hist) != 3 || hist[2].Text != chat.TombstoneText || hist[2].Subtype() != chat.SubtypeTombstone {
		t.Fatalf("History after deleting the parent = %+v", hist)
	}
	add(entry("C1", 14, chat.KindDelete, "U2", ts(4)), entry("C1", 15, chat.KindDelete, "U3", ts(11)), entry("C1", 16, chat.KindDelete, "U2", ts(12)))
	hist, _, err = s.History(ctx, "C1", store.HistoryQuery{Limit: 100})
	must(t, err)
	if len(hist) != 1 || hist[0].Seq != 2 {
		t.Fatalf("History after deleting every reply = %+v", hist)
	}
}

// testStaleChange: a change a stale owner appends is refused with its
// seq and changes no state.
func testStaleChange(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Append(ctx, []chat.Message{msg("C1", 1), msg("C1", 2)})
	must(t, err)
	stale := entry("C1", 2, chat.KindReactionAdd, "U2", msg("C1", 1).TS)
	stale.More.Name = "eyes"
	res, err := s.Append(ctx, []chat.Message{stale})
	must(t, err)
	if !errors.Is(res[0], store.ErrConflict) {
		t.Fatalf("stale change: %v, want ErrConflict", res[0])
	}
	m, err := s.MessageAt(ctx, "C1", msg("C1", 1).TS)
	must(t, err)
	if m.More != nil {
		t.Fatalf("a refused change changed the state: %+v", m.More)
	}
}

// testChannelChanges: a channel change is an entry shown in history, and
// its Append updates the channel's row in the same transaction.
func testChannelChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateChannel(ctx, chat.Channel{ID: "C1", Name: "one", Creator: "U1"}))
	change := func(seq uint64, k chat.Kind, v string) chat.Message {
		m := msg("C1", seq)
		m.More = &chat.More{Kind: k, Subtype: chat.ChannelSubtypes[k], Name: v}
		return m
	}
	_, err := s.Append(ctx, []chat.Message{msg("C1", 1), change(2, chat.KindTopic, "t"), change(3, chat.KindPurpose, "p"),
		change(4, chat.KindRename, "uno"), change(5, chat.KindArchive, "")})
	must(t, err)
	ch, err := s.Channel(ctx, "C1")
	must(t, err)
	if ch.Topic != "t" || ch.Purpose != "p" || ch.Name != "uno" || !ch.IsArchived {
		t.Fatalf("channel after changes = %+v", ch)
	}
	_, err = s.Append(ctx, []chat.Message{change(6, chat.KindUnarchive, "")})
	must(t, err)
	if ch, _ := s.Channel(ctx, "C1"); ch.IsArchived {
		t.Fatal("still archived")
	}
	hist, _, err := s.History(ctx, "C1", store.HistoryQuery{Limit: 10})
	must(t, err)
	if len(hist) != 6 || hist[0].Subtype() != "channel_unarchive" || hist[2].More.Name != "uno" {
		t.Fatalf("History = %+v", hist)
	}
	// A stale owner's change does not touch the channel.
	res, err := s.Append(ctx, []chat.Message{change(6, chat.KindTopic, "stale")})
	must(t, err)
	if !errors.Is(res[0], store.ErrConflict) {
		t.Fatalf("stale change: %v", res[0])
	}
	if ch, _ := s.Channel(ctx, "C1"); ch.Topic != "t" {
		t.Fatalf("a refused change set the topic: %+v", ch)
	}
}
