package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/segment"
	"github.com/ringcast/ringcast/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// database/sql's connection opener lives until the pool's Close returns.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// openAt opens the store at path; t.Cleanup closes it.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (store.Store, error) {
		path := filepath.Join(t.TempDir(), "test.db")
		return func() (store.Store, error) { return Open(path) }
	})
}

// TestTwoHandlesShareOneFile: two Stores on one file (as two processes on
// one laptop have) see each other's writes and are fenced by each other.
func TestTwoHandlesShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openAt(t, path), openAt(t, path)
	ctx := t.Context()
	m := chat.Message{Channel: "C1", Seq: 1, TS: 10, User: "U1", Text: "a"}
	if res, err := a.Append(ctx, []chat.Message{m}); err != nil || res[0] != nil {
		t.Fatalf("append via a: %v %v", res, err)
	}
	m.TS, m.Text = 11, "b"
	if res, err := b.Append(ctx, []chat.Message{m}); err != nil || res[0] != store.ErrConflict {
		t.Fatalf("append via b of the same seq: %v %v, want conflict", res, err)
	}
	if seq, _, _ := b.Last(ctx, "C1"); seq != 1 {
		t.Fatalf("b sees last seq %d", seq)
	}
}

// TestWALStaysBoundedUnderLoad: back-to-back commits (which a background
// checkpoint alone never lets the WAL restart under) with readers about
// keep the WAL near its checkpoint size instead of growing with every
// page ever written.
func TestWALStaysBoundedUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	s := openAt(t, path)
	ctx := t.Context()
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() { // a reader, as gap fills and history are
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
				s.Messages(ctx, "C0001", 0, 10)
			}
		}
	}()
	defer func() { close(stop); <-readerDone }()
	// 300 commits of 64 rows over 500 channels touch ~64 pages each:
	// ~75 MiB of WAL frames in all, ten times the checkpoint size.
	seqs := map[string]uint64{}
	var maxWAL int64
	for i := range 300 {
		batch := make([]chat.Message, 64)
		for j := range batch {
			ch := fmt.Sprintf("C%04d", (i*64+j)%500)
			seqs[ch]++
			batch[j] = chat.Message{Channel: ch, Seq: seqs[ch], TS: chat.TS(1_700_000_000_000_000 + i*64 + j),
				User: "U0123456789", Text: strings.Repeat("x", 128)}
		}
		if _, err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			maxWAL = max(maxWAL, fi.Size())
		}
	}
	if limit := int64(3 * walPages * 4096); maxWAL > limit {
		t.Fatalf("the WAL grew to %d bytes, more than %d", maxWAL, limit)
	}
	t.Logf("largest WAL: %.1f MiB", float64(maxWAL)/(1<<20))
}

func TestOpenBadPath(t *testing.T) {
	if _, err := Open("/proc/definitely/not/writable/x.db"); err == nil {
		t.Fatal("Open on an unwritable path succeeded")
	}
}

