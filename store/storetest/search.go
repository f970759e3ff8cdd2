package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// texts are the texts of r's messages, in order.
func texts(r store.SearchResult) []string {
	out := []string{}
	for _, m := range r.Messages {
		out = append(out, m.Text)
	}
	return out
}

func testSearch(t *testing.T, s store.Store) { SearchAfter(t, s, nil) }

// SearchAfter runs the search conformance test on s, calling settle
// (when not nil) once its messages are appended: a backend whose index
// is derived from the log after the fact runs it both before and after
// the index has them.
func SearchAfter(t *testing.T, s store.Store, settle func()) {
	ctx := context.Background()
	post := func(ch string, seq uint64, user, text string) chat.Message {
		m := msg(ch, seq)
		m.User, m.Text = user, text
		return m
	}
	reply := post("C1", 5, "U2", "a reply about the Deploy plan")
	reply.ThreadTS = 1_700_000_000_000_010 // the first message's
	batch := []chat.Message{
		post("C1", 1, "U1", "the deploy plan for friday"),
		post("C1", 2, "U2", "Deploy, deploy, DEPLOY!"),
		post("C1", 3, "U1", "lunch?"),
		post("C2", 1, "U1", "plan the deploy after lunch"),
		post("C3", 1, "U3", "deploy secrets in the private room"),
		post("C1", 4, "U1", "déjà vu: naïve café"),
		reply,
	}
	for i := range batch {
		// Distinct ts in the order listed (each channel's grow with seq).
		batch[i].TS = chat.TS(1_700_000_000_000_000 + int64(i+1)*10)
	}
	reply.TS = batch[len(batch)-1].TS
	res, err := s.Append(ctx, batch)
	must(t, err)
	for i, e := range res {
		if e != nil {
			t.Fatalf("message %d: %v", i, e)
		}
	}
	if settle != nil {
		settle()
	}
	mine := []string{"C1", "C2"}
	for _, tt := range []struct {
		name string
		q    store.SearchQuery
		want []string
	}{
		{"a word, newest first", store.SearchQuery{Words: []string{"deploy"}, ByTime: true},
			[]string{"a reply about the Deploy plan", "plan the deploy after lunch", "Deploy, deploy, DEPLOY!", "the deploy plan for friday"}},
		{"oldest first", store.SearchQuery{Words: []string{"DEPLOY"}, ByTime: true, Asc: true},
			[]string{"the deploy plan for friday", "Deploy, deploy, DEPLOY!", "plan the deploy after lunch", "a reply about the Deploy plan"}},
		{"every word", store.SearchQuery{Words: []string{"deploy", "plan"}, ByTime: true},
			[]string{"a reply about the Deploy plan", "plan the deploy after lunch", "the deploy plan for friday"}},
		{"a phrase", store.SearchQuery{Phrases: []string{"deploy plan"}, ByTime: true},
			[]string{"a reply about the Deploy plan", "the deploy plan for friday"}},
		{"a phrase with punctuation", store.SearchQuery{Phrases: []string{`deploy, "deploy"`}, ByTime: true},
			[]string{"Deploy, deploy, DEPLOY!"}},
		{"a prefix", store.SearchQuery{Words: []string{"lun*"}, ByTime: true},
			[]string{"plan the deploy after lunch", "lunch?"}},
		{"one author", store.SearchQuery{Words: []string{"deploy"}, User: "U2", ByTime: true},
			[]string{"a reply about the Deploy plan", "Deploy, deploy, DEPLOY!"}},
		{"one channel", store.SearchQuery{Words: []string{"plan"}, Channels: []string{"C2"}, ByTime: true},
			[]string{"plan the deploy after lunch"}},
		{"no words: everything of the author", store.SearchQuery{User: "U2", ByTime: true},
			[]string{"a reply about the Deploy plan", "Deploy, deploy, DEPLOY!"}},
		{"nothing matches", store.SearchQuery{Words: []string{"deploy", "friday", "lunch"}}, []string{}},
		{"no such word", store.SearchQuery{Words: []string{"kubernetes"}}, []string{}},
		{"no channels", store.SearchQuery{Words: []string{"deploy"}, Channels: []string{}}, []string{}},
		{"secrets stay in their channel", store.SearchQuery{Words: []string{"secrets"}}, []string{}},
		{"diacritics", store.SearchQuery{Words: []string{"café"}}, []string{"déjà vu: naïve café"}},
		{"relevance: the most deploys first", store.SearchQuery{Words: []string{"deploy"}, Limit: 1},
			[]string{"Deploy, deploy, DEPLOY!"}},
	} {
		q := tt.q
		if q.Channels == nil {
			q.Channels = mine
		}
		if q.Limit == 0 {
			q.Limit = 20
		}
		r, err := s.Search(ctx, q)
		must(t, err)
		if got := texts(r); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if tt.q.Limit == 0 && r.Total != len(tt.want) {
			t.Errorf("%s: total %d, want %d", tt.name, r.Total, len(tt.want))
		}
	}
	// A person in thousands of conversations.
	many := []string{"C1"}
	for i := range 3000 {
		many = append(many, fmt.Sprintf("C9%04d", i))
	}
	r, err := s.Search(ctx, store.SearchQuery{Channels: many, Words: []string{"friday"}, Limit: 5})
	must(t, err)
	if r.Total != 1 || len(r.Messages) != 1 {
		t.Fatalf("search of 3001 channels = %+v", r)
	}
	// A match carries its message.
	r, err = s.Search(ctx, store.SearchQuery{Channels: mine, Phrases: []string{"reply about"}, Limit: 5})
	must(t, err)
	if len(r.Messages) != 1 || r.Messages[0] != (chat.Message{Channel: "C1", TS: reply.TS, User: "U2", Text: reply.Text, ThreadTS: reply.ThreadTS}) {
		t.Fatalf("match = %+v, want %+v", r.Messages, reply)
	}
	// Pages: offset and limit, the total on every page, past the end too.
	var paged []string
	for off := 0; off < 6; off += 2 {
		r, err := s.Search(ctx, store.SearchQuery{Channels: mine, Words: []string{"deploy"}, ByTime: true, Offset: off, Limit: 2})
		must(t, err)
		if r.Total != 4 {
			t.Fatalf("page at %d: total %d, want 4", off, r.Total)
		}
		paged = append(paged, texts(r)...)
	}
	if len(paged) != 4 || paged[0] != "a reply about the Deploy plan" || paged[3] != "the deploy plan for friday" {
		t.Fatalf("pages = %q", paged)
	}
	searchChanges(t, s, batch, reply, settle)
}

