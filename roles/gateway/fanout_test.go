package gateway

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkFanout measures the gateway's fan-out of one message to n
// local sessions: the loop that runs once per message per gateway and
// the fan-out workers' pushes, up to the point where each session has
// the frame (the sessions are paused, so no socket is written). Its
// allocations are per message (one list per worker), none per recipient.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			g := &Gateway{cfg: Config{MaxQueue: 1 << 30}, fan: newFanout()}
			defer g.fan.stop()
			c := &chanSub{id: "C1", next: 1, fan: g.fan}
			sessions := make([]*session, n)
			for i := range sessions {
				s := &session{g: g, user: fmt.Sprint("U", i), paused: true, shard: g.fan.shard(uint64(i))}
				s.queue = make([][]byte, 0, 4096)
				sessions[i] = s
				c.attached = append(c.attached, &attachment{s: s})
			}
			frame := []byte(`{"type":"message","channel":"C1","user":"U1","text":"hello","ts":"1700000000.000100","seq":1}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i&4095 == 4095 { // keep the queues within their capacity
					waitQueued(sessions, 4095)
					for _, s := range sessions {
						s.mu.Lock()
						s.queue = s.queue[:0]
						s.mu.Unlock()
					}
				}
				c.mu.Lock()
				c.deliver(c.next, frame)
				c.mu.Unlock()
			}
			waitQueued(sessions, b.N&4095)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		})
	}
}

// waitQueued waits until every session holds n frames.
func waitQueued(sessions []*session, n int) {
	for _, s := range sessions {
		for {
			s.mu.Lock()
			l := len(s.queue)
			s.mu.Unlock()
			if l >= n {
				break
			}
			runtime.Gosched()
		}
	}
}
