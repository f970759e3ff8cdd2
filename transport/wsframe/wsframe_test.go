package wsframe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clientFrame builds a frame as a client sends it: masked, with the
// header fields given (rsv in bits 4-6 of the first byte).
type clientFrame struct {
	fin     bool
	rsv     byte
	op      Opcode
	payload []byte
	noMask  bool
	lenForm int // 0: shortest; 2 or 8: force that extended length form
}

func (f clientFrame) bytes() []byte {
	b0 := byte(f.op) | f.rsv<<4
	if f.fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	n := len(f.payload)
	mask := byte(0x80)
	if f.noMask {
		mask = 0
	}
	switch {
	case f.lenForm == 8 || (f.lenForm == 0 && n > 0xFFFF):
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	case f.lenForm == 2 || (f.lenForm == 0 && n >= 126):
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mask|byte(n))
	}
	p := bytes.Clone(f.payload)
	if !f.noMask {
		key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return append(b, p...)
}

func text(s string) clientFrame { return clientFrame{fin: true, op: OpText, payload: []byte(s)} }

func closePayload(code StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

func join(frames ...clientFrame) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, f.bytes()...)
	}
	return b
}

func reader(b []byte, limit int) (*Reader, *[]string) {
	var pings []string
	r := NewReader(bufio.NewReaderSize(bytes.NewReader(b), 64), limit)
	r.OnPing = func(p []byte) { pings = append(pings, string(p)) }
	return r, &pings
}

// TestReadMessages: messages come out whole, fragments joined, with
// pings between fragments answered and pongs ignored.
func TestReadMessages(t *testing.T) {
	big := strings.Repeat("x", 70_000)
	in := join(
		text(`{"type":"ping"}`),
		clientFrame{op: OpText, payload: []byte("hel")},
		clientFrame{fin: true, op: OpPing, payload: []byte("p1")},
		clientFrame{fin: true, op: OpPong, payload: []byte("ignored")},
		clientFrame{op: OpContinuation, payload: []byte("lo ")},
		clientFrame{fin: true, op: OpContinuation, payload: []byte("world")},
		clientFrame{fin: true, op: OpBinary, payload: []byte{0, 1, 2}},
		text(""),
		text(big),
		clientFrame{fin: true, op: OpClose, payload: closePayload(StatusGoingAway, "bye")},
	)
	r, pings := reader(in, 100_000)
	want := []struct {
		op   Opcode
		data string
	}{{OpText, `{"type":"ping"}`}, {OpText, "hello world"}, {OpBinary, "\x00\x01\x02"}, {OpText, ""}, {OpText, big}}
	for _, w := range want {
		op, data, err := r.Next(nil)
		if err != nil || op != w.op || string(data) != w.data {
			t.Fatalf("Next = %v %q… %v; want %v %q…", op, data[:min(len(data), 20)], err, w.op, w.data[:min(len(w.data), 20)])
		}
	}
	if len(*pings) != 1 || (*pings)[0] != "p1" {
		t.Fatalf("pings %q", *pings)
	}
	_, _, err := r.Next(nil)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != StatusGoingAway || !ce.Echo || ce.Reason != "bye" {
		t.Fatalf("close: %v", err)
	}
}

// TestReadRejects: every frame the RFC forbids ends reading with the
// status to close with, and a message over the limit with 1009, before
// its payload is read.
func TestReadRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		code StatusCode
	}{
		{"unmasked", clientFrame{fin: true, op: OpText, payload: []byte("x"), noMask: true}.bytes(), StatusProtocolError},
		{"reserved bit", clientFrame{fin: true, rsv: 4, op: OpText, payload: []byte("x")}.bytes(), StatusProtocolError},
		{"compressed (RSV1) without the extension", clientFrame{fin: true, rsv: 4, op: OpText}.bytes(), StatusProtocolError},
		{"unknown data opcode", clientFrame{fin: true, op: 3}.bytes(), StatusProtocolError},
		{"unknown control opcode", clientFrame{fin: true, op: 0xB}.bytes(), StatusProtocolError},
		{"continuation first", clientFrame{fin: true, op: OpContinuation, payload: []byte("x")}.bytes(), StatusProtocolError},
		{"new message inside another", join(clientFrame{op: OpText, payload: []byte("a")}, text("b")), StatusProtocolError},
		{"fragmented ping", clientFrame{op: OpPing}.bytes(), StatusProtocolError},
		{"ping over 125 bytes", clientFrame{fin: true, op: OpPing, payload: make([]byte, 126)}.bytes(), StatusProtocolError},
		{"16-bit length under 126", clientFrame{fin: true, op: OpText, payload: []byte("x"), lenForm: 2}.bytes(), StatusProtocolError},
		{"64-bit length under 65536", clientFrame{fin: true, op: OpText, payload: []byte("x"), lenForm: 8}.bytes(), StatusProtocolError},
		{"64-bit length with the top bit", append([]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1, 2, 3, 4), StatusProtocolError},
		{"close of one byte", clientFrame{fin: true, op: OpClose, payload: []byte{3}}.bytes(), StatusProtocolError},
		{"close status 1005", clientFrame{fin: true, op: OpClose, payload: closePayload(1005, "")}.bytes(), StatusProtocolError},
		{"close status 999", clientFrame{fin: true, op: OpClose, payload: closePayload(999, "")}.bytes(), StatusProtocolError},
		{"close status 5000", clientFrame{fin: true, op: OpClose, payload: closePayload(5000, "")}.bytes(), StatusProtocolError},
		{"close reason not UTF-8", clientFrame{fin: true, op: OpClose, payload: closePayload(1000, "\xff")}.bytes(), StatusProtocolError},
		{"one frame over the limit", text(strings.Repeat("x", 101)).bytes()[:20], StatusMessageTooBig},
		{"fragments over the limit", join(clientFrame{op: OpText, payload: make([]byte, 60)}, clientFrame{fin: true, op: OpContinuation, payload: make([]byte, 41)}), StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := reader(tt.in, 100)
			_, _, err := r.Next(nil)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tt.code || ce.Echo {
				t.Fatalf("err %v, want close %d", err, tt.code)
			}
		})
	}
}

