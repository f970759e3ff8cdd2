package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringcast/ringcast/client"
)

// benchUser is a user of the run. Users are reused across runs (by name:
// bench-u-<i>, bench-p-<i>, bench-owner) and get a fresh token each run.
type benchUser struct {
	name  string
	id    string
	api   *client.API
	chans []*benchChan // the run's channels it is a member of
}

// benchChan is a channel of the run (created for it, with a run-unique
// name).
type benchChan struct {
	idx     int
	name    string
	id      string
	idBytes []byte
	members []*benchUser // joined for the run (the owner excepted)

	pubs      pubTable
	connected atomic.Int64  // sessions of its members that received hello, less those that gave up reconnecting
	acked     atomic.Uint64 // acknowledged publishes
}

// plan lays out users, channels and memberships. A session receives every
// channel its user is in, so each subscriber user is in exactly one
// channel (user j in channel j mod K) and sessions are spread over the
// users. Publisher p (a user of its own) is in the channels c with
// c mod P = p, or in channel p mod K when there are more publishers than
// channels.
func (r *runner) plan() {
	cfg := r.cfg
	r.runID = newRunID()
	for c := range cfg.Channels {
		r.chans = append(r.chans, &benchChan{idx: c, name: fmt.Sprintf("bench-%s-%d", r.runID, c)})
	}
	join := func(u *benchUser, ch *benchChan) {
		u.chans = append(u.chans, ch)
		ch.members = append(ch.members, u)
	}
	for j := range cfg.Users {
		u := &benchUser{name: fmt.Sprintf("bench-u-%d", j)}
		join(u, r.chans[j%cfg.Channels])
		r.users = append(r.users, u)
	}
	nPub := 0
	if cfg.publishes() {
		nPub = cfg.Publishers
	}
	for p := range nPub {
		u := &benchUser{name: fmt.Sprintf("bench-p-%d", p)}
		if nPub <= cfg.Channels {
			for c := p; c < cfg.Channels; c += nPub {
				join(u, r.chans[c])
			}
		} else {
			join(u, r.chans[p%cfg.Channels])
		}
		r.pubUsers = append(r.pubUsers, u)
	}
	r.owner = &benchUser{name: "bench-owner"}
}

// newRunID is a short lowercase id that makes the run's channel names
// unique: seconds since 2024 and four random characters, in base 36.
func newRunID() string {
	secs := time.Now().Unix() - 1704067200
	return strconv.FormatInt(secs, 36) + strings.ToLower(rand.Text()[:4])
}

