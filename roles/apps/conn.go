package apps

import (
	"context"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/appevent"
	"github.com/ringcast/ringcast/transport/rtm"
)

// conn is one Socket Mode connection. Its handler goroutine reads (acks
// go to the dispatcher); its writer goroutine, which serve starts and
// waits for, is the one writer of the socket: frames, pings and the
// close.
type conn struct {
	a      *Apps
	d      *dispatcher
	ws     *websocket.Conn
	out    chan out // to the writer; never closed
	opened time.Time
	ticket rtm.Ticket // that opened it: its app and token
}

// out is a frame for the writer, or (close set) the end of the socket.
type out struct {
	frame  []byte
	close  bool
	code   websocket.StatusCode
	reason string
}

// writeTimeout bounds one write to a client.
const writeTimeout = 10 * time.Second

func newConn(a *Apps, d *dispatcher, ws *websocket.Conn, tk rtm.Ticket) *conn {
	return &conn{a: a, d: d, ws: ws, out: make(chan out, outQueue), opened: time.Now(), ticket: tk}
}

// send queues a frame without blocking; a connection too far behind is
// closed (its envelopes go to another connection) and false returned.
func (c *conn) send(frame []byte) bool {
	select {
	case c.out <- out{frame: frame}:
		return true
	default:
		c.ws.CloseNow()
		return false
	}
}

// shut has the writer close the socket after what is queued.
func (c *conn) shut(code websocket.StatusCode, reason string) {
	select {
	case c.out <- out{close: true, code: code, reason: reason}:
	default:
		c.ws.CloseNow()
	}
}

// revoked tells the client its token was revoked (disconnect,
// link_disabled: Socket Mode is off for it) and closes the socket with
// 1008 (policy violation), as the gateway closes a revoked RTM session.
func (c *conn) revoked() {
	c.send(appevent.Disconnect(appevent.ReasonLinkDisabled, c.a.cfg.Self))
	c.shut(websocket.StatusPolicyViolation, string(chat.ErrTokenRevoked))
}

// serve runs the connection until it ends: registered with the
// dispatcher (which sends hello), acks passed on, anything else refused
// with a close.
func (c *conn) serve(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.write(ctx)
	}()
	defer func() {
		cancel()
		<-wrote
		c.ws.CloseNow()
	}()
	if !c.d.register(c) {
		c.shut(websocket.StatusServiceRestart, "shutting down")
	} else {
		defer c.d.unregister(c)
	}
	refused := false
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if refused {
			continue // the close is on its way
		}
		if typ != websocket.MessageText {
			refused = true
			c.shut(websocket.StatusUnsupportedData, "expected a JSON envelope ack")
			continue
		}
		id, err := appevent.ParseAck(b)
		if err != nil {
			refused = true
			c.shut(websocket.StatusUnsupportedData, "expected a JSON envelope ack")
			continue
		}
		c.d.ack(c, id)
	}
}

// write writes queued frames and pings until ctx ends or a close.
func (c *conn) write(ctx context.Context) {
	t := time.NewTicker(c.a.cfg.PingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, c.a.cfg.PingEvery)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.ws.CloseNow()
				return
			}
		case o := <-c.out:
			if o.close {
				c.ws.Close(o.code, o.reason)
				return
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.ws.Write(wctx, websocket.MessageText, o.frame)
			cancel()
			if err != nil {
				c.ws.CloseNow()
				return
			}
		}
	}
}
