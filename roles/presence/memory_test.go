package presence

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

// BenchmarkTrackedUserMemory reports the heap a presence node holds per
// tracked user: one session on one gateway, one watcher.
func BenchmarkTrackedUserMemory(b *testing.B) {
	const users = 100_000
	view := ring.NewStatic(ring.NewView("p", []ring.Member{{Name: "p", Meta: ring.Meta{Roles: []ring.Role{ring.RolePresence}}}}))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range b.N {
		s, err := New(Config{Self: "p", View: view.View, Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		key := []byte("k")
		srv, err := internode.Listen("127.0.0.1:0", internode.Auth{Self: "p", Key: key}, &internode.Dispatcher{Presence: s, Log: logger}, logger)
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve()
		c, err := internode.Dial(context.Background(), srv.Addr(), internode.DialOptions{Auth: internode.Auth{Self: "gw", Key: key}})
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, users)
		for i := range ids {
			ids[i] = fmt.Sprintf("U%010d", i)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for _, id := range ids {
			report(c, id, 1)
		}
		for i := 0; i < users; i += 500 {
			end := min(i+500, users)
			if _, err := internode.Call(context.Background(), c, internode.Watch{Users: ids[i:end]}); err != nil {
				b.Fatal(err)
			}
		}
		for s.Tracked() < users {
			time.Sleep(time.Millisecond)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		// The ids themselves belong to the test; the node holds its own
		// copies (decoded from the wire), which are counted.
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/users, "bytes/user")
		c.Shutdown()
		srv.Close()
		runtime.KeepAlive(ids)
	}
}
