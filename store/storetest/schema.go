package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// Schema is a backend's view of one database for RunSchema.
type Schema struct {
	// Open opens a store on the database (the same one every call),
	// migrating it first.
	Open func() (store.Store, error)
	// Version returns the schema version recorded in the database.
	Version func(t *testing.T) int
	// SetVersion records v as the database's version, as a newer
	// binary's migration would.
	SetVersion func(t *testing.T, v int)
	// Known is the version the binary migrates to.
	Known int
}

// RunSchema checks a backend's migrations: nodes starting at the same
// moment on one empty database all come up on one schema, applied once;
// a reopened database keeps its data; a database migrated by a newer
// binary is refused with an error naming both versions. fresh returns
// the Schema of a new, empty database.
func RunSchema(t *testing.T, fresh func(t *testing.T) Schema) {
	t.Run("ConcurrentStart", func(t *testing.T) {
		sc := fresh(t)
		const nodes = 6
		stores := make([]store.Store, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = sc.Open()
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("node %d of %d starting at once: %v", i, nodes, err)
			}
			t.Cleanup(func() { stores[i].Close() })
		}
		if v := sc.Version(t); v != sc.Known {
			t.Fatalf("schema version %d after start, want %d", v, sc.Known)
		}
		// Every node works on the one schema and agrees on cluster settings.
		ctx := context.Background()
		var first string
		for i, s := range stores {
			v, err := s.Meta(ctx, "cluster_key", fmt.Sprint("node-", i))
			must(t, err)
			if i == 0 {
				first = v
			} else if v != first {
				t.Fatalf("node %d reads cluster_key %q, node 0 %q", i, v, first)
			}
		}
		res, err := stores[nodes-1].Append(ctx, []chat.Message{msg("C1", 1)})
		if err != nil || res[0] != nil {
			t.Fatalf("append after a concurrent start: %v %v", res, err)
		}
	})
	t.Run("Reopen", func(t *testing.T) {
		sc := fresh(t)
		s, err := sc.Open()
		must(t, err)
		ctx := context.Background()
		_, err = s.Append(ctx, []chat.Message{msg("C1", 1), msg("C1", 2)})
		must(t, err)
		must(t, s.Close())
		again, err := sc.Open()
		must(t, err)
		defer again.Close()
		if last, _, err := again.Last(ctx, "C1"); err != nil || last != 2 {
			t.Fatalf("Last after reopening = %d, %v; want 2", last, err)
		}
		if v := sc.Version(t); v != sc.Known {
			t.Fatalf("schema version %d after reopening, want %d", v, sc.Known)
		}
	})
	t.Run("NewerSchemaRefused", func(t *testing.T) {
		sc := fresh(t)
		s, err := sc.Open()
		must(t, err)
		must(t, s.Close())
		sc.SetVersion(t, sc.Known+3)
		s, err = sc.Open()
		if err == nil {
			s.Close()
			t.Fatal("opened a database whose schema is newer than the binary")
		}
		want := []string{fmt.Sprint("version ", sc.Known+3), fmt.Sprint("up to ", sc.Known)}
		if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), want[1]) {
			t.Fatalf("error %q: want ErrSchemaTooNew naming %q and %q", err, want[0], want[1])
		}
		if v := sc.Version(t); v != sc.Known+3 {
			t.Fatalf("a refused open changed the version to %d", v)
		}
	})
}
