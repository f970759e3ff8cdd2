package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// rawClient is a websocket client that writes frames by hand, reads
// nothing until asked, and parses what it reads byte by byte.
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
}

// dialRaw opens a websocket to srv's gateway.
func dialRaw(t *testing.T, srv *httptest.Server, key []byte) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	ticket := rtm.NewTicket("U1", 0, "gw", 0, time.Now()).Sign(key)
	fmt.Fprintf(nc, "GET /rtm/%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", ticket)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawClient{nc: nc, br: br}
}

// send writes one masked client frame with the given first byte and a
// payload length that may be a lie (for the oversized case).
func (c *rawClient) send(t *testing.T, b0 byte, claimed int, payload []byte) {
	t.Helper()
	b := []byte{b0}
	switch {
	case claimed < 126:
		b = append(b, 0x80|byte(claimed))
	case claimed <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(claimed))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(claimed))
	}
	b = append(b, 0, 0, 0, 0) // a zero masking key leaves the payload as is
	if _, err := c.nc.Write(append(b, payload...)); err != nil {
		t.Fatal(err)
	}
}

type wireFrame struct {
	op      wsframe.Opcode
	payload []byte
}

// readFrame parses one server frame from the raw bytes, failing on
// anything a server may not send.
func (c *rawClient) readFrame(t *testing.T) (wireFrame, error) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return wireFrame{}, err
	}
	op := wsframe.Opcode(h[0] & 0x0F)
	if h[0]&0x80 == 0 || h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		t.Fatalf("malformed frame header % x (not final, reserved bits or masked)", h)
	}
	switch op {
	case wsframe.OpText, wsframe.OpClose, wsframe.OpPong:
	default:
		t.Fatalf("frame with opcode %d: a frame was written inside another", op)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var x [2]byte
		io.ReadFull(c.br, x[:])
		n = uint64(binary.BigEndian.Uint16(x[:]))
	case 127:
		var x [8]byte
		io.ReadFull(c.br, x[:])
		n = binary.BigEndian.Uint64(x[:])
	}
	if n > 64<<20 {
		t.Fatalf("frame claims %d bytes: a frame was written inside another", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return wireFrame{}, err
	}
	return wireFrame{op, p}, nil
}

// TestOneWriterPerSocket: with a data frame half written to a client
// that does not read (its socket full), the client sends a close, an
// oversized frame or a ping; once it reads again, every byte on the wire
// is whole frames: hello, the data frame, then the pong or the close
// the gateway answered with. (Before, coder/websocket wrote the echo of
// a close and the 1009 itself, inside the half-written frame.)
func TestOneWriterPerSocket(t *testing.T) {
	// More than the socket buffers on both ends hold (tcp_rmem's maximum
	// is a few MiB): the client does not read, so the frame stays half
	// written.
	big := bytes.Repeat([]byte("x"), 24<<20)
	tests := []struct {
		name  string
		send  func(t *testing.T, c *rawClient)
		sent  func(s *session) bool // the gateway has acted on it
		last  wireFrame
		close bool
	}{
		{"close", func(t *testing.T, c *rawClient) { c.send(t, 0x88, 2, []byte{0x03, 0xE8}) },
			func(s *session) bool { return s.ending }, wireFrame{wsframe.OpClose, []byte{0x03, 0xE8}}, true},
		{"oversized frame", func(t *testing.T, c *rawClient) { c.send(t, 0x81, 1<<20, nil) },
			func(s *session) bool { return s.ending }, wireFrame{wsframe.OpClose, nil}, true},
		{"ping", func(t *testing.T, c *rawClient) { c.send(t, 0x89, 4, []byte("ping")) },
			func(s *session) bool { return len(s.queue) >= 1 }, wireFrame{wsframe.OpPong, []byte("ping")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, key := runGateway(t)
			srv := httptest.NewServer(g)
			defer srv.Close()
			c := dialRaw(t, srv, key)
			s := onlySession(t, g)
			s.pushFrame(wsframe.Text(big))
			waitFor(t, "the data frame half written", func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.writing // its writer holds the rest, blocked on the full socket
			})
			tt.send(t, c)
			waitFor(t, "the gateway to act on it", func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return tt.sent(s)
			})
			c.nc.SetReadDeadline(time.Now().Add(30 * time.Second)) // a broken stream fails, not hangs
			var got []wireFrame
			for {
				f, err := c.readFrame(t)
				if err != nil {
					break
				}
				got = append(got, f)
				if !tt.close && f.op == wsframe.OpPong {
					break
				}
			}
			if len(got) != 3 || string(got[0].payload) != `{"type":"hello"}` || !bytes.Equal(got[1].payload, big) {
				t.Fatalf("read %d frames (%s), want hello, the data frame and one more", len(got), describe(got))
			}
			last := got[2]
			if last.op != tt.last.op || (tt.last.payload != nil && !bytes.Equal(last.payload, tt.last.payload)) {
				t.Fatalf("last frame op %d % x, want op %d % x", last.op, last.payload, tt.last.op, tt.last.payload)
			}
			if tt.name == "oversized frame" && binary.BigEndian.Uint16(last.payload) != uint16(wsframe.StatusMessageTooBig) {
				t.Fatalf("close % x, want 1009", last.payload)
			}
		})
	}
}

// runGateway runs a gateway named gw whose store knows every user and no
// channel, with no other node.
func runGateway(t *testing.T) (*Gateway, []byte) {
	t.Helper()
	g, _ := deliveryGateway(t, journalStore{j: &journal{}})
	return g, testKey
}

// onlySession waits for the gateway's one session to have said hello.
func onlySession(t *testing.T, g *Gateway) *session {
	t.Helper()
	var s *session
	waitFor(t, "a session", func() bool {
		g.reg.each(func(x *session) { s = x })
		if s == nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.paused && len(s.queue) == 0 && !s.writing
	})
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func describe(fs []wireFrame) string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("op %d, %d bytes", f.op, len(f.payload)))
	}
	return strings.Join(out, "; ")
}
