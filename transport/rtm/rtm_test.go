package rtm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ringcast/ringcast/chat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, r *Request)
	}{
		{"message", `{"id":5,"type":"message","channel":"C1","text":"hi"}`, false, func(t *testing.T, r *Request) {
			if r.Type != "message" || r.ReplyTo() != 5 || r.Channel != "C1" || *r.Text != "hi" {
				t.Fatalf("got %+v", r)
			}
		}},
		{"ping without id", `{"type":"ping"}`, false, func(t *testing.T, r *Request) {
			if r.ID != nil || r.ReplyTo() != 0 {
				t.Fatalf("id = %v", r.ID)
			}
		}},
		{"resume", `{"type":"resume","channels":{"C1":7}}`, false, func(t *testing.T, r *Request) {
			if r.Channels["C1"] != 7 {
				t.Fatalf("channels = %v", r.Channels)
			}
		}},
		{"not json", `{"type":`, true, nil},
		{"array", `[1,2]`, true, nil},
		{"no type", `{"id":1}`, true, nil},
		{"type not a string", `{"type":5}`, true, nil},
		{"empty", ``, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %q", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestPongEchoesScalars(t *testing.T) {
	r, err := ParseRequest([]byte(`{"id":3,"type":"ping","timestamp":1700000000,"note":"x","nested":{"a":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(Pong(r), &got); err != nil {
		t.Fatal(err)
	}
	if got["type"] != "pong" || got["reply_to"] != 3.0 || got["timestamp"] != 1700000000.0 || got["note"] != "x" {
		t.Fatalf("pong = %v", got)
	}
	if _, ok := got["nested"]; ok {
		t.Fatalf("pong echoed a nested object: %v", got)
	}
}

func TestAckShape(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal(AppendAck(nil, 5, 1700000000000100, "hello"), &got); err != nil {
		t.Fatal(err)
	}
	if got["ok"] != true || got["reply_to"] != 5.0 || got["ts"] != "1700000000.000100" || got["text"] != "hello" {
		t.Fatalf("ack = %v", got)
	}
	for _, k := range []string{"type", "error"} {
		if _, ok := got[k]; ok {
			t.Fatalf("ack has a %q key: %v", k, got)
		}
	}
}

// TestGolden pins the exact bytes of the server frames clients parse.
func TestGolden(t *testing.T) {
	m := chat.Message{Channel: "C1", Seq: 42, TS: 1700000000000100, User: "U1", Text: "hi \"there\"\n", ThreadTS: 1700000000000001, ClientMsgID: "abc"}
	frames := map[string][]byte{
		"message.json":     AppendMessage(nil, &m, "T1"),
		"ack.json":         AppendAck(nil, 7, m.TS, "hi"),
		"error_ack.json":   ErrorAck(7, CodeNoText, "message text is missing"),
		"error_event.json": ErrorEvent(CodeInvalidJSON, "invalid json"),
	}
	for name, got := range frames {
		path := filepath.Join("testdata", name)
		if os.Getenv("UPDATE_GOLDEN") != "" {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.TrimSuffix(string(want), "\n") {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("%s is not valid JSON", name)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := chat.Message{Channel: "C1", Seq: 1, TS: 1, User: "U1", Text: "x"}
	var got struct {
		Type, Channel, User, Text, TS, Team string
		Seq                                 uint64
	}
	if err := json.Unmarshal(AppendMessage(nil, &m, "T1"), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "message" || got.TS != "0.000001" || got.Seq != 1 || got.Team != "T1" {
		t.Fatalf("decoded %+v", got)
	}
}

// FuzzAppendString: whatever the input, the output is valid JSON that
// decodes to the input with invalid UTF-8 replaced, as encoding/json does.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "hi", "\"\\\n\r\t\x00\x1f", "héllo ✓", "\xff\xfe", "\u2028\u2029", "<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", b, s, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte; ToValidUTF8 merges runs.
			var std string
			raw, _ := json.Marshal(s)
			_ = json.Unmarshal(raw, &std)
			want = std
		}
		if got != want {
			t.Fatalf("round trip %q -> %q, want %q", s, got, want)
		}
	})
}

// clientFrames adds the client frames in testdata/client to f's seeds.
func clientFrames(f *testing.F) {
	files, _ := filepath.Glob("testdata/client/*.json")
	if len(files) == 0 {
		f.Fatal("no seeds in testdata/client")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseRequest: no input makes the parser panic.
func FuzzParseRequest(f *testing.F) {
	clientFrames(f)
	for _, s := range []string{`{}`, `[`, `{"type":"x","type":"y"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRequest(b); err == nil && r.Type == "ping" {
			if !json.Valid(Pong(r)) {
				t.Fatalf("invalid pong for %q", b)
			}
		}
	})
}

// FuzzParseFlatMatchesJSON: wherever the reflection-free decoder takes
// a frame, it decodes it exactly as encoding/json does.
func FuzzParseFlatMatchesJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"type":"message","channel":"C1","text":"x"}`,
		` { "type" : "typing" , "channel":"C1" } `,
		`{"type":"message","text":"caf\u00e9 \"q\"","thread_ts":"1700000000.000100","client_msg_id":"a-b"}`,
		`{"id":-0,"type":"ping"}`, `{"id":01,"type":"ping"}`, `{"id":1e3,"type":"ping"}`,
		`{"id":9223372036854775808,"type":"ping"}`, `{"Type":"ping"}`, `{"type":null}`,
		`{"type":"x","type":"y"}`, `{"type":"\xff"}`, `{}`, `{"type":"a"}x`, `{"type":"a",}`,
	} {
		f.Add([]byte(s))
	}
	clientFrames(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var flat Request
		if !parseFlat(b, &flat) {
			return
		}
		var want Request
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("parseFlat took %q, which encoding/json rejects: %v", b, err)
		}
		if got, want := exported(flat), exported(want); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: parseFlat %+v, encoding/json %+v", b, got, want)
		}
	})
}

// exported is r without its unexported fields (parseFlat keeps ID and
// Text in storage of r's own, which encoding/json does not).
func exported(r Request) Request {
	return Request{Type: r.Type, ID: r.ID, Channel: r.Channel, Text: r.Text, ThreadTS: r.ThreadTS,
		ClientMsgID: r.ClientMsgID, IDs: r.IDs, Channels: r.Channels}
}

// TestParseFlatTakesTheCommonFrames: the frames clients send most are
// decoded without encoding/json (else the fast path is dead code).
func TestParseFlatTakesTheCommonFrames(t *testing.T) {
	for _, s := range []string{
		`{"id":1,"type":"message","channel":"C0123456789","text":"hello there","client_msg_id":"5f4e0ad2-7c9f-4b8e-9d7a-1c2b3a4d5e6f"}`,
		`{"id":2,"type":"typing","channel":"C1"}`,
		`{"type":"message","channel":"C1","text":"ünïcødé","thread_ts":"1700000000.000100"}`,
	} {
		var r Request
		if !parseFlat([]byte(s), &r) {
			t.Errorf("fell back to encoding/json for %s", s)
		}
	}
}

func BenchmarkParseRequest(b *testing.B) {
	frame := []byte(`{"id":12345,"type":"message","channel":"C0123456789","text":"` + strings.Repeat("x", 128) +
		`","client_msg_id":"5f4e0ad2-7c9f-4b8e-9d7a-1c2b3a4d5e6f"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventAndAck builds, from nothing, what the server makes per
// message: the message event (once per message) and the sender's ack.
func BenchmarkEventAndAck(b *testing.B) {
	m := chat.Message{Channel: "C0123456789", Seq: 123456, TS: 1700000000000100, User: "U0123456789",
		Text: strings.Repeat("x", 128), ClientMsgID: "5f4e0ad2-7c9f-4b8e-9d7a-1c2b3a4d5e6f"}
	b.ReportAllocs()
	for b.Loop() {
		_ = AppendMessage(nil, &m, "T0123456789")
		_ = AppendAck(make([]byte, 0, AckSize(m.Text)), 12345, m.TS, m.Text)
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	m := chat.Message{Channel: "C0123456789", Seq: 123456, TS: 1700000000000100, User: "U0123456789", Text: strings.Repeat("x", 128)}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], &m, "T0123456789")
	}
	b.SetBytes(int64(len(buf)))
}
