package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ringcast/ringcast/chat"
)

// TestBackupWhileCommitting: a backup taken while a writer commits
// without pause holds every message acknowledged before it began (dense,
// in each channel), the writer's commits go on during it, and the backup
// restores over a stopped store's file (not over one in use: its WAL is
// there) into a store that opens with exactly the backup's messages.
func TestBackupWhileCommitting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ringcast.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const channels = 50
	var mu sync.Mutex
	acked := map[string]uint64{} // per channel, the last seq Append returned for
	var commits atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		seqs := map[string]uint64{}
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			batch := make([]chat.Message, 16)
			for j := range batch {
				ch := fmt.Sprintf("C%03d", (i*16+j)%channels)
				seqs[ch]++
				batch[j] = chat.Message{Channel: ch, Seq: seqs[ch], TS: chat.TS(1_700_000_000_000_000 + i*16 + j), User: "U1", Text: "under load"}
			}
			if res, err := s.Append(ctx, batch); err != nil || errors.Join(res...) != nil {
				done <- fmt.Errorf("append: %v %v", err, res)
				return
			}
			mu.Lock()
			for _, m := range batch {
				acked[m.Channel] = m.Seq
			}
			mu.Unlock()
			commits.Add(1)
		}
	}()
	for commits.Load() < 50 { // some history first
		select {
		case err := <-done:
			t.Fatal(err)
		default:
		}
	}
	mu.Lock()
	before := map[string]uint64{}
	for ch, seq := range acked {
		before[ch] = seq
	}
	mu.Unlock()
	c0 := commits.Load()
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := Backup(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	during := commits.Load() - c0
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d commits before the backup, %d while it ran", c0, during)
	if during == 0 {
		t.Fatal("no commit finished while the backup ran: it held up the writer")
	}
	if err := Backup(ctx, path, backup); err == nil {
		t.Fatal("a backup over an existing file succeeded")
	}

	b := openAt(t, backup)
	inBackup := map[string]uint64{}
	for ch, want := range before {
		msgs, err := b.Messages(ctx, ch, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(msgs)) < want {
			t.Fatalf("%s: the backup has %d messages, %d were acked before it began", ch, len(msgs), want)
		}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				t.Fatalf("%s: seq %d at %d in the backup", ch, m.Seq, i)
			}
		}
		inBackup[ch] = uint64(len(msgs))
	}
	b.Close()

	if err := Restore(ctx, backup, path); !errors.Is(err, ErrInUse) {
		t.Fatalf("restore over a store in use: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("the WAL outlived the store's Close")
	}
	if err := Restore(ctx, filepath.Join(dir, "nothing.db"), path); err == nil {
		t.Fatal("restore from a missing file succeeded")
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database at all, not even close"), 0o600)
	if err := Restore(ctx, junk, path); err == nil {
		t.Fatal("restore from junk succeeded")
	}
	if err := Restore(ctx, backup, path); err != nil {
		t.Fatal(err)
	}
	r := openAt(t, path)
	for ch, want := range inBackup {
		if seq, _, err := r.Last(ctx, ch); err != nil || seq != want {
			t.Fatalf("%s after the restore: last seq %d (%v), the backup's %d", ch, seq, err, want)
		}
	}
}
