package gateway

import (
	"fmt"
	"testing"
)

// BenchmarkFanout measures the gateway's fan-out of one message to n
// local sessions: the loop that runs once per message per gateway. The
// sessions are paused (their writers do not run), so this is the cost of
// queueing the shared frame to each recipient; -benchmem shows there is
// no allocation per recipient.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			g := &Gateway{cfg: Config{MaxQueue: 1 << 30}}
			c := &chanSub{id: "C1", next: 1}
			sessions := make([]*session, n)
			for i := range sessions {
				s := &session{g: g, user: fmt.Sprint("U", i), paused: true}
				s.queue = make([][]byte, 0, 4096)
				sessions[i] = s
				c.attached = append(c.attached, &attachment{s: s})
			}
			frame := []byte(`{"type":"message","channel":"C1","user":"U1","text":"hello","ts":"1700000000.000100","seq":1}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i&4095 == 4095 { // keep the queues within their capacity
					for _, s := range sessions {
						s.queue = s.queue[:0]
					}
				}
				c.mu.Lock()
				c.deliver(c.next, frame)
				c.mu.Unlock()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		})
	}
}
