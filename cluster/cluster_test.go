package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = []byte("k")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRetryable(t *testing.T) {
	for code, want := range map[string]bool{
		"": false, "wrong_owner": true, "conflict": true, "service_unavailable": true,
		"not_in_channel": false, "channel_not_found": false, "internal_error": false,
	} {
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%q) = %v", code, got)
		}
	}
}

func TestPostCheck(t *testing.T) {
	for _, tt := range []struct {
		p    Post
		want error
	}{
		{Post{Channel: "C1", User: "U1", Text: "hi"}, nil},
		{Post{User: "U1", Text: "hi"}, chat.ErrBadRequest},
		{Post{Channel: "C1", Text: "hi"}, chat.ErrBadRequest},
		{Post{Channel: "C1", User: "U1"}, chat.ErrNoText},
		{Post{Channel: "C1", User: "U1", Text: strings.Repeat("é", 4000)}, nil},
		{Post{Channel: "C1", User: "U1", Text: strings.Repeat("é", 4001)}, chat.ErrMsgTooLong},
	} {
		if err := tt.p.Check(); err != tt.want {
			t.Errorf("%+v: %v, want %v", tt.p, err, tt.want)
		}
	}
}

// owner is a fake channel node: it answers each publish with the next
// reply from its script (then success), and can drop the link instead.
type owner struct {
	internode.ChannelServer
	name string
	mu   sync.Mutex
	got  []internode.Publish
	errs []string // replies to give, in order; "drop" closes the link
}

func (o *owner) Publish(r internode.Request, m internode.Publish) {
	o.mu.Lock()
	o.got = append(o.got, m)
	reply := ""
	if len(o.errs) > 0 {
		reply, o.errs = o.errs[0], o.errs[1:]
	}
	n := len(o.got)
	o.mu.Unlock()
	if reply == "drop" {
		r.Link.Close(nil)
		return
	}
	internode.Answer(r, internode.PublishReply{Err: reply, Seq: uint64(n), TS: 1700000000000000})
}
func (o *owner) Typing(internode.Typing)        {}
func (o *owner) LinkClosed(*internode.Link)     {}
func (o *owner) published() []internode.Publish { o.mu.Lock(); defer o.mu.Unlock(); return o.got }