// TestReadCloseWithoutStatus: an empty close is echoed as 1000.
func TestReadCloseWithoutStatus(t *testing.T) {
	r, _ := reader(clientFrame{fin: true, op: OpClose}.bytes(), 100)
	_, _, err := r.Next(nil)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != StatusNormalClosure || !ce.Echo {
		t.Fatalf("err %v", err)
	}
}

// TestReadTruncated: a connection that ends mid-frame is an I/O error,
// not a message.
func TestReadTruncated(t *testing.T) {
	full := text("hello").bytes()
	for i := range len(full) {
		r, _ := reader(full[:i], 100)
		if _, _, err := r.Next(nil); err == nil {
			t.Fatalf("%d of %d bytes: no error", i, len(full))
		} else if i == 0 && err != io.EOF {
			t.Fatalf("no bytes: %v, want EOF", err)
		}
	}
}

// TestReadAllocatesNothing: with a buffer that has room, reading a
// message (and answering a ping between its fragments) allocates
// nothing.
func TestReadAllocatesNothing(t *testing.T) {
	one := join(clientFrame{op: OpText, payload: []byte(`{"type":"message",`)},
		clientFrame{fin: true, op: OpPing, payload: []byte("p")},
		clientFrame{fin: true, op: OpContinuation, payload: []byte(`"text":"hi"}`)})
	src := bytes.NewReader(nil)
	br := bufio.NewReaderSize(src, 512)
	r := NewReader(br, 1<<10)
	r.OnPing = func([]byte) {}
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(one)
		br.Reset(src)
		if _, _, err := r.Next(buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

func TestServerFrames(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 300, 0xFFFF, 0x10000, 70_000} {
		payload := bytes.Repeat([]byte("p"), n)
		b := append(make([]byte, Headroom), payload...)
		if got, want := Framed(b), Text(payload); !bytes.Equal(got, want) {
			t.Errorf("payload of %d bytes: Framed gives %x..., Text %x...", n, got[:min(len(got), 12)], want[:min(len(want), 12)])
		}
	}
	c := Close(StatusServiceRestart, strings.Repeat("é", 100))
	if len(c) != 2+125 && len(c) != 2+124 || c[0] != 0x88 || binary.BigEndian.Uint16(c[2:]) != 1012 {
		t.Fatalf("close frame % x", c[:4])
	}
}

// FuzzRead: whatever a client sends, the reader returns a message or an
// error, never panics, and never returns more than the limit.
// FuzzRead's seeds are client frames in testdata/fuzz/FuzzRead (go
// test runs each): a message, fragments with a ping between them, a
// close, each length form, and frames the reader refuses (unmasked, a
// reserved bit, over the limit).
func FuzzRead(f *testing.F) {
	if seeds, _ := filepath.Glob("testdata/fuzz/FuzzRead/*"); len(seeds) == 0 {
		f.Fatal("no seeds in testdata/fuzz/FuzzRead")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, _ := reader(in, 256)
		for range 8 {
			_, data, err := r.Next(nil)
			if err != nil {
				return
			}
			if len(data) > 256 {
				t.Fatalf("message of %d bytes over the limit", len(data))
			}
		}
	})
}

func BenchmarkReadMessage(b *testing.B) {
	one := text(`{"id":7,"type":"message","channel":"C0123456789","text":"` + strings.Repeat("x", 128) + `"}`).bytes()
	src := bytes.NewReader(nil)
	br := bufio.NewReaderSize(src, 512)
	r := NewReader(br, 16<<10)
	buf := make([]byte, 0, 4<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(one)))
	for b.Loop() {
		src.Reset(one)
		br.Reset(src)
		if _, _, err := r.Next(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTextFrame(b *testing.B) {
	p := bytes.Repeat([]byte("x"), 300)
	b.ReportAllocs()
	for b.Loop() {
		_ = Text(p)
	}
}
