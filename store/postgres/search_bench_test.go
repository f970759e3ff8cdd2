package postgres

import (
	"context"
	"testing"

	"github.com/ringcast/ringcast/store/storetest"
)

// BenchmarkSearch: search.messages' store read on 100k messages in 100
// channels (docs/BENCHMARKS.md), as store/sqlite's.
func BenchmarkSearch(b *testing.B) {
	url, _ := benchDB(b)
	s, err := Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	storetest.FillSearchCorpus(b, s, 100, 100_000)
	if _, err := s.pool.Exec(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	storetest.BenchSearch(b, s, 100)
}