// nodes serves fake owners and returns them as members of the channel
// role, a view naming the first alone, and a Caller over a pool.
func nodes(t *testing.T, owners ...*owner) ([]ring.Member, *ring.Static, *Caller) {
	t.Helper()
	var ms []ring.Member
	for _, o := range owners {
		srv, err := internode.Listen("127.0.0.1:0", internode.Auth{Self: o.name, Key: key}, &internode.Dispatcher{Channel: o, Log: quiet()}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve()
		t.Cleanup(func() { srv.Close() })
		ms = append(ms, ring.Member{Name: o.name, Meta: ring.Meta{Roles: []ring.Role{ring.RoleChannel}, Internode: srv.Addr()}})
	}
	view := ring.NewStatic(ring.NewView("me", ms[:1]))
	pool := internode.NewPool(internode.Auth{Self: "me", Key: key}, nil, nil, quiet())
	c := NewCaller(view.View, pool)
	t.Cleanup(func() { c.Close(); pool.Close() })
	return ms, view, c
}

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPublishRetriesUntilAnOwnerCommits: answers that mean "nothing was
// done" are retried; an answer that means something reaches the caller.
func TestPublishRetriesUntilAnOwnerCommits(t *testing.T) {
	a := &owner{name: "a", errs: []string{"wrong_owner", "conflict", "service_unavailable"}}
	_, _, c := nodes(t, a)
	ch := NewChannels(c, "me", nil)
	m, err := ch.Publish(ctx10s(t), Post{Channel: "C1", User: "U1", Text: "hi"})
	if err != nil || m.Seq != 4 || len(a.published()) != 4 {
		t.Fatalf("after three retryable answers: %+v, %v, %d sent", m, err, len(a.published()))
	}
	a.mu.Lock()
	a.errs = []string{"not_in_channel"}
	a.mu.Unlock()
	if _, err := ch.Publish(ctx10s(t), Post{Channel: "C1", User: "U1", Text: "hi"}); err != chat.ErrNotInChannel {
		t.Fatalf("a refusal: %v", err)
	}
}

// TestPublishFollowsTheRing: a retry goes to the owner the view names by
// then, woken by the view change.
func TestPublishFollowsTheRing(t *testing.T) {
	a := &owner{name: "a"}
	for range 1000 {
		a.errs = append(a.errs, "wrong_owner")
	}
	b := &owner{name: "b"}
	ms, view, c := nodes(t, a, b)
	ch := NewChannels(c, "me", nil)
	done := make(chan error, 1)
	go func() {
		_, err := ch.Publish(ctx10s(t), Post{Channel: "C1", User: "U1", Text: "hi"})
		done <- err
	}()
	for len(a.published()) == 0 {
		time.Sleep(time.Millisecond)
	}
	view.Set(ring.NewView("me", ms[1:])) // b owns everything now
	if err := <-done; err != nil || len(b.published()) != 1 {
		t.Fatalf("publish after the ring moved: %v, %d at b", err, len(b.published()))
	}
}

// TestLostLinkIsRetriedOnlyWhenIdempotent: a publish whose link fails
// after it was sent may have been written, so it is retried only with a
// client_msg_id (the owner deduplicates it); without one the caller is
// told the service is unavailable.
func TestLostLinkIsRetriedOnlyWhenIdempotent(t *testing.T) {
	a := &owner{name: "a", errs: []string{"drop"}}
	_, _, c := nodes(t, a)
	ch := NewChannels(c, "me", nil)
	if _, err := ch.Publish(ctx10s(t), Post{Channel: "C1", User: "U1", Text: "hi"}); err != chat.ErrUnavailable {
		t.Fatalf("without client_msg_id: %v", err)
	}
	a.mu.Lock()
	a.errs = []string{"drop"}
	a.mu.Unlock()
	if _, err := ch.Publish(ctx10s(t), Post{Channel: "C1", User: "U1", Text: "hi", ClientMsgID: "m1"}); err != nil {
		t.Fatalf("with client_msg_id: %v", err)
	}
	if got := a.published(); len(got) != 3 || got[2].ClientMsgID != "m1" {
		t.Fatalf("the owner saw %d publishes", len(got))
	}
}

// TestGoAnswersOnceAndInOrder: asynchronous publishes on a live link
// reach the owner in the order they were made, each answered once;
// after Close, a publish that would need a goroutine is answered
// unavailable at once.
func TestGoAnswersOnceAndInOrder(t *testing.T) {
	a := &owner{name: "a"}
	_, _, c := nodes(t, a)
	ch := NewChannels(c, "me", nil)
	if _, err := ch.Publish(ctx10s(t), Post{Channel: "C1", User: "U1", Text: "dial"}); err != nil {
		t.Fatal(err)
	}
	results := make(chan uint64, 100)
	for i := range 50 {
		ch.Go(Post{Channel: "C1", User: "U1", Text: string(rune('a' + i%26))}, func(m chat.Message, err error) {
			if err != nil {
				t.Error(err)
			}
			results <- m.Seq
		})
	}
	for want := uint64(2); want <= 51; want++ {
		if got := <-results; got != want {
			t.Fatalf("reply seq %d, want %d", got, want)
		}
	}
	c.Close()
	_, _, c2 := nodes(t, &owner{name: "b"})
	c2.Close()
	errc := make(chan error, 1)
	NewChannels(c2, "me", nil).Go(Post{Channel: "C1", User: "U1", Text: "late"}, func(_ chat.Message, err error) { errc <- err })
	if err := <-errc; !errors.Is(err, chat.ErrUnavailable) {
		t.Fatalf("after Close: %v", err)
	}
}
