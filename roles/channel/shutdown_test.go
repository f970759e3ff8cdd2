package channel

import (
	"context"
	"testing"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/store"
)

// slowStore holds every channel load (its Channel read) until release
// is closed, and says on loading when one started.
type slowStore struct {
	store.Store
	loading chan struct{}
	release chan struct{}
}

func (s *slowStore) Channel(ctx context.Context, id string) (chat.Channel, error) {
	s.loading <- struct{}{}
	<-s.release
	return s.Store.Channel(ctx, id)
}

// TestShutdownAnswersPublishWaitingForALoad: a publish that waits for
// its channel's load when the owner stops gets an answer. The owner
// refuses new work, lets the load finish while the committer still runs,
// and only then stops the committer. (Before, the committer stopped at
// once and the load, finishing later, queued the message for a
// committer that was gone: the reply never came.)
func TestShutdownAnswersPublishWaitingForALoad(t *testing.T) {
	base := openStore(t)
	seed(t, base, "C1", "U1")
	st := &slowStore{Store: base, loading: make(chan struct{}, 1), release: make(chan struct{})}
	p := ring.NewStatic(viewOf("n1", "n1"))
	o, err := New(Config{Self: "n1", Team: "T1", Store: st, View: p.View, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); o.Run(ctx) }()

	replied := make(chan error, 1)
	o.Publish(cluster.Post{Channel: "C1", User: "U1", Text: "hi"}, func(_ chat.Message, err error) { replied <- err })
	<-st.loading // the load is in flight
	cancel()
	// Shutdown has begun once new work is refused; only then may the
	// load finish.
	for !o.cache.refusing.Load() {
		time.Sleep(time.Millisecond)
	}
	close(st.release)
	select {
	case err := <-replied:
		if err != nil && err != chat.ErrUnavailable {
			t.Fatalf("reply: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the publish that waited for a load never got its reply")
	}
	<-ran
	// After shutdown every operation is answered at once.
	o.Publish(cluster.Post{Channel: "C1", User: "U1", Text: "late"}, func(_ chat.Message, err error) { replied <- err })
	if err := <-replied; err != chat.ErrUnavailable {
		t.Fatalf("publish after shutdown: %v, want %v", err, chat.ErrUnavailable)
	}
	o.Close() // idempotent
}

// TestCloseWithoutRun: an owner that never ran closes cleanly (node.New
// closes every component it built when a later step fails).
func TestCloseWithoutRun(t *testing.T) {
	p := ring.NewStatic(viewOf("n1", "n1"))
	o, err := New(Config{Self: "n1", Team: "T1", Store: openStore(t), View: p.View, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	o.Close()
	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
