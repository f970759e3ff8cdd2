package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// searchVocabulary makes a corpus's words: vocab of them, used with a
// skewed frequency (word i about as often as 1/(i+1)), like text.
func searchVocabulary(vocab int) []string {
	out := make([]string, vocab)
	for i := range out {
		out[i] = fmt.Sprintf("w%d", i)
	}
	out[0], out[1], out[2] = "the", "deploy", "release" // named in the benchmark's queries
	return out
}

// FillSearchCorpus appends n messages of 4-16 words to channels C0000…
// (channels of them), by 10 users, in batches as an owner commits them.
func FillSearchCorpus(tb testing.TB, s store.Store, channels, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	words := searchVocabulary(5000)
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(words)-1))
	seq := make([]uint64, channels)
	var batch []chat.Message
	var text strings.Builder
	for i := range n {
		ch := rng.IntN(channels)
		seq[ch]++
		text.Reset()
		for w := range 4 + rng.IntN(13) {
			if w > 0 {
				text.WriteByte(' ')
			}
			text.WriteString(words[zipf.Uint64()])
		}
		batch = append(batch, chat.Message{Channel: fmt.Sprintf("C%04d", ch), Seq: seq[ch],
			TS: chat.TS(1_700_000_000_000_000 + int64(i)*1000), User: fmt.Sprintf("U%d", rng.IntN(10)), Text: text.String()})
		if len(batch) == 500 || i == n-1 {
			if _, err := s.Append(context.Background(), batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchSearch measures searches of a corpus FillSearchCorpus made with
// channels channels, as a member of half of them.
func BenchSearch(b *testing.B, s store.Store, channels int) {
	var mine []string
	for i := 0; i < channels; i += 2 {
		mine = append(mine, fmt.Sprintf("C%04d", i))
	}
	for _, bb := range []struct {
		name string
		q    store.SearchQuery
	}{
		{"common word by time", store.SearchQuery{Words: []string{"deploy"}, ByTime: true}},
		{"common word by relevance", store.SearchQuery{Words: []string{"deploy"}}},
		{"rare word", store.SearchQuery{Words: []string{"w4321"}}},
		{"two words", store.SearchQuery{Words: []string{"deploy", "release"}, ByTime: true}},
		{"phrase", store.SearchQuery{Phrases: []string{"the deploy"}, ByTime: true}},
		{"prefix", store.SearchQuery{Words: []string{"w12*"}, ByTime: true}},
		{"word from a user", store.SearchQuery{Words: []string{"release"}, User: "U3", ByTime: true}},
		{"word in one channel", store.SearchQuery{Words: []string{"release"}, Channels: []string{"C0002"}, ByTime: true}},
		{"page 5", store.SearchQuery{Words: []string{"release"}, ByTime: true, Offset: 80}},
	} {
		b.Run(strings.ReplaceAll(bb.name, " ", "_"), func(b *testing.B) {
			q := bb.q
			if q.Channels == nil {
				q.Channels = mine
			}
			q.Limit = 20
			total := 0
			for b.Loop() {
				r, err := s.Search(context.Background(), q)
				if err != nil {
					b.Fatal(err)
				}
				total = r.Total
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
