package admin_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/client"
)

type searchRes struct {
	Query    string
	Messages struct {
		Total   int
		Matches []struct {
			Type, User, Username, TS, Text, Permalink, Team, IID string
			ThreadTS                                             string `json:"thread_ts"`
			Channel                                              struct {
				ID, Name  string
				IsChannel bool `json:"is_channel"`
				IsIM      bool `json:"is_im"`
				IsMPIM    bool `json:"is_mpim"`
				IsPrivate bool `json:"is_private"`
				IsGroup   bool `json:"is_group"`
			}
		}
		Paging struct {
			Count, Total, Page, Pages int
		}
		Pagination struct {
			TotalCount int `json:"total_count"`
			Page       int
			PerPage    int `json:"per_page"`
			PageCount  int `json:"page_count"`
			First      int
			Last       int
		}
	}
}

func (e *dmEnv) search(api *client.API, args url.Values) searchRes {
	e.t.Helper()
	var r searchRes
	e.ok(api, "search.messages", args, &r)
	return r
}

func (r searchRes) texts() []string {
	out := []string{}
	for _, m := range r.Messages.Matches {
		out = append(out, m.Text)
	}
	return out
}

func TestSearchMessages(t *testing.T) {
	e := setupDM(t)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	var priv struct{ Channel struct{ ID string } }
	e.ok(e.bob, "conversations.create", url.Values{"name": {"vault"}, "is_private": {"true"}}, &priv)
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	var other struct{ Channel struct{ ID string } }
	e.ok(e.carol, "conversations.create", url.Values{"name": {"carols"}}, &other)

	ts1 := e.post(e.bob, e.ch, "the release ships on friday")
	e.post(e.alice, e.ch, "release notes are in the wiki")
	e.post(e.bob, priv.Channel.ID, "release codes: 1234")
	e.post(e.carol, other.Channel.ID, "release party at carol's")
	tsDM := e.post(e.bob, dm.Channel.ID, "psst, the release is late")

	// An acknowledged message is searchable at once, with all it needs.
	r := e.search(e.alice, url.Values{"query": {"release"}, "sort": {"timestamp"}})
	if want := []string{"psst, the release is late", "release notes are in the wiki", "the release ships on friday"}; !slices.Equal(r.texts(), want) {
		t.Fatalf("alice's search = %q, want %q (only her conversations)", r.texts(), want)
	}
	if r.Query != "release" || r.Messages.Total != 3 {
		t.Fatalf("query %q, total %d", r.Query, r.Messages.Total)
	}
	m := r.Messages.Matches[0]
	if m.Type != "message" || m.User != e.bobID || m.Username != "bob" || m.TS != tsDM || !strings.HasPrefix(m.Team, "T") ||
		m.IID == "" || m.Channel.ID != dm.Channel.ID || !m.Channel.IsIM || m.Channel.IsChannel || !m.Channel.IsPrivate ||
		m.Channel.Name != e.bobID || m.Permalink != e.alice.Base+"/archives/"+dm.Channel.ID+"/p"+strings.Replace(tsDM, ".", "", 1) {
		t.Fatalf("DM match = %+v", m)
	}
	if m := r.Messages.Matches[2]; m.TS != ts1 || m.Channel.ID != e.ch || m.Channel.Name != "general" || !m.Channel.IsChannel || m.Channel.IsPrivate {
		t.Fatalf("channel match = %+v", m)
	}
	p, pg := r.Messages.Paging, r.Messages.Pagination
	if p.Count != 20 || p.Total != 3 || p.Page != 1 || p.Pages != 1 || pg.TotalCount != 3 || pg.Page != 1 || pg.PerPage != 20 ||
		pg.PageCount != 1 || pg.First != 1 || pg.Last != 3 {
		t.Fatalf("paging %+v, pagination %+v", p, pg)
	}

	for _, tt := range []struct {
		name  string
		api   *client.API
		args  url.Values
		want  []string
		total int
	}{
		{"in:#channel", e.alice, url.Values{"query": {"release in:#general"}, "sort": {"timestamp"}},
			[]string{"release notes are in the wiki", "the release ships on friday"}, 2},
		{"in:<#id|name>", e.alice, url.Values{"query": {"in:<#" + e.ch + "|general> friday"}}, []string{"the release ships on friday"}, 1},
		{"in:@person is the DM", e.alice, url.Values{"query": {"in:@bob release"}}, []string{"psst, the release is late"}, 1},
		{"from:@person", e.alice, url.Values{"query": {"release from:@bob"}, "sort": {"timestamp"}, "sort_dir": {"asc"}},
			[]string{"the release ships on friday", "psst, the release is late"}, 2},
		{"from:<@id>", e.alice, url.Values{"query": {"from:<@" + e.bobID + "> friday"}}, []string{"the release ships on friday"}, 1},
		{"from:me", e.alice, url.Values{"query": {"from:me"}}, []string{"release notes are in the wiki"}, 1},
		{"a phrase", e.alice, url.Values{"query": {`"release is late"`}}, []string{"psst, the release is late"}, 1},
		{"words not in that order", e.alice, url.Values{"query": {`"late release"`}}, []string{}, 0},
		{"a prefix", e.alice, url.Values{"query": {"rel* wiki"}}, []string{"release notes are in the wiki"}, 1},
		{"punctuation: the words in order", e.carol, url.Values{"query": {"carol's"}}, []string{"release party at carol's"}, 1},
		{"a member of the private channel", e.bob, url.Values{"query": {"codes"}}, []string{"release codes: 1234"}, 1},
		{"not a member of the private channel", e.alice, url.Values{"query": {"codes"}}, []string{}, 0},
		{"in: a private channel, not a member", e.alice, url.Values{"query": {"release in:#vault"}}, []string{}, 0},
		{"in: a channel she is not in", e.alice, url.Values{"query": {"release in:#carols"}}, []string{}, 0},
		{"in: nowhere", e.alice, url.Values{"query": {"release in:#nosuch"}}, []string{}, 0},
		{"from: nobody", e.alice, url.Values{"query": {"release from:@nobody"}}, []string{}, 0},
		{"nobody else sees the DM", e.carol, url.Values{"query": {"psst"}}, []string{}, 0},
		{"only modifiers", e.carol, url.Values{"query": {"from:me"}}, []string{"release party at carol's"}, 1},
	} {
		r := e.search(tt.api, tt.args)
		if !slices.Equal(r.texts(), tt.want) || r.Messages.Total != tt.total {
			t.Errorf("%s: %q (total %d), want %q (%d)", tt.name, r.texts(), r.Messages.Total, tt.want, tt.total)
		}
	}

	// Pages of 2.
	for i := range 5 {
		e.post(e.alice, e.ch, "page filler "+strings.Repeat("x", i+1))
	}
	var got []string
	for page := 1; page <= 4; page++ {
		r := e.search(e.alice, url.Values{"query": {"filler"}, "count": {"2"}, "page": {string(rune('0' + page))}, "sort": {"timestamp"}})
		p, pg := r.Messages.Paging, r.Messages.Pagination
		if p.Total != 5 || p.Pages != 3 || p.Page != page || p.Count != 2 || pg.First != min(2*page-1, 5) || pg.Last != 2*page-2+len(r.Messages.Matches) {
			t.Fatalf("page %d: paging %+v, pagination %+v", page, p, pg)
		}
		got = append(got, r.texts()...)
	}
	if len(got) != 5 || got[0] != "page filler xxxxx" || got[4] != "page filler x" {
		t.Fatalf("pages = %q", got)
	}

	for _, tt := range []struct {
		args url.Values
		code string
	}{
		{nil, "no_query"},
		{url.Values{"query": {"   "}}, "no_query"},
		{url.Values{"query": {"x"}, "count": {"many"}}, "invalid_arguments"},
		{url.Values{"query": {"x"}, "page": {"first"}}, "invalid_arguments"},
		{url.Values{"query": {"x"}, "sort": {"random"}}, "invalid_arguments"},
		{url.Values{"query": {"x"}, "sort_dir": {"up"}}, "invalid_arguments"},
	} {
		e.fails(e.alice, "search.messages", tt.args, tt.code)
	}
}
