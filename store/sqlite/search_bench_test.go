package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/ringcast/ringcast/store/storetest"
)

// BenchmarkSearch: search.messages' store read on 100k messages in 100
// channels, every one in the index (docs/BENCHMARKS.md).
func BenchmarkSearch(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "search.db"))
	storetest.FillSearchCorpus(b, s, 100, 100_000)
	indexAll(b, s)
	storetest.BenchSearch(b, s, 100)
}

// BenchmarkSearchTail: the same with none of them indexed (all in the
// log's tail, as after a long burst of publishing).
func BenchmarkSearchTail(b *testing.B) {
	s, err := open(filepath.Join(b.TempDir(), "search.db"), false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	storetest.FillSearchCorpus(b, s, 100, 100_000)
	storetest.BenchSearch(b, s, 100)
}
