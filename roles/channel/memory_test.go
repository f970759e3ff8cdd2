package channel

import (
	"fmt"
	"runtime"
	"testing"
	"unique"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
)

// BenchmarkChannelStateMemory reports the heap an owner holds per loaded
// channel (state, table entry, id, a member list): what decides how many
// channels one channel process can keep in memory.
func BenchmarkChannelStateMemory(b *testing.B) {
	const n = 1_000_000
	for _, members := range []int{1, 4} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			for range b.N {
				o, err := New(Config{Self: "a", Store: openStore(b), View: ring.NewStatic(viewOf("a", "a")).View, Logger: quiet()})
				if err != nil {
					b.Fatal(err)
				}
				users := make([]string, 1000) // a workspace's users; members are drawn from them
				for i := range users {
					users[i] = chat.NewID('U')
				}
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				now := o.cache.now()
				for i := range n {
					id := chat.NewID('C')
					st := &chanState{id: id, lastSeq: 42, committed: 42, lastTS: 1_700_000_000_000_000, lastUsed: now}
					for m := range members {
						// As loaded from the store: each member id arrives
						// as a string of its own, and is interned.
						st.members = append(st.members, unique.Make(string([]byte(users[(i+m*7)%len(users)]))))
					}
					sh := o.cache.shard(id)
					sh.m[id] = st
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				per := float64(after.HeapAlloc-before.HeapAlloc) / n
				b.ReportMetric(per, "bytes/channel")
				b.ReportMetric(per*16e6/(1<<30), "GiB/16M-channels")
				runtime.KeepAlive(o)
			}
		})
	}
}
