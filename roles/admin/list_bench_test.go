package admin_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/ringcast/ringcast/node/nodetest"
)

// BenchmarkConversationsList: one conversations.list of 100 channels the
// caller is in, 20 messages each; every other channel read up to its
// newest message (the other half unread, never marked).
func BenchmarkConversationsList(b *testing.B) {
	c := nodetest.Start(b, nodetest.Spec{Name: "solo"})
	alice, _ := c.UserWith(url.Values{"name": {"alice"}, "limit_class": {"unlimited"}})
	for i := range 100 {
		var ch struct{ Channel struct{ ID string } }
		nodetest.Call(b, alice, "conversations.create", url.Values{"name": {fmt.Sprint("room-", i)}}, &ch)
		var last struct{ TS string }
		for j := range 20 {
			nodetest.Call(b, alice, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {fmt.Sprint("m", j)}}, &last)
		}
		if i%2 == 0 {
			nodetest.Call(b, alice, "conversations.mark", url.Values{"channel": {ch.Channel.ID}, "ts": {last.TS}}, nil)
		}
	}
	b.ResetTimer()
	for range b.N {
		var res struct{ Channels []map[string]any }
		nodetest.Call(b, alice, "conversations.list", url.Values{"limit": {"200"}}, &res)
		if len(res.Channels) != 100 {
			b.Fatalf("%d channels listed", len(res.Channels))
		}
	}
}