// testSearchSkipsRefused: a message a stale writer could not append is
// not in the index.
func testSearchSkipsRefused(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Append(ctx, []chat.Message{msg("C1", 1)})
	must(t, err)
	stale := msg("C1", 1)
	stale.TS, stale.Text = stale.TS+1, "stale words"
	res, err := s.Append(ctx, []chat.Message{stale})
	must(t, err)
	if !errors.Is(res[0], store.ErrConflict) {
		t.Fatalf("stale append = %v", res)
	}
	r, err := s.Search(ctx, store.SearchQuery{Channels: []string{"C1"}, Words: []string{"stale"}, Limit: 10})
	must(t, err)
	if r.Total != 0 || len(r.Messages) != 0 {
		t.Fatalf("a refused message is searchable: %+v", r)
	}
}

// searchChanges: an edit replaces a message's words (thread replies'
// too), a delete takes it out, a reaction changes nothing; checked when
// the changes are new (a backend that indexes after the fact has them
// in its unindexed tail, their messages indexed) and after settle.
func searchChanges(t *testing.T, s store.Store, batch []chat.Message, reply chat.Message, settle func()) {
	ctx := context.Background()
	change := func(ch string, seq uint64, k chat.Kind, user string, target chat.TS, text string) chat.Message {
		m := entry(ch, seq, k, user, target)
		m.TS, m.Text = chat.TS(1_700_000_000_001_000+int64(seq)*10), text
		if k == chat.KindReactionAdd {
			m.More.Name = "tada"
		}
		return m
	}
	res, err := s.Append(ctx, []chat.Message{
		change("C1", 6, chat.KindEdit, "U1", batch[0].TS, "the rollout plan for monday"),
		change("C1", 7, chat.KindDelete, "U2", batch[1].TS, ""),
		change("C2", 2, chat.KindReactionAdd, "U1", batch[3].TS, ""),
		change("C1", 8, chat.KindEdit, "U2", reply.TS, "a reply about the rollout"),
	})
	must(t, err)
	for i, e := range res {
		if e != nil {
			t.Fatalf("change %d: %v", i, e)
		}
	}
	mine := []string{"C1", "C2"}
	check := func(when string) {
		t.Helper()
		for _, tt := range []struct {
			name string
			q    store.SearchQuery
			want []string
		}{
			{"the old words are gone", store.SearchQuery{Words: []string{"deploy"}, ByTime: true},
				[]string{"plan the deploy after lunch"}},
			{"the new words are found, at the message's place", store.SearchQuery{Words: []string{"rollout"}, ByTime: true},
				[]string{"a reply about the rollout", "the rollout plan for monday"}},
			{"oldest first", store.SearchQuery{Words: []string{"rollout"}, ByTime: true, Asc: true},
				[]string{"the rollout plan for monday", "a reply about the rollout"}},
			{"a deleted message's author", store.SearchQuery{User: "U2", ByTime: true},
				[]string{"a reply about the rollout"}},
			{"an edited phrase", store.SearchQuery{Phrases: []string{"rollout plan"}}, []string{"the rollout plan for monday"}},
			{"a deleted message's phrase", store.SearchQuery{Phrases: []string{"deploy, deploy"}}, []string{}},
			{"mixed with unchanged ones", store.SearchQuery{Words: []string{"plan"}, ByTime: true},
				[]string{"plan the deploy after lunch", "the rollout plan for monday"}},
		} {
			q := tt.q
			q.Channels, q.Limit = mine, 20
			r, err := s.Search(ctx, q)
			must(t, err)
			if got := texts(r); !slices.Equal(got, tt.want) || r.Total != len(tt.want) {
				t.Errorf("%s: %s: %q (total %d), want %q", when, tt.name, got, r.Total, tt.want)
			}
		}
		// Relevance, and a page at a time across changed and unchanged.
		r, err := s.Search(ctx, store.SearchQuery{Channels: mine, Words: []string{"rollout"}, Limit: 20})
		must(t, err)
		if got := texts(r); len(got) != 2 || r.Total != 2 {
			t.Errorf("%s: by relevance: %q", when, got)
		}
		var paged []string
		for off := 0; off < 3; off++ {
			r, err := s.Search(ctx, store.SearchQuery{Channels: mine, Words: []string{"plan"}, ByTime: true, Offset: off, Limit: 1})
			must(t, err)
			if r.Total != 2 {
				t.Errorf("%s: page at %d: total %d, want 2", when, off, r.Total)
			}
			paged = append(paged, texts(r)...)
		}
		if want := []string{"plan the deploy after lunch", "the rollout plan for monday"}; !slices.Equal(paged, want) {
			t.Errorf("%s: pages %q, want %q", when, paged, want)
		}
		// An edited reply keeps its author and thread.
		r, err = s.Search(ctx, store.SearchQuery{Channels: mine, Phrases: []string{"reply about the rollout"}, Limit: 5})
		must(t, err)
		want := chat.Message{Channel: "C1", TS: reply.TS, User: "U2", Text: "a reply about the rollout", ThreadTS: reply.ThreadTS}
		if len(r.Messages) != 1 || r.Messages[0] != want {
			t.Errorf("%s: edited reply = %+v, want %+v", when, r.Messages, want)
		}
	}
	check("changes new")
	if settle != nil {
		settle()
		check("changes indexed")
	}
}
