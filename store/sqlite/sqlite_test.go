package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/storetest"
)

func open(t *testing.T) store.Store { return openAt(t, filepath.Join(t.TempDir(), "test.db")) }

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

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestTwoHandlesShareOneFile: two Stores on one file (as two processes on
// one laptop have) see each other's writes and are fenced by each other.
func TestTwoHandlesShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openAt(t, path), openAt(t, path)
	ctx := t.Context()
	m := store.Message{Channel: "C1", Seq: 1, TS: 10, User: "U1", Text: "a"}
	if res, err := a.Append(ctx, []store.Message{m}); err != nil || res[0] != nil {
		t.Fatalf("append via a: %v %v", res, err)
	}
	m.TS, m.Text = 11, "b"
	if res, err := b.Append(ctx, []store.Message{m}); err != nil || res[0] != store.ErrConflict {
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
		batch := make([]store.Message, 64)
		for j := range batch {
			ch := fmt.Sprintf("C%04d", (i*64+j)%500)
			seqs[ch]++
			batch[j] = store.Message{Channel: ch, Seq: seqs[ch], TS: store.TS(1_700_000_000_000_000 + i*64 + j),
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
// per batch) to 500 channels by batch size: wall time and CPU per
// message, group commit's ceiling on this disk.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1, 4, 16, 256, 4096} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := openAt(b, filepath.Join(b.TempDir(), "bench.db"))
			batch := make([]store.Message, size)
			seqs := map[string]uint64{}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i += size {
				for j := range batch {
					ch := fmt.Sprintf("C%04d", (i+j)%500)
					seqs[ch]++
					batch[j] = store.Message{Channel: ch, Seq: seqs[ch], TS: store.TS(1_700_000_000_000_000 + i + j),
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
