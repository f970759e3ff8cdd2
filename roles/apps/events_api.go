package apps

import (
	"context"
	"time"

	"github.com/ringcast/ringcast/transport/appevent"
)

// httpResult is the outcome of one Events API request.
type httpResult struct {
	it     *item
	reason string // "": delivered
}

// failingAfter is how many Events API requests in a row may fail
// before the app is marked failing: its deliveries pause for
// Config.FailingPause after each failure, then one request probes the
// URL (its events wait in the log meanwhile; none is given up while it
// fails).
const failingAfter = 10

// post starts the next Events API request when none is out: one at a
// time per app, so that a receiver sees its events in order.
func (d *dispatcher) post() {
	if d.posting || time.Now().Before(d.paused) {
		return
	}
	for len(d.queue) > 0 && d.queue[0].done {
		d.queue = d.queue[1:]
	}
	if len(d.queue) == 0 {
		return
	}
	it := d.queue[0]
	d.queue = d.queue[1:]
	d.posting = true
	retry, reason := it.attempts, it.reason
	it.attempts++
	client, to, secret := d.a.cfg.HTTP, d.app.RequestURL, d.app.SigningSecret // d.app is run's
	ok := d.a.life.Go(func(ctx context.Context) {
		r := appevent.Post(ctx, client, to, secret, it.payload, retry, reason)
		select {
		case d.res <- httpResult{it, r}:
		case <-d.done:
		}
	})
	if !ok {
		d.posting = false
	}
}

// posted takes a request's outcome: the event is done, or due again
// after the next retry delay.
func (d *dispatcher) posted(r httpResult) {
	d.posting = false
	switch {
	case r.reason == "":
		if d.failures >= failingAfter {
			d.a.log.Info("app delivering again", "app", d.app.ID, "url", d.app.RequestURL)
		}
		d.failures = 0
	case d.failures+1 >= failingAfter:
		d.failures++
		d.paused = time.Now().Add(d.a.cfg.FailingPause)
		if d.failures == failingAfter {
			d.a.log.Warn("app failing: Events API deliveries paused", "app", d.app.ID, "url", d.app.RequestURL,
				"failed_in_a_row", d.failures, "pause", d.a.cfg.FailingPause, "last_reason", r.reason)
		}
	default:
		d.failures++
	}
	if r.reason == "" {
		d.finish(r.it)
	} else if d.failures >= failingAfter && r.it.attempts > d.a.cfg.Retries {
		r.it.attempts = d.a.cfg.Retries // failing: kept for the next probe, not given up
		r.it.reason = r.reason
		r.it.due = d.paused
	} else if r.it.attempts > d.a.cfg.Retries {
		d.a.log.Warn("app event given up", "app", d.app.ID, "channel", r.it.channel, "seq", r.it.seq, "reason", r.reason)
		d.finish(r.it)
	} else {
		delays := d.a.cfg.HTTPRetryDelays
		r.it.reason = r.reason
		r.it.due = time.Now().Add(delays[min(r.it.attempts-1, len(delays)-1)])
	}
	d.post()
}
