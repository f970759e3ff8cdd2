package bench

import (
	"strings"
	"testing"
)

// Frames as the server encodes them (transport/rtm), and variants.
const (
	frameMessage = `{"type":"message","channel":"C0123456789","user":"U9","text":"bench 3 41 1700000000123456789 p2.17 xxxx","ts":"1700000000.000100","event_ts":"1700000000.000100","team":"T1","seq":42}`
	frameAck     = `{"ok":true,"reply_to":1027,"ts":"1700000000.000100","text":"bench 3 41 1 p0.1 xx"}`
	frameNack    = `{"ok":false,"reply_to":2051,"error":{"code":-1,"msg":"slow down, too many messages..."}}`
)

func TestFrameKind(t *testing.T) {
	tests := []struct {
		frame string
		want  int
	}{
		{frameMessage, kindMessage},
		{frameAck, kindAck},
		{frameNack, kindNack},
		// channel_joined as transport/rtm encodes it (encoding/json, keys sorted).
		{`{"channel":{"id":"C1","name":"x","topic":{"value":""}},"type":"channel_joined"}`, kindOther},
		{`{"type":"hello"}`, kindHello},
		{`{"type":"goodbye"}`, kindGoodbye},
		{`{"type":"error","error":{"code":3,"msg":"invalid json"}}`, kindError},
		{`{"type":"pong","reply_to":1}`, kindOther},
		{`{"type":"user_typing","channel":"C1"}`, kindOther},
		{`{"type":"hel`, kindOther},
		{``, kindOther},
	}
	for _, tt := range tests {
		if got := frameKind([]byte(tt.frame)); got != tt.want {
			t.Errorf("frameKind(%s) = %d, want %d", tt.frame, got, tt.want)
		}
	}
}

func TestParseMessage(t *testing.T) {
	m, ok := parseMessage([]byte(frameMessage))
	if !ok || string(m.channel) != "C0123456789" || m.chanIdx != 3 || m.pubIdx != 41 ||
		m.sentNs != 1700000000123456789 || m.seq != 42 {
		t.Fatalf("parseMessage = %+v, %v", m, ok)
	}
	for _, bad := range []string{
		`{"type":"message","channel":"C1","text":"hello","seq":1}`,                           // not a bench message
		`{"type":"message","channel":"C1","text":"bench 1 2 3 p0.1 x"}`,                      // no seq
		`{"type":"message","channel":"C1","text":"bench 1 x 3 p0.1 x","seq":1}`,              // bad index
		`{"type":"message","text":"bench 1 2 3 p0.1 x","seq":1}`,                             // no channel
		`{"type":"message","channel":"C1","text":"bench 1 2 3","seq":1}`,                     // truncated header
		`{"type":"message","channel":"C1","text":"bench 1 2 99999999999999999999 ","seq":1}`, // overflow
	} {
		if m, ok := parseMessage([]byte(bad)); ok {
			t.Errorf("parseMessage(%s) = %+v, want not ok", bad, m)
		}
	}
}

func TestAppendTextRoundTrip(t *testing.T) {
	for _, size := range []int{minText, 128, 4000} {
		text := appendText(nil, size, 7, 123456, 1700000000987654321, 5, 99)
		if len(text) != size {
			t.Fatalf("size %d: text is %d bytes", size, len(text))
		}
		frame := `{"type":"message","channel":"C1","text":"` + string(text) + `","seq":9}`
		m, ok := parseMessage([]byte(frame))
		if !ok || m.chanIdx != 7 || m.pubIdx != 123456 || m.sentNs != 1700000000987654321 || m.seq != 9 {
			t.Fatalf("size %d: round trip = %+v, %v", size, m, ok)
		}
		if strings.ContainsAny(string(text), "\"\\") {
			t.Fatalf("text needs escaping: %q", text)
		}
	}
	// A header of a big run (a million channels, ten billion publishes,
	// 10^5 publishers) still fits in the smallest size; a bigger one
	// makes the text longer, never truncated.
	if h := appendText(nil, 0, 999_999, 9_999_999_999, 1<<62, 99_999, 9_999_999_999); len(h) > minText {
		t.Fatalf("header %q is longer than %d", h, minText)
	}
}

func TestParseReplyToAndCode(t *testing.T) {
	if id, ok := parseReplyTo([]byte(frameAck)); !ok || id != 1027 {
		t.Fatalf("ack reply_to = %d, %v", id, ok)
	}
	if id, ok := parseReplyTo([]byte(frameNack)); !ok || id != 2051 {
		t.Fatalf("nack reply_to = %d, %v", id, ok)
	}
	if c := errorCode([]byte(frameNack)); c != "-1" {
		t.Fatalf("errorCode = %q", c)
	}
}

// TestHotPathAllocs: classifying and reading a delivery allocates nothing.
func TestHotPathAllocs(t *testing.T) {
	f := []byte(frameMessage)
	a := []byte(frameAck)
	n := testing.AllocsPerRun(1000, func() {
		if frameKind(f) != kindMessage || frameKind(a) != kindAck || frameKind([]byte(`{"type":"hello"}`)) != kindHello {
			panic("kind")
		}
		if _, ok := parseMessage(f); !ok {
			panic("parse")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

func BenchmarkParseMessage(b *testing.B) {
	f := []byte(frameMessage)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for range b.N {
		if frameKind(f) != kindMessage {
			b.Fatal("kind")
		}
		if _, ok := parseMessage(f); !ok {
			b.Fatal("parse")
		}
	}
}