// provision gets a token for every user, creates the channels and joins
// the members.
func (r *runner) provision(ctx context.Context) error {
	admin := &client.API{Base: r.cfg.URL, Token: r.cfg.AdminKey, HTTP: r.apiHC}
	all := append(append([]*benchUser{r.owner}, r.users...), r.pubUsers...)
	err := forEach(ctx, len(all), provisionWorkers, func(ctx context.Context, i int) error {
		return r.ensureUser(ctx, admin, all[i])
	})
	if err != nil {
		return fmt.Errorf("provision users: %w", err)
	}
	err = forEach(ctx, len(r.chans), provisionWorkers, func(ctx context.Context, i int) error {
		return r.createChannel(ctx, r.chans[i])
	})
	if err != nil {
		return fmt.Errorf("provision channels: %w", err)
	}
	joins := r.memberships()
	r.joins = len(joins)
	err = forEach(ctx, len(joins), provisionWorkers, func(ctx context.Context, i int) error {
		m := joins[i]
		if err := call(ctx, m.u.api, "conversations.join", url.Values{"channel": {m.ch.id}}, nil); err != nil {
			return fmt.Errorf("%s joins %s: %w", m.u.name, m.ch.name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("provision memberships: %w", err)
	}
	return nil
}

// provisionWorkers is how many provisioning calls run at once.
const provisionWorkers = 16

// membership is a user in a channel of the run.
type membership struct {
	u  *benchUser
	ch *benchChan
}

// memberships lists the users that join the run's channels (the owner,
// a member by creating them, excepted).
func (r *runner) memberships() []membership {
	var out []membership
	for _, ch := range r.chans {
		for _, u := range ch.members {
			out = append(out, membership{u, ch})
		}
	}
	return out
}

// createChannel creates ch as the owner. A create is retried like any
// call, so a retry may find the name taken by the channel an attempt
// whose answer was lost did create: the channel is then looked up by
// name, and taken when the owner created it (the name is the run's own).
func (r *runner) createChannel(ctx context.Context, ch *benchChan) error {
	var res struct {
		Channel struct {
			ID      string `json:"id"`
			Creator string `json:"creator"`
		} `json:"channel"`
	}
	attempts, err := callAttempts(ctx, r.owner.api, "conversations.create", url.Values{"name": {ch.name}}, &res)
	if ae := (*client.APIError)(nil); attempts > 1 && errors.As(err, &ae) && ae.Code == "name_taken" {
		err = call(ctx, r.owner.api, "conversations.info", url.Values{"channel": {ch.name}}, &res)
		if err == nil && res.Channel.Creator != r.owner.id {
			err = fmt.Errorf("name taken by a channel of %s", res.Channel.Creator)
		}
	}
	if err != nil {
		return fmt.Errorf("channel %s: %w", ch.name, err)
	}
	ch.id, ch.idBytes = res.Channel.ID, []byte(res.Channel.ID)
	return nil
}

// ensureUser creates u, or when its name is taken, gets a new token for
// it. Either way its limit class is "unlimited": a load tool publishes
// far faster than the limits made for people allow (limit.Config), and
// the figures it measures are the server's, not the limits'.
func (r *runner) ensureUser(ctx context.Context, admin *client.API, u *benchUser) error {
	var res struct {
		Token string `json:"token"`
		User  struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	args := url.Values{"name": {u.name}, "limit_class": {"unlimited"}}
	err := call(ctx, admin, "admin.users.create", args, &res)
	if ae := (*client.APIError)(nil); errors.As(err, &ae) && ae.Code == "name_taken" {
		err = call(ctx, admin, "admin.users.createToken", args, &res)
		if err == nil {
			err = call(ctx, admin, "admin.users.setLimitClass", url.Values{"user": {res.User.ID}, "class": {"unlimited"}}, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("user %s: %w", u.name, err)
	}
	u.id = res.User.ID
	u.api = &client.API{Base: r.cfg.URL, Token: res.Token, HTTP: r.apiHC}
	return nil
}

// cleanup makes every user of the run leave the run's channels, so that
// nothing keeps receiving them. It returns how many leaves failed.
func (r *runner) cleanup(ctx context.Context) int {
	var leaves []membership
	for _, m := range r.memberships() {
		if m.ch.id != "" && m.u.api != nil { // a channel never created, a user without a token
			leaves = append(leaves, m)
		}
	}
	for _, ch := range r.chans {
		if ch.id != "" && r.owner.api != nil {
			leaves = append(leaves, membership{r.owner, ch})
		}
	}
	var failed atomic.Int64
	forEach(ctx, len(leaves), provisionWorkers, func(ctx context.Context, i int) error {
		m := leaves[i]
		if err := call(ctx, m.u.api, "conversations.leave", url.Values{"channel": {m.ch.id}}, nil); err != nil {
			failed.Add(1)
			r.log.Warn("leave failed", "user", m.u.name, "channel", m.ch.name, "err", err)
		}
		return nil
	})
	return int(failed.Load())
}

// call is API.Call with a timeout and retries of what may be transient:
// transport errors and the server's "try again" answers. A call that is
// not idempotent must expect a retry to meet what an earlier attempt did
// (see createChannel).
func call(ctx context.Context, api *client.API, method string, args url.Values, out any) error {
	_, err := callAttempts(ctx, api, method, args, out)
	return err
}

// callAttempts is call that also says how many attempts it made.
func callAttempts(ctx context.Context, api *client.API, method string, args url.Values, out any) (int, error) {
	var err error
	attempts := 0
	for attempt := range 4 {
		if attempt > 0 && !sleepCtx(ctx, time.Duration(100<<attempt)*time.Millisecond) {
			break
		}
		attempts++
		cctx, cancel := context.WithTimeout(ctx, httpTimeout)
		err = api.Call(cctx, method, args, out)
		cancel()
		var ae *client.APIError
		if errors.As(err, &ae) {
			switch ae.Code {
			case "ratelimited", "service_unavailable", "internal_error":
				continue
			}
			return attempts, err
		}
		if err == nil || ctx.Err() != nil {
			return attempts, err
		}
	}
	return attempts, err
}

// forEach runs fn(0..n-1) on at most workers goroutines. The first error
// cancels the rest and is returned.
func forEach(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
