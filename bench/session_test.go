package bench

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
)

// recordConn is a net.Conn that records each Write as one call.
type recordConn struct {
	net.Conn
	writes [][]byte
	fail   error
	closed bool
}

func (c *recordConn) Write(p []byte) (int, error) {
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) Close() error { c.closed = true; return nil }

func TestBatchConnWritesWhatIsHeldAtOnce(t *testing.T) {
	rec := &recordConn{}
	c := &batchConn{Conn: rec}
	c.Write([]byte("a")) // not held: straight through
	c.hold()
	c.Write([]byte("b"))
	c.Write([]byte("c"))
	if len(rec.writes) != 1 {
		t.Fatalf("held writes reached the connection: %q", rec.writes)
	}
	c.flush()
	c.Write([]byte("d")) // the hold ended with the flush
	if want := [][]byte{[]byte("a"), []byte("bc"), []byte("d")}; !slices.EqualFunc(rec.writes, want, bytes.Equal) {
		t.Fatalf("writes = %q, want %q", rec.writes, want)
	}
	c.flush() // nothing held: no write
	if len(rec.writes) != 3 {
		t.Fatalf("empty flush wrote: %q", rec.writes)
	}
}

func TestBatchConnBoundsWhatItHolds(t *testing.T) {
	rec := &recordConn{}
	c := &batchConn{Conn: rec}
	c.hold()
	big := make([]byte, maxHeld-1)
	c.Write(big)
	c.Write([]byte("xy")) // would pass maxHeld: what is held goes first, then this
	if len(rec.writes) != 2 || len(rec.writes[0]) != maxHeld-1 || string(rec.writes[1]) != "xy" {
		t.Fatalf("writes of sizes %d", len(rec.writes))
	}
}

// TestBatchConnFailedFlush: the connection is closed and every later
// write fails, so the publisher stops writing into a dead connection.
func TestBatchConnFailedFlush(t *testing.T) {
	rec := &recordConn{}
	c := &batchConn{Conn: rec}
	c.hold()
	c.Write([]byte("lost"))
	rec.fail = io.ErrClosedPipe
	c.flush()
	if !rec.closed {
		t.Fatal("connection not closed after a failed flush")
	}
	if _, err := c.Write([]byte("next")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("write after a failed flush: %v", err)
	}
}
