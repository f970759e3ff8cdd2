package store

import (
	"reflect"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStateRoundTrip: a state row decodes to what was encoded, and a
// truncated or padded body is an error, never a guess.
func TestStateRoundTrip(t *testing.T) {
	for _, m := range []chat.Message{
		{Channel: "C1", Seq: 7, TS: 1_700_000_000_000_100, User: "U1", Text: "plain"},
		{Channel: "C1", Seq: 8, TS: 1_700_000_000_000_200, User: "U2", Text: "reply", ThreadTS: 1_700_000_000_000_100, ClientMsgID: "cm"},
		{Channel: "C1", Seq: 9, TS: 1_700_000_000_000_300, User: "U1", Text: "everything", ThreadTS: 1_700_000_000_000_300,
			More: &chat.More{Kind: chat.KindMessage, Subtype: "tombstone", Blocks: `[{"type":"divider"}]`, Attachments: `[{}]`,
				Edited:     &chat.Edited{User: "U1", TS: 1_700_000_000_000_400},
				Reactions:  []chat.Reaction{{Name: "eyes", Users: []string{"U1", "U2"}}, {Name: "+1", Users: []string{"U3"}}},
				ReplyCount: 2, ReplyUsers: []string{"U2", "U3"}, LatestReply: 1_700_000_000_000_500, Deleted: true}},
	} {
		b, err := EncodeState(&m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeState(m.Channel, m.TS, b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %+v = %+v, %v", m, got, err)
		}
		for i := range len(b) {
			if _, err := DecodeState(m.Channel, m.TS, b[:i]); err == nil {
				t.Fatalf("%d of %d bytes decoded", i, len(b))
			}
		}
		if _, err := DecodeState(m.Channel, m.TS, append(b, 0)); err == nil {
			t.Fatal("a trailing byte was accepted")
		}
	}
}
