package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ringcast/ringcast/web"
)

// modules opens the page on a server with no API (every method is
// unknown_method, as on a node without --dev) and returns a tab in which
// mod(name) imports one of the page's modules.
func modules(t *testing.T) *page {
	t.Helper()
	chromium(t)
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := newBrowser(t).page("modules")
	p.do(chromedp.Navigate(srv.URL + "/"))
	p.wait("the sign-in form", `!document.getElementById('signin').hidden`, jsBody, 10*time.Second)
	p.wait("the page to ask for dev mode", `performance.getEntriesByName(location.origin + '/api/dev.users.list').length > 0`, jsBody, 10*time.Second)
	if !eval[bool](p, `document.getElementById('dev-signin').hidden`) {
		t.Error("a node without --dev offers the dev sign-in")
	}
	p.do(chromedp.Evaluate[chromedp.Void](`window.mod = (name) => import(new URL(name, document.querySelector('script[type=module]').src))`))
	return p
}

// run evaluates body (a function body with the module m in scope, given
// the cases as c) and decodes what it returns into out.
func run(p *page, module, body string, cases, out any) {
	p.t.Helper()
	in, _ := json.Marshal(cases)
	raw := eval[json.RawMessage](p, fmt.Sprintf(`mod(%q).then((m) => ((c) => { %s })(%s))`, module, body, in))
	if err := json.Unmarshal(raw, out); err != nil {
		p.t.Fatalf("%s: %v: %s", module, err, raw)
	}
}

// TestModules runs the page's pure modules (text format, timeline,
// layout) in the browser, one tab for all.
func TestModules(t *testing.T) {
	p := modules(t)
	testRender(t, p)
	testEncode(t, p)
	testTimeline(t, p)
	p.shot("signin-no-dev") // the page of a node without --dev: tokens only
	p.checkConsole()
}

