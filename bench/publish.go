package bench

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/ringcast/ringcast/client"
)

// publisher sends messages to its channels in turn, over its own
// websocket (ViaRTM) or chat.postMessage (ViaHTTP), keeping at most
// Config.Inflight unacknowledged. Its counters are safe to read at any
// time; the other fields belong to its goroutines.
type publisher struct {
	r     *runner
	idx   int
	user  *benchUser
	chans []*benchChan
	sess  *session // ViaRTM
	ack   *Histogram

	// ViaRTM: a send takes a slot from free and names it in its id; the
	// ack gives it back. So the in-flight bound and the id -> publish map
	// are one array, with no lock.
	free  chan int
	slots []slot

	sent, acked, failed atomic.Uint64
	maxLag              atomic.Int64  // ns the pacing fell behind its schedule, at most
	skipped             atomic.Uint64 // scheduled sends given up (fell too far behind)
	counter             atomic.Uint64 // messages numbered so far
	buf                 []byte        // ViaRTM: the frame being written
}

type slot struct {
	id  atomic.Int64 // the request id; 0: free
	ch  atomic.Int32
	idx atomic.Uint64
}

// slotBits is how many low bits of an RTM request id name the slot.
const slotBits = 10

func newPublisher(r *runner, idx int, u *benchUser) *publisher {
	p := &publisher{r: r, idx: idx, user: u, chans: u.chans, ack: r.ackLat.Shard(idx)}
	if r.cfg.Via == ViaRTM {
		p.free = make(chan int, r.cfg.Inflight)
		p.slots = make([]slot, r.cfg.Inflight)
		for i := range r.cfg.Inflight {
			p.free <- i
		}
	}
	return p
}

// run publishes from start until end: every interval (open loop, on a
// fixed schedule whatever the replies), or as fast as the in-flight bound
// allows when interval is 0 (closed loop). It returns when ctx ends, and
// whatever the server does by its limit, end + Drain + sendGrace: a wait
// for a free slot, a websocket write or a chat.postMessage still going on
// then is given up.
func (p *publisher) run(ctx context.Context, start, end time.Time, interval time.Duration) {
	limit := end.Add(p.r.cfg.Drain + p.r.sendGrace)
	// waits end on interrupt or at the limit; writes only at the limit (a
	// websocket write whose context ends closes the websocket, which an
	// interrupt should leave to the teardown).
	waits, cancel := context.WithDeadline(ctx, limit)
	defer cancel()
	writes, cancelWrites := context.WithDeadline(context.WithoutCancel(ctx), limit)
	defer cancelWrites()

	var send func(ch *benchChan, intended int64) (*websocket.Conn, error)
	if p.r.cfg.Via == ViaRTM {
		send = func(ch *benchChan, intended int64) (*websocket.Conn, error) {
			return p.sendRTM(waits, writes, ch, intended)
		}
	} else {
		// Unbuffered: a job is handed over only to a worker that sends it
		// now, so nothing queues inside the bench.
		jobs := make(chan job)
		var wg sync.WaitGroup
		for range p.r.cfg.Inflight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.httpWorker(waits, jobs)
			}()
		}
		defer func() { close(jobs); wg.Wait() }()
		send = func(ch *benchChan, intended int64) (*websocket.Conn, error) {
			select {
			case jobs <- job{ch, intended}:
				return nil, nil
			case <-waits.Done():
				return nil, waits.Err()
			}
		}
	}
	defer p.flush()
	if !sleepCtx(ctx, time.Until(start)) {
		return
	}
	next := start
	for k := 0; ctx.Err() == nil; k++ {
		var intended int64 // closed loop: stamped when a slot or worker takes the send
		if interval > 0 {
			// Open loop: every scheduled send is made, late if need be,
			// unless the schedule has fallen hopelessly behind.
			at := next
			next = next.Add(interval)
			if !at.Before(end) {
				return
			}
			if d := time.Until(at); d > 0 {
				p.flush()
				if !sleepCtx(ctx, d) {
					return
				}
			} else {
				lag := -d
				if int64(lag) > p.maxLag.Load() { // only this goroutine stores it
					p.maxLag.Store(int64(lag))
				}
				if lag > maxBehind {
					// The sends scheduled in [at, end), this one included.
					p.skipped.Add(uint64((end.Sub(at) + interval - 1) / interval))
					return
				}
			}
			intended = at.UnixNano()
		} else if !time.Now().Before(end) {
			return
		}
		if c, err := send(p.chans[k%len(p.chans)], intended); err != nil && !p.awaitSession(waits, c) {
			return
		}
	}
}

// defaultSendGrace is how long past the end of publishing and the drain a
// publisher may still wait for a free slot or a write.
const defaultSendGrace = 2 * time.Second