// BenchmarkAppend measures durable appends (one transaction, one fsync,
// per batch) by batch size and the channels a batch spreads over: wall
// time and CPU per message, group commit's ceiling on this disk. 500
// channels makes most batches one message per channel; batch 1024 over
// 100 channels is what `ringcast bench --scenario publish` commits.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct{ size, chans int }{{1, 500}, {4, 500}, {12, 500}, {16, 500}, {256, 500}, {4096, 500}, {1024, 100}} {
		b.Run(fmt.Sprintf("batch=%d/channels=%d", c.size, c.chans), func(b *testing.B) {
			s := openAt(b, filepath.Join(b.TempDir(), "bench.db"))
			batch := make([]chat.Message, c.size)
			seqs := map[string]uint64{}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i += c.size {
				for j := range batch {
					ch := fmt.Sprintf("C%04d", (i+j)%c.chans)
					seqs[ch]++
					batch[j] = chat.Message{Channel: ch, Seq: seqs[ch], TS: chat.TS(1_700_000_000_000_000 + i + j),
						User: "U0123456789", Text: "a message of about the usual size for a chat"}
				}
				if _, err := s.Append(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/msg")
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestOpenMigratesMessageRows: a database whose log is one row per
// message (before segments) opens with every message readable from the
// segments, and no old table left.
func TestOpenMigratesMessageRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Exec(`CREATE TABLE messages(
		channel TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
		user_id TEXT NOT NULL, text TEXT NOT NULL, thread_ts INTEGER NOT NULL,
		client_msg_id TEXT NOT NULL, PRIMARY KEY(channel, seq)) WITHOUT ROWID`)
	if err != nil {
		t.Fatal(err)
	}
	var want []chat.Message // more than one migration chunk of C1, then C2
	for seq := uint64(1); seq <= migrateChunk+10; seq++ {
		want = append(want, chat.Message{Channel: "C1", Seq: seq, TS: chat.TS(1000 + 2*seq), User: "U1", Text: fmt.Sprint("m", seq)})
	}
	want = append(want, chat.Message{Channel: "C2", Seq: 1, TS: 5, User: "U2", Text: "x", ThreadTS: 3, ClientMsgID: "cm"})
	tx, err := old.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range want {
		if _, err := tx.Exec(`INSERT INTO messages VALUES(?,?,?,?,?,?,?)`,
			m.Channel, int64(m.Seq), int64(m.TS), m.User, m.Text, int64(m.ThreadTS), m.ClientMsgID); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s := openAt(t, path)
	ctx := t.Context()
	c1, err := s.Messages(ctx, "C1", 0, 2*migrateChunk)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.Messages(ctx, "C2", 0, 10)
	if err != nil || !slices.Equal(append(c1, c2...), want) {
		t.Fatalf("migrated log differs: %d+%d messages, %v", len(c1), len(c2), err)
	}
	if last, ts, _ := s.Last(ctx, "C1"); last != migrateChunk+10 || ts != want[migrateChunk+9].TS {
		t.Fatalf("Last(C1) = %d, %d", last, ts)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'messages'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("old table left: %d, %v", n, err)
	}
	s.Close()
	again := openAt(t, path) // nothing left to migrate
	if got, _ := again.Messages(ctx, "C2", 0, 10); !slices.Equal(got, want[len(want)-1:]) {
		t.Fatalf("after reopening: %+v", got)
	}
}

// TestLongRunsSplit: one channel's long run in one Append becomes
// segments of at most segment.Max messages, read back as one log.
func TestLongRunsSplit(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "long.db"))
	ctx := t.Context()
	n := 2*segment.Max + 10
	var batch []chat.Message
	for seq := uint64(1); seq <= uint64(n); seq++ {
		batch = append(batch, chat.Message{Channel: "C1", Seq: seq, TS: chat.TS(100 + seq), User: "U1", Text: fmt.Sprint(seq)})
	}
	if res, err := s.Append(ctx, batch); err != nil || slices.ContainsFunc(res, func(e error) bool { return e != nil }) {
		t.Fatalf("Append = %v, %v", res, err)
	}
	var rows, longest int
	if err := s.r.QueryRow(`SELECT count(*), max(last - first + 1) FROM segments`).Scan(&rows, &longest); err != nil {
		t.Fatal(err)
	}
	if rows != 3 || longest != segment.Max {
		t.Fatalf("%d rows, the longest %d messages; want 3, %d", rows, longest, segment.Max)
	}
	got, err := s.Messages(ctx, "C1", segment.Max-2, 5) // across a segment boundary
	if err != nil || len(got) != 5 || got[0].Seq != segment.Max-1 || got[4].Seq != segment.Max+3 {
		t.Fatalf("Messages across segments = %+v, %v", got, err)
	}
}

func TestSchema(t *testing.T) {
	storetest.RunSchema(t, func(t *testing.T) storetest.Schema {
		path := filepath.Join(t.TempDir(), "schema.db")
		raw := func(t *testing.T) *sql.DB {
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		return storetest.Schema{
			Open: func() (store.Store, error) { return Open(path) },
			Version: func(t *testing.T) int {
				var v int
				if err := raw(t).QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			},
			SetVersion: func(t *testing.T, v int) {
				if _, err := raw(t).Exec(`INSERT INTO schema_migrations(version, name, applied) VALUES(?, 'from the future', 0)`, v); err != nil {
					t.Fatal(err)
				}
			},
			Known: SchemaVersion,
		}
	})
}

// TestOpenUnversionedCurrentSchema: a database made before versions were
// recorded, already on segments with users.away, opens with its data
// and is recorded at the current version.
func TestOpenUnversionedCurrentSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unversioned.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Exec(`
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE users(
	id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, real_name TEXT NOT NULL,
	email TEXT NOT NULL, is_bot INTEGER NOT NULL, is_admin INTEGER NOT NULL,
	deleted INTEGER NOT NULL, created INTEGER NOT NULL, away INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE segments(
	channel TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
	first_ts INTEGER NOT NULL, ts_span INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX segments_by_seq ON segments(channel, first, last, first_ts, ts_span);
INSERT INTO meta VALUES('team_id', 'T1');
INSERT INTO users VALUES('U1', 'alice', '', '', 0, 0, 0, 1, 1);`)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	s := openAt(t, path)
	ctx := t.Context()
	if v, err := s.Meta(ctx, "team_id", "T2"); err != nil || v != "T1" {
		t.Fatalf("team_id = %q, %v", v, err)
	}
	if u, err := s.User(ctx, "U1"); err != nil || !u.Away {
		t.Fatalf("user = %+v, %v", u, err)
	}
	var v int
	if err := s.r.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("version %d, %v; want %d", v, err, SchemaVersion)
	}
}

// TestSearchIndexer: a message is found the moment its Append returns
// (from the log's unindexed tail), and the same once the indexer has
// moved it into the index; a database from before the index has its
// messages indexed once migrated.
func TestSearchIndexer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []chat.Message
	for i := range 300 { // more than one segment
		msgs = append(msgs, chat.Message{Channel: "C1", Seq: uint64(i + 1), TS: chat.TS(1_700_000_000_000_000 + i), User: "U1",
			Text: fmt.Sprintf("message number %d", i)})
	}
	if _, err := s.Append(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	q := store.SearchQuery{Channels: []string{"C1"}, Words: []string{"number"}, Limit: 3, Offset: 1, ByTime: true}
	check := func(when string) {
		t.Helper()
		r, err := s.Search(t.Context(), q)
		if err != nil || r.Total != 300 || len(r.Messages) != 3 || r.Messages[0].Text != "message number 298" {
			t.Fatalf("%s: %+v, %v", when, r, err)
		}
	}
	check("at once")
	indexed := func() bool {
		var seg int64
		s.r.QueryRow(`SELECT segment FROM search_state`).Scan(&seg)
		var n int
		s.r.QueryRow(`SELECT count(*) FROM search_docs`).Scan(&n)
		return seg > 0 && n == 300
	}
	for !indexed() {
		time.Sleep(10 * time.Millisecond) // the indexer's own tick: nothing to wait on
	}
	check("indexed")
	s.Close()
	// Back to the version before the index (step 9; step 10, closed
	// DMs, goes too).
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DROP TABLE search_fts; DROP TABLE search_docs; DROP TABLE search_state; DROP TABLE dm_closed;
		DELETE FROM schema_migrations WHERE version >= 9`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	check("migrated")
	for !indexed() {
		time.Sleep(10 * time.Millisecond)
	}
	check("migrated and indexed")
}

// TestSearchIndexed: the search conformance test with every message in
// the index (the conformance suite searches the log's tail, run before
// the indexer's first tick).
func TestSearchIndexed(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "indexed.db"))
	storetest.SearchAfter(t, s, func() {
		indexAll(t, s)
		var indexed, last int64
		s.r.QueryRow(`SELECT segment FROM search_state`).Scan(&indexed)
		s.r.QueryRow(`SELECT max(rowid) FROM segments`).Scan(&last)
		if indexed != last {
			t.Fatalf("indexed up to segment %d of %d", indexed, last)
		}
	})
}

// TestSearchIndexerResumes: the indexer indexes a bounded chunk per
// transaction; after a restart it resumes from the segment it recorded
// (every message indexed once), and what it had not indexed when the
// store closed (as after a crash between a commit and its indexing) is
// searchable at once from the log's tail.
func TestSearchIndexerResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resume.db")
	s := openAt(t, path)
	msgs := func(from, n int) []chat.Message {
		var out []chat.Message
		for i := from; i < from+n; i++ {
			out = append(out, chat.Message{Channel: fmt.Sprintf("C%d", i%3), Seq: uint64(i/3 + 1),
				TS: chat.TS(1_700_000_000_000_000 + i), User: "U1", Text: fmt.Sprintf("resume %d", i)})
		}
		return out
	}
	count := func(s *Store) (docs, fts int, seg, last int64) {
		t.Helper()
		s.r.QueryRow(`SELECT count(*) FROM search_docs`).Scan(&docs)
		s.r.QueryRow(`SELECT count(*) FROM search_fts WHERE search_fts MATCH 'resume'`).Scan(&fts)
		s.r.QueryRow(`SELECT segment FROM search_state`).Scan(&seg)
		s.r.QueryRow(`SELECT coalesce(max(rowid), 0) FROM segments`).Scan(&last)
		return
	}
	for i := 0; i < 3000; i += 300 { // many segments
		if _, err := s.Append(t.Context(), msgs(i, 300)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // the indexer stops with it
	// One chunk per transaction: appends wait for no more than that.
	s = openAt(t, path)
	docs0, _, _, _ := count(s)
	_, more, err := s.index(t.Context())
	if docs, _, _, _ := count(s); err != nil || !more || docs-docs0 <= 0 || docs-docs0 > indexChunk+300 {
		t.Fatalf("one index call: %d -> %d messages indexed, more %v, %v", docs0, docs, more, err)
	}
	if _, err := s.Append(t.Context(), msgs(3000, 300)); err != nil {
		t.Fatal(err)
	}
	s.Close() // what was not indexed yet is in the tail
	s = openAt(t, path)
	q := store.SearchQuery{Channels: []string{"C0", "C1", "C2"}, Words: []string{"resume"}, ByTime: true, Limit: 1}
	r, err := s.Search(t.Context(), q)
	if err != nil || r.Total != 3300 || r.Messages[0].Text != "resume 3299" {
		t.Fatalf("after the restart, at once: %+v, %v", r, err)
	}
	caughtUp := func() bool { _, _, seg, last := count(s); return seg == last }
	for !caughtUp() {
		time.Sleep(10 * time.Millisecond) // the indexer's own pace: nothing to wait on
	}
	if docs, fts, _, _ := count(s); docs != 3300 || fts != 3300 {
		t.Fatalf("indexed %d rows, %d in FTS5; want 3300 (each once)", docs, fts)
	}
	if r, err := s.Search(t.Context(), q); err != nil || r.Total != 3300 || r.Messages[0].Text != "resume 3299" {
		t.Fatalf("indexed: %+v, %v", r, err)
	}
}

// indexAll indexes what the log has, now.
func indexAll(tb testing.TB, s *Store) {
	for {
		_, more, err := s.index(tb.Context())
		if err != nil {
			tb.Fatal(err)
		}
		if !more {
			return
		}
	}
}