func testRender(t *testing.T, p *page) {
	cases := []struct{ Text, HTML string }{
		{"plain", "plain"},
		{"a &lt;b&gt; &amp;amp; c", "a &lt;b&gt; &amp;amp; c"},
		{"hi <@U1>!", `hi <span class="mention">@alice</span>!`},
		{"<@UME> you", `<span class="mention self">@me</span> you`},
		{"<@U2|bob> <@U3>", `<span class="mention">@bob</span> <span class="mention">@U3</span>`},
		{"<!here> <!channel|channel>", `<span class="mention special">@here</span> <span class="mention special">@channel</span>`},
		{"in <#C1|old> and <#C9|other>", `in <a href="#C1" class="channel-link">#general</a> and <a href="#C9" class="channel-link">#other</a>`},
		{"<https://x.org/a?b=1&amp;c=2|the label>", `<a href="https://x.org/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the label</a>`},
		{"<mailto:a@b.example|mail me>", `<a href="mailto:a@b.example" target="_blank" rel="noopener noreferrer">mail me</a>`},
		{"see https://x.org/a?b=1&amp;c=2.", `see <a href="https://x.org/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">https://x.org/a?b=1&amp;c=2</a>.`},
		{"(http://x.org/p) http://x.org/q&gt;r", `(<a href="http://x.org/p" target="_blank" rel="noopener noreferrer">http://x.org/p</a>) <a href="http://x.org/q" target="_blank" rel="noopener noreferrer">http://x.org/q</a>&gt;r`},
		{"run `make &lt;x&gt; <@U1>` now", "run <code>make &lt;x&gt; &lt;@U1&gt;</code> now"},
		{"```\nline 1\n  <@U1> &amp;\n```after", "<pre><code>line 1\n  &lt;@U1&gt; &amp;\n</code></pre>after"},
		{"an ``` unclosed fence `and span", "an ``` unclosed fence `and span"},
		// Anything else between < and > is text, whatever it looks like.
		{"<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"},
		{"<data:text/html,x|data>", "&lt;data:text/html,x|data&gt;"},
		{"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"javascript:alert(1) and <https://x.org|<b>>", "javascript:alert(1) and &lt;https://x.org|&lt;b&gt;&gt;"},
	}
	var got []string
	run(p, "format.js", `
		const names = {user: (id) => ({U1: 'alice', UME: 'me'})[id], channel: (id) => ({C1: 'general'})[id], self: 'UME'};
		return c.map(({Text}) => { const d = document.createElement('div'); d.append(m.render(Text, names)); return d.innerHTML; });`, cases, &got)
	for i, c := range cases {
		if got[i] != c.HTML {
			t.Errorf("render(%q)\n got %s\nwant %s", c.Text, got[i], c.HTML)
		}
	}
}

func testEncode(t *testing.T, p *page) {
	cases := []struct{ Typed, Wire string }{
		{"a < b & c > d", "a &lt; b &amp; c &gt; d"},
		{"&lt; stays typed", "&amp;lt; stays typed"},
		{"@alice hi", "<@U1> hi"},
		{"hi @alice.", "hi <@U1>."},
		{"(@alice) @bob_x-", "(<@U1>) <@U2>-"},
		{"mail a@alice or @nobody", "mail a@alice or @nobody"},
		{"<@U1> typed by hand", "&lt;@U1&gt; typed by hand"},
	}
	var got []string
	run(p, "format.js", `const ids = {alice: 'U1', bob_x: 'U2'};
		return c.map(({Typed}) => m.encode(Typed, (n) => ids[n]));`, cases, &got)
	for i, c := range cases {
		if got[i] != c.Wire {
			t.Errorf("encode(%q) = %q, want %q", c.Typed, got[i], c.Wire)
		}
	}
	// An edit starts from what was typed: typed undoes encode.
	run(p, "format.js", `const names = {U1: 'alice', U2: 'bob_x'};
		return c.map(({Wire}) => m.typed(Wire, (id) => names[id]));`, cases, &got)
	for i, c := range cases {
		if got[i] != c.Typed {
			t.Errorf("typed(%q) = %q, want %q", c.Wire, got[i], c.Typed)
		}
	}
}

func testTimeline(t *testing.T, p *page) {
	// Messages arrive out of order and more than once (history pages,
	// live events, an ack without seq, a resume): each is held once, in
	// ts order, and an acked one learns its seq from its event.
	var tl struct {
		TS      []string
		New     []bool
		LastSeq *int
		Empty   *int
		Loaded  *int
		Acked   *int
	}
	run(p, "timeline.js", `
		const t = new m.Timeline();
		const add = (ts, seq) => t.add(seq === undefined ? {ts} : {ts, seq});
		const fresh = [add('1700000003.000000', 3), add('1700000001.000000', 1), add('1700000003.000000', 3),
			add('1700000004.000000'), add('1700000002.000000', 2), add('1700000004.000000', 4)];
		const empty = new m.Timeline(), loaded = new m.Timeline(), acked = new m.Timeline();
		loaded.loaded = acked.loaded = true;
		acked.add({ts: '1700000009.000000'});
		return {TS: t.msgs.map((x) => x.ts), New: fresh, LastSeq: t.lastSeq(), Empty: empty.lastSeq(), Loaded: loaded.lastSeq(), Acked: acked.lastSeq()};`, nil, &tl)
	if want := []string{"1700000001.000000", "1700000002.000000", "1700000003.000000", "1700000004.000000"}; fmt.Sprint(tl.TS) != fmt.Sprint(want) {
		t.Errorf("order %v, want %v", tl.TS, want)
	}
	if want := []bool{true, true, false, true, true, false}; fmt.Sprint(tl.New) != fmt.Sprint(want) {
		t.Errorf("add answered %v, want %v", tl.New, want)
	}
	if tl.LastSeq == nil || *tl.LastSeq != 4 {
		t.Errorf("lastSeq = %v, want 4 (learnt from the event after the ack)", tl.LastSeq)
	}
	if tl.Empty != nil || tl.Loaded == nil || *tl.Loaded != 0 || tl.Acked == nil || *tl.Acked != 0 {
		t.Errorf("lastSeq of an empty timeline = %v, of an empty loaded one = %v, of a loaded one with only an ack = %v; want none, 0, 0 (from the start)",
			tl.Empty, tl.Loaded, tl.Acked)
	}

	// Changes: an edit changes a held message (and its rev), a delete
	// removes it, once; the seq of a change or a reply (which the channel's
	// timeline does not hold) moves the resume point on.
	var ch struct {
		Changed, Missing, Removed, Again bool
		Text                             string
		Rev                              int
		TS                               []string
		LastSeq, Unloaded                *int
	}
	run(p, "timeline.js", `
		const t = new m.Timeline();
		t.add({ts: '1700000001.000000', text: 'a', seq: 1}); t.add({ts: '1700000002.000000', text: 'b', seq: 2});
		const changed = t.change('1700000001.000000', (x) => { x.text = 'a2'; });
		const missing = t.change('1700000009.000000', () => {});
		t.saw(5); t.saw(3);
		const removed = t.remove('1700000002.000000'), again = t.remove('1700000002.000000');
		const u = new m.Timeline(); u.saw(7);
		return {Changed: changed, Missing: missing, Removed: removed, Again: again, Text: t.get('1700000001.000000').text,
			Rev: t.get('1700000001.000000').rev, TS: t.msgs.map((x) => x.ts), LastSeq: t.lastSeq(), Unloaded: u.lastSeq()};`, nil, &ch)
	if !ch.Changed || ch.Missing || !ch.Removed || ch.Again || ch.Text != "a2" || ch.Rev != 1 || fmt.Sprint(ch.TS) != "[1700000001.000000]" {
		t.Errorf("change/remove: %+v", ch)
	}
	if ch.LastSeq == nil || *ch.LastSeq != 5 || ch.Unloaded == nil || *ch.Unloaded != 7 {
		t.Errorf("lastSeq after changes seen up to 5 = %v, of a timeline that saw only 7 = %v; want 5, 7", ch.LastSeq, ch.Unloaded)
	}

	// Layout: a separator per day, a message grouped under the previous
	// one by the same author less than five minutes earlier, the same day.
	var rows []string
	run(p, "timeline.js", `
		const at = (d, h, min) => (new Date(2026, 0, d, h, min).getTime() / 1000).toFixed(6);
		const items = [
			{user: 'A', ts: at(5, 9, 0)}, {user: 'A', ts: at(5, 9, 4)}, {user: 'B', ts: at(5, 9, 5)},
			{user: 'B', ts: at(5, 9, 11)}, {user: 'B', ts: at(5, 23, 59)}, {user: 'B', ts: at(6, 0, 1)},
			{user: 'B', at: at(6, 0, 2), client_msg_id: 'x'}];
		return m.rows(items, new Date(2026, 0, 6, 12)).map((r) => r.kind === 'day' ? 'day ' + r.label : (r.grouped ? '  ' : '') + r.item.user + ' ' + r.key.slice(0, 2));`, nil, &rows)
	want := []string{"day Yesterday", "A m:", "  A m:", "B m:", "B m:", "B m:", "day Today", "B m:", "  B p:"}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows\n got %q\nwant %q", rows, want)
	}

	// The "New" line: before the first message after the read mark that is
	// not ours, which starts a group of its own.
	run(p, "timeline.js", `
		const at = (min) => (new Date(2026, 0, 6, 9, min).getTime() / 1000).toFixed(6);
		const items = [{user: 'A', ts: at(0)}, {user: 'ME', ts: at(1)}, {user: 'A', ts: at(2)}, {user: 'A', ts: at(3)}];
		return m.rows(items, new Date(2026, 0, 6, 12), {after: at(0), self: 'ME'}).map((r) => r.kind === 'msg' ? (r.grouped ? '  ' : '') + r.item.user : r.kind + ' ' + r.label);`, nil, &rows)
	want = []string{"day Today", "A", "ME", "new New", "A", "  A"}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows with a read mark\n got %q\nwant %q", rows, want)
	}

	var labels []string
	run(p, "timeline.js", `const now = new Date(2026, 0, 6, 12);
		return [new Date(2026, 0, 6, 0, 0), new Date(2026, 0, 5, 23), new Date(2026, 0, 2), new Date(2025, 11, 31)].map((d) => m.dayLabel(d, now))
			.concat([[], ['ann'], ['ann', 'bo'], ['a', 'b', 'c']].map(m.typingText));`, nil, &labels)
	wantLabels := []string{"Today", "Yesterday", "Friday, January 2", "Wednesday, December 31, 2025",
		"", "ann is typing…", "ann and bo are typing…", "Several people are typing…"}
	if fmt.Sprint(labels) != fmt.Sprint(wantLabels) {
		t.Errorf("labels\n got %q\nwant %q", labels, wantLabels)
	}
}