// awaitSession waits, after a send on failed went wrong, until the
// publisher's websocket has been replaced by another. False when it will
// not be (or the send failed before it wrote anything).
func (p *publisher) awaitSession(ctx context.Context, failed *websocket.Conn) bool {
	if p.sess == nil || failed == nil {
		return false
	}
	for p.sess.conn.Load() == failed {
		select {
		case <-p.sess.dead:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// reclaim frees the slots of sends whose connection was lost: their acks
// will never come. It runs on the session's reader goroutine, before it
// reconnects.
func (p *publisher) reclaim() {
	for k := range p.slots {
		if id := p.slots[k].id.Load(); id != 0 && p.slots[k].id.CompareAndSwap(id, 0) {
			p.free <- k
		}
	}
}

// maxBehind is how late an open-loop publisher may fall behind its
// schedule before it gives up the rest of it.
const maxBehind = 5 * time.Second

// sendRTM writes one message frame on the publisher's websocket, once a
// slot is free (waiting at most until waits ends); the write is bounded by
// writes. It returns the connection it wrote to. intended 0 (closed loop)
// is taken as the time the slot was free, so that the wait for it is not
// counted as latency.
func (p *publisher) sendRTM(waits, writes context.Context, ch *benchChan, intended int64) (*websocket.Conn, error) {
	var k int
	select {
	case k = <-p.free:
	default:
		p.flush() // nothing more can go now: send what is held
		select {
		case k = <-p.free:
		case <-p.sess.dead:
			return nil, errStopped
		case <-waits.Done():
			return nil, waits.Err()
		}
	}
	if intended == 0 {
		intended = time.Now().UnixNano()
	}
	n := p.counter.Add(1)
	idx, rec := ch.pubs.alloc()
	id := int64(n)<<slotBits | int64(k)
	sl := &p.slots[k]
	sl.ch.Store(int32(ch.idx))
	sl.idx.Store(idx)
	sl.id.Store(id)

	b := append(p.buf[:0], `{"type":"message","channel":"`...)
	b = append(b, ch.id...)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"text":"`...)
	b = appendText(b, p.r.cfg.Size, uint64(ch.idx), idx, intended, p.idx, n)
	b = append(b, `"}`...)
	p.buf = b
	c := p.sess.conn.Load()
	if out := p.sess.out.Load(); out != nil {
		out.hold() // until the publisher waits
	}
	rec.sent.Store(time.Now().UnixNano())
	p.sent.Add(1)
	if err := c.Write(writes, websocket.MessageText, b); err != nil {
		p.r.countError("rtm send failed")
		if sl.id.CompareAndSwap(id, 0) { // not reclaimed by the reader meanwhile
			p.free <- k
		}
		return c, err
	}
	return c, nil
}

// flush sends what the publisher's websocket holds (see batchConn).
func (p *publisher) flush() {
	if p.sess == nil {
		return
	}
	if out := p.sess.out.Load(); out != nil {
		out.flush()
	}
}

// onAck handles an ack (ok) or error ack on the publisher's websocket.
// It runs on the session's reader goroutine.
func (p *publisher) onAck(f []byte, ok bool) {
	id, parsed := parseReplyTo(f)
	k := id & (1<<slotBits - 1)
	if !parsed || k >= int64(len(p.slots)) || p.slots[k].id.Load() != id {
		p.r.countError("ack for an unknown id")
		return
	}
	sl := &p.slots[k]
	if !sl.id.CompareAndSwap(id, 0) {
		return // freed meanwhile: the send failed
	}
	// The slot is ours until it is back in free.
	ch := p.r.chans[sl.ch.Load()]
	var why string
	if !ok {
		why = "rtm error ack, code " + errorCode(f)
	}
	p.settle(ch, ch.pubs.rec(sl.idx.Load()), ok, why)
	p.free <- int(k)
}

// settle records the answer to a publish.
func (p *publisher) settle(ch *benchChan, rec *pubRec, ok bool, why string) {
	now := time.Now().UnixNano()
	if !ok {
		rec.ack.Store(ackFailed)
		p.failed.Add(1)
		p.r.countError(why)
		return
	}
	rec.ack.Store(now)
	ch.acked.Add(1)
	p.acked.Add(1)
	if sent := rec.sent.Load(); sent >= p.r.winStart.Load() && sent < p.r.winEnd.Load() {
		p.ack.Record(now - sent)
	}
}

type job struct {
	ch       *benchChan
	intended int64 // unix nanos; 0 (closed loop): when a worker takes it
}

// httpTimeout bounds one chat.postMessage.
const httpTimeout = 15 * time.Second

// httpWorker publishes jobs with chat.postMessage, one at a time, until
// jobs is closed. Once ctx has ended (interrupt, or the publisher's
// limit), jobs are dropped unsent and a call going on is given up: its
// publish stays unanswered.
func (p *publisher) httpWorker(ctx context.Context, jobs <-chan job) {
	var buf []byte
	var res struct {
		Message struct {
			Seq uint64 `json:"seq"`
		} `json:"message"`
	}
	for j := range jobs {
		if ctx.Err() != nil {
			continue
		}
		if j.intended == 0 { // closed loop: from when a worker took it
			j.intended = time.Now().UnixNano()
		}
		idx, rec := j.ch.pubs.alloc()
		n := p.counter.Add(1)
		buf = appendText(buf[:0], p.r.cfg.Size, uint64(j.ch.idx), idx, j.intended, p.idx, n)
		args := url.Values{"channel": {j.ch.id}, "text": {string(buf)}}
		cctx, cancel := context.WithTimeout(ctx, httpTimeout)
		rec.sent.Store(time.Now().UnixNano())
		p.sent.Add(1)
		res.Message.Seq = 0
		err := p.user.api.Call(cctx, "chat.postMessage", args, &res)
		cancel()
		if err != nil {
			var ae *client.APIError
			switch {
			case errors.As(err, &ae):
				p.settle(j.ch, rec, false, "chat.postMessage: "+ae.Code)
			case ctx.Err() != nil:
				// Given up: the server may or may not have it.
			case cctx.Err() != nil:
				p.settle(j.ch, rec, false, "chat.postMessage: timeout")
			default:
				p.settle(j.ch, rec, false, "chat.postMessage: "+shortErr(err))
			}
			continue
		}
		if !rec.seq.CompareAndSwap(0, res.Message.Seq) && rec.seq.Load() != res.Message.Seq {
			p.r.seqMismatch.Add(1)
		}
		p.settle(j.ch, rec, true, "")
	}
}

// pending is how many sends are not answered yet.
func (p *publisher) pending() uint64 {
	return p.sent.Load() - p.acked.Load() - p.failed.Load()
}
