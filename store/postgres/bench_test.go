package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store/postgres/pgtest"
	"github.com/ringcast/ringcast/store/segment"
)

// BenchSettings is the PostgreSQL tuning the benchmarks run with, for
// this project's 2-core, 24 GiB box (docs/BENCHMARKS.md says why each).
var BenchSettings = []string{
	"shared_buffers=2GB", "wal_buffers=64MB", "max_wal_size=8GB", "min_wal_size=1GB",
	"checkpoint_timeout=15min", "checkpoint_completion_target=0.9", "random_page_cost=1.1",
	"effective_cache_size=12GB", "wal_compression=off", "commit_delay=0",
}

var benchServer struct {
	once sync.Once
	srv  *pgtest.Server
	base string
	err  error
}

// benchDB returns a new database on a durable server (fsync on): the one
// RINGCAST_TEST_POSTGRES names, or a throwaway cluster with BenchSettings.
func benchDB(b *testing.B) (url string, serverPid int) {
	b.Helper()
	benchServer.once.Do(func() {
		if u := os.Getenv(pgtest.EnvURL); u != "" {
			benchServer.base = u
			return
		}
		benchServer.srv, benchServer.err = pgtest.Start(pgtest.Options{Durable: true, Settings: BenchSettings})
		if benchServer.err == nil {
			benchServer.base = benchServer.srv.URL("postgres")
		}
	})
	if benchServer.err != nil {
		b.Skip("no durable PostgreSQL for benchmarks:", benchServer.err)
	}
	url, drop, err := pgtest.CreateDB(context.Background(), benchServer.base)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { drop() })
	if benchServer.srv != nil {
		serverPid = benchServer.srv.Pid()
	}
	return url, serverPid
}

// serverCPU is the CPU time of the postmaster pid and its children (the
// backends), 0 when pid is 0 (a server elsewhere).
func serverCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	var total time.Duration
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			continue
		}
		self, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(filepath.Dir(p)), "/"))
		ppid, _ := strconv.Atoi(f[1])
		if self != pid && ppid != pid {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchShapes are store/sqlite's BenchmarkAppend shapes: batch size and
// the channels a batch spreads over. 1024 over 100 is what `ringcast
// bench --scenario publish` commits; 12 over 500 is spread's.
var benchShapes = []struct{ size, chans int }{{1, 500}, {12, 500}, {256, 500}, {1024, 100}, {4096, 500}}

// runShapes times append(batch) for each shape and reports durable
// msgs/s and the CPU per message of this process and of the server.
func runShapes(b *testing.B, setup func(b *testing.B, url string) func(batch []chat.Message) error) {
	for _, c := range benchShapes {
		b.Run(fmt.Sprintf("batch=%d/channels=%d", c.size, c.chans), func(b *testing.B) {
			url, pid := benchDB(b)
			appendBatch := setup(b, url)
			batch := make([]chat.Message, c.size)
			seqs := map[string]uint64{}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, srv0 := cpuTime(), serverCPU(pid)
			for i := 0; i < b.N; i += c.size {
				for j := range batch {
					ch := fmt.Sprintf("C%04d", (i+j)%c.chans)
					seqs[ch]++
					batch[j] = chat.Message{Channel: ch, Seq: seqs[ch], TS: chat.TS(1_700_000_000_000_000 + i + j),
						User: "U0123456789", Text: "a message of about the usual size for a chat"}
				}
				if err := appendBatch(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/msg")
			if pid != 0 {
				b.ReportMetric(float64((serverCPU(pid)-srv0).Microseconds())/float64(b.N), "pg-cpu-us/msg")
			}
		})
	}
}

// BenchmarkAppend measures durable appends through the Store (one
// transaction and one WAL flush per batch).
func BenchmarkAppend(b *testing.B) {
	runShapes(b, func(b *testing.B, url string) func([]chat.Message) error {
		s, err := Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return func(batch []chat.Message) error {
			_, err := s.Append(context.Background(), batch)
			return err
		}
	})
}

// BenchmarkLogLayout weighs the fence's two designs by what the
// database spends on them, each as one INSERT ... ON CONFLICT DO NOTHING
// over arrays in one transaction: a row per message keyed by (channel,
// seq) (the Store's), and segments (a row per channel per commit, as in
// store/sqlite) with an exclusion constraint over each channel's seq
// ranges (btree_gist), or with only their primary key (no fence across
// writers: what the constraint costs).
func BenchmarkLogLayout(b *testing.B) {
	b.Run("row-per-message", BenchmarkAppend)
	for _, fence := range []struct{ name, ddl string }{
		{"segments+exclusion", `, CONSTRAINT disjoint EXCLUDE USING gist (channel WITH =, int8range(first, last, '[]') WITH &&)`},
		{"segments,pk-only", ``},
	} {
		b.Run(fence.name, func(b *testing.B) {
			runShapes(b, func(b *testing.B, url string) func([]chat.Message) error {
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, url)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { conn.Close(ctx) })
				if _, err := conn.Exec(ctx, `SET synchronous_commit = on; CREATE EXTENSION IF NOT EXISTS btree_gist;
					CREATE TABLE segments(channel text COLLATE "C" NOT NULL, first bigint NOT NULL, last bigint NOT NULL,
					first_ts bigint NOT NULL, ts_span bigint NOT NULL, body bytea NOT NULL, PRIMARY KEY(channel, first)`+fence.ddl+`)`); err != nil {
					b.Fatal(err)
				}
				var batch segment.Batch
				var body []byte
				var ch []string
				var first, last, firstTS, span []int64
				var bodies [][]byte
				return func(msgs []chat.Message) error {
					batch.Group(msgs)
					body, ch, first, last, firstTS, span, bodies = body[:0], ch[:0], first[:0], last[:0], firstTS[:0], span[:0], bodies[:0]
					for i := range batch.Runs {
						var row segment.Row
						row, body = segment.NewRow(body, batch.Msgs(&batch.Runs[i]))
						ch, first, last = append(ch, row.Channel), append(first, row.First), append(last, row.Last)
						firstTS, span, bodies = append(firstTS, row.FirstTS), append(span, row.TSSpan), append(bodies, row.Body)
					}
					return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, `INSERT INTO segments SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[],
							$4::int8[], $5::int8[], $6::bytea[]) ON CONFLICT DO NOTHING`, ch, first, last, firstTS, span, bodies)
						return err
					})
				}
			})
		})
	}
}
