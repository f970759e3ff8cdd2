package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// historyChannel writes n plain messages to C1 in commits of 16 and
// returns the store and the ts of each seq (index seq-1).
func historyChannel(b *testing.B, n int) (*Store, []chat.TS) {
	s := openAt(b, filepath.Join(b.TempDir(), "history.db"))
	var tss []chat.TS
	var batch []chat.Message
	for seq := 1; seq <= n; seq++ {
		ts := chat.TS(1_700_000_000_000_000 + seq*10)
		tss = append(tss, ts)
		batch = append(batch, chat.Message{Channel: "C1", Seq: uint64(seq), TS: ts, User: "U0123456789",
			Text: "a message of about the usual size for a chat"})
		if len(batch) == 16 || seq == n {
			if _, err := s.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return s, tss
}

// benchHistory reads the newest 100 messages, and a page of 100 in the
// middle of the channel (latest = a ts half way), b.N times each.
func benchHistory(b *testing.B, s *Store, mid chat.TS) {
	for _, q := range []struct {
		name string
		q    store.HistoryQuery
	}{{"newest", store.HistoryQuery{Limit: 100}}, {"middle", store.HistoryQuery{Latest: mid, Limit: 100}}} {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				msgs, _, err := s.History(context.Background(), "C1", q.q)
				if err != nil || len(msgs) != 100 {
					b.Fatalf("History = %d messages, %v", len(msgs), err)
				}
			}
		})
	}
}

// BenchmarkHistoryPlain: conversations.history's store read, 100
// messages of a channel of 10 000 plain messages.
func BenchmarkHistoryPlain(b *testing.B) {
	s, tss := historyChannel(b, 10_000)
	benchHistory(b, s, tss[5000])
}

// change is the entry that edits (even i) or reacts to (odd i) the
// message at target, as entry seq.
func change(seq int, i int, target chat.TS) chat.Message {
	e := chat.Message{Channel: "C1", Seq: uint64(seq), TS: chat.TS(1_700_000_000_000_000 + seq*10), User: "U0123456789",
		More: &chat.More{Kind: chat.KindReactionAdd, Target: target, Name: "thumbsup", Author: "U0123456789"}}
	if i%2 == 0 {
		e.Text, e.More.Kind, e.More.Name = "an edited message of about the usual size", chat.KindEdit, ""
	}
	return e
}

// BenchmarkHistoryChanged: the same read when a tenth of the channel's
// 10 000 messages were edited or reacted to (half each) a few messages
// after they were posted, as people do: the log holds 11 000 entries,
// and the page's changed messages come from their state rows.
func BenchmarkHistoryChanged(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "history.db"))
	var tss []chat.TS
	var batch []chat.Message
	seq := 0
	add := func(m chat.Message) {
		batch = append(batch, m)
		if len(batch) == 16 {
			if _, err := s.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := range 10_000 {
		seq++
		ts := chat.TS(1_700_000_000_000_000 + seq*10)
		tss = append(tss, ts)
		add(chat.Message{Channel: "C1", Seq: uint64(seq), TS: ts, User: "U0123456789", Text: "a message of about the usual size for a chat"})
		if i%10 == 9 {
			seq++
			add(change(seq, i/10, tss[i-4]))
		}
	}
	if _, err := s.Append(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	benchHistory(b, s, tss[5000])
}

// BenchmarkHistoryChangedAtEnd: the worst case of the same amount of
// change: all 1 000 changes made after the last message, so the newest
// page must read past 1 000 entries that are not messages.
func BenchmarkHistoryChangedAtEnd(b *testing.B) {
	const n = 10_000
	s, tss := historyChannel(b, n)
	var batch []chat.Message
	for i, seq := 0, n+1; i < n; i += 10 {
		batch = append(batch, change(seq, i/10, tss[i]))
		seq++
		if len(batch) == 16 || i+10 >= n {
			if _, err := s.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	benchHistory(b, s, tss[5000])
}
