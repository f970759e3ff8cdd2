package gateway

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// TestFramesReadByAClient: the frames the gateway builds by hand are read
// by a websocket client as the messages and close status they carry, for
// each of the three length encodings.
func TestFramesReadByAClient(t *testing.T) {
	payloads := [][]byte{[]byte(`{"type":"hello"}`), bytes.Repeat([]byte("a"), 300), bytes.Repeat([]byte("b"), 70_000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc := &hijackCapture{ResponseWriter: w}
		c, err := websocket.Accept(hc, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, p := range payloads {
			hc.nc.Write(wsframe.Text(p))
		}
		hc.nc.Write(wsframe.Close(wsframe.StatusServiceRestart, "server restart"))
	}))
	defer srv.Close()
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	defer c.CloseNow()
	for _, want := range payloads {
		typ, got, err := c.Read(context.Background())
		if err != nil || typ != websocket.MessageText || !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes (%v, %v), want %d", len(got), typ, err, len(want))
		}
	}
	_, _, err = c.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusServiceRestart {
		t.Fatalf("close: %v", err)
	}
	var _ net.Conn = (*net.TCPConn)(nil)
}

func BenchmarkAckFrame(b *testing.B) {
	text := strings.Repeat("x", 128)
	b.ReportAllocs()
	for b.Loop() {
		_ = ackFrame(12345, 1700000000000100, text)
	}
}
