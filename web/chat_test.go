package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node"
	"github.com/ringcast/ringcast/node/proctest"
)

// The chat test's cluster: three processes on loopback addresses of
// their own, in the web client's range 127.0.60-69.x (fixed ports, as
// proctest runs them), three in a row picked at random among free ones
// (chatHosts), so that a targeted run beside a full make test does not
// collide with it.
//
//	web-1  every role, region a, --dev   alice's page; the only gateway left at the end
//	web-2  gateway, region b             bob's websocket (rtm.connect on web-3 prefers region b);
//	                                     its /api/ passes calls on to web-3
//	web-3  admin, region b, --dev        bob's page and Web API
//
// Killing web-2 takes bob's websocket and nothing else; freezing web-3
// meanwhile keeps bob's page from reconnecting long enough for a send to
// fail.
const (
	adminKey    = "xoxa-web-test-3Jk8Pq1Zm6Vx4Rt9Nc2Bw7Ly5Hs0Dg"
	historySize = 120 // more than two pages
)

// chatHosts picks three loopback addresses in a row, 127.0.6X.Y to Y+2,
// on which proctest's ports (HTTP 8080, gossip 7946 over TCP and UDP)
// are free.
func chatHosts(t *testing.T) [3]string {
	t.Helper()
	for range 200 {
		x, y := rand.IntN(10), 1+rand.IntN(250)
		var hosts [3]string
		ok := true
		for i := range hosts {
			hosts[i] = fmt.Sprintf("127.0.%d.%d", 60+x, y+i)
			ok = ok && proctest.Free(hosts[i])
		}
		if ok {
			return hosts
		}
	}
	t.Fatal("no three free loopback addresses in a row in 127.0.60-69.x")
	return [3]string{}
}

type chat struct {
	t          *testing.T
	n1, n2, n3 *proctest.Proc
	alice      *client.API
	general    string
}

func startChat(t *testing.T) *chat {
	t.Helper()
	bin, err := proctest.Build("..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	start := func(name, host, roles, region, join string, dev bool) *proctest.Proc {
		extra := []string{"--admin-key", adminKey, "--region", region}
		if dev {
			extra = append(extra, "--dev")
		}
		return proctest.Start(t, bin, proctest.Options{Name: name, Host: host, Roles: roles, Join: join, Data: data, Extra: extra})
	}
	c := &chat{t: t}
	hosts := chatHosts(t)
	c.n1 = start("web-1", hosts[0], "", "a", "", true)
	c.n2 = start("web-2", hosts[1], "gateway", "b", c.n1.Gossip, false)
	c.n3 = start("web-3", hosts[2], "admin", "b", c.n1.Gossip, true)
	for _, p := range []*proctest.Proc{c.n1, c.n2, c.n3} {
		c.waitStatus(p, "3 members", func(st node.Status) bool { return len(st.Members) == 3 })
	}
	admin := &client.API{Base: "http://" + c.n1.HTTP, Token: adminKey}
	var res struct{ Token string }
	call(t, admin, "admin.users.create", url.Values{"name": {"alice"}}, &res)
	c.alice = &client.API{Base: admin.Base, Token: res.Token}
	var ch struct{ Channel struct{ ID string } }
	call(t, c.alice, "conversations.create", url.Values{"name": {"general"}}, &ch)
	c.general = ch.Channel.ID
	// The history, from a CI bot.
	call(t, admin, "admin.users.create", url.Values{"name": {"ci"}, "is_bot": {"true"}}, &res) // a bot: its limits are ten times a person's
	ci := &client.API{Base: admin.Base, Token: res.Token}
	call(t, ci, "conversations.join", url.Values{"channel": {c.general}}, nil)
	for i := 1; i <= historySize; i++ {
		call(t, ci, "chat.postMessage", url.Values{"channel": {c.general}, "text": {history(i)}}, nil)
	}
	// The gateway-only node serves the page, and its Web API (which the
	// page calls on its own origin) is an admin node's.
	viaGateway := &client.API{Base: "http://" + c.n2.HTTP, Token: c.alice.Token}
	var who struct{ User string }
	call(t, viaGateway, "auth.test", nil, &who)
	if who.User != "alice" {
		t.Errorf("auth.test through the gateway-only node: user %q, want alice", who.User)
	}
	var noAuth struct{}
	var apiErr *client.APIError
	if err := (&client.API{Base: viaGateway.Base}).Call(context.Background(), "auth.test", nil, &noAuth); !errors.As(err, &apiErr) || apiErr.Code != "not_authed" {
		t.Errorf("auth.test without a token through the gateway-only node: %v, want not_authed", err)
	}
	resp, err := http.Get(viaGateway.Base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / on the gateway-only node: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	return c
}

func history(i int) string { return fmt.Sprintf("build %03d passed", i) }

func call(t *testing.T, api *client.API, method string, args url.Values, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Call(ctx, method, args, out); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// waitStatus polls a node's /status until ok.
func (c *chat) waitStatus(p *proctest.Proc, what string, ok func(node.Status) bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := proctest.WaitHTTPAuth(ctx, "http://"+p.HTTP+"/status", adminKey, func(r *http.Response) bool {
		var st node.Status
		return json.NewDecoder(r.Body).Decode(&st) == nil && ok(st)
	})
	if err != nil {
		c.t.Fatalf("%s never had %s: %v", p.Name, what, err)
	}
}

// JavaScript read by the tests.
const (
	jsTexts   = `[...document.querySelectorAll('#message-list .msg:not(.pending):not(.failed) .text')].map(e => e.textContent)`
	jsBody    = `document.body.innerText.slice(0, 2000)`
	jsLive    = `document.getElementById('banner').dataset.state === 'live'`
	jsChannel = `document.getElementById('channel-title').textContent`
	// jsSidebar: each conversation of the sidebar as "label badge".
	jsSidebar = `[...document.querySelectorAll('#sidebar .channel-list a')].map(a => a.textContent.replace(/(\D)(\d+)$/, '$1 $2')).join(', ')`
)

// texts are the confirmed messages a page shows, in order.
func texts(p *page) []string { return eval[[]string](p, jsTexts) }

func (p *page) waitMessage(text string, timeout time.Duration) {
	p.t.Helper()
	p.wait(fmt.Sprintf("message %q", text), fmt.Sprintf(`%s.includes(%q)`, jsTexts, text), jsTexts+`.slice(-5).join(' | ')`, timeout)
}

// send types text in the composer and presses Enter.
func (p *page) send(text string) {
	p.t.Helper()
	p.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent(text), enter())
}

func (p *page) open(u string) {
	p.t.Helper()
	p.do(chromedp.Navigate(u))
}

func TestChat(t *testing.T) {
	chromium(t)
	c := startChat(t)
	b := newBrowser(t)

	// Alice signs in with a token on web-1; general is her only channel.
	var tok struct{ Token string }
	call(t, &client.API{Base: c.alice.Base, Token: adminKey}, "admin.users.createToken", url.Values{"name": {"alice"}}, &tok)
	a := b.page("alice")
	a.open("http://" + c.n1.HTTP + "/")
	a.wait("the sign-in form", `!document.getElementById('signin').hidden`, jsBody, 10*time.Second)
	a.do(chromedp.SendKeys(chromedp.ID("token-input"), "xoxp-not-a-token"), enter())
	a.wait("the token refused", `document.getElementById('signin-error').textContent === 'That token was not accepted.'`, jsBody, 10*time.Second)
	a.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('token-input').value = ''`), chromedp.SendKeys(chromedp.ID("token-input"), tok.Token), enter())
	a.wait("general, live", jsLive+` && `+jsChannel+` === '#general'`, jsBody, 10*time.Second)
	a.waitMessage(history(historySize), 10*time.Second)

	// Bob signs in on web-3 as a new user, in dev mode, and joins general.
	bo := b.page("bob")
	bo.open("http://" + c.n3.HTTP + "/")
	bo.wait("the dev sign-in", `!document.getElementById('dev-signin').hidden`, jsBody, 10*time.Second)
	bo.shot("signin")
	bo.do(chromedp.SendKeys(chromedp.ID("dev-name"), "bob"), enter())
	bo.wait("live, with no channel", jsLive+` && document.getElementById('history-status').textContent.includes('in no channel yet')`, jsBody, 10*time.Second)
	bo.shot("no-channel")
	bo.do(chromedp.Click(chromedp.ID("add-channel")))
	bo.wait("general to join", `document.querySelector('#browse-list button[aria-label="Join #general"]')`, jsBody, 10*time.Second)
	bo.do(chromedp.Click(chromedp.CSS(`#browse-list button[aria-label="Join #general"]`)))
	bo.wait("general", jsChannel+` === '#general'`, jsBody, 10*time.Second)
	bo.waitMessage(history(historySize), 10*time.Second)
	// Two gateways, one websocket each: alice on web-1, bob on web-2.
	c.waitStatus(c.n1, "alice's session", func(st node.Status) bool { return st.Sessions == 1 })
	c.waitStatus(c.n2, "bob's session", func(st node.Status) bool { return st.Sessions == 1 })

	step(t, "typing", func() {
		bo.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent("Morning! Is the deploy still on for today?"))
		a.wait("bob is typing", `document.getElementById('typing').textContent === 'bob is typing…'`, `document.getElementById('typing').textContent`, 5*time.Second)
		a.shot("typing")
		bo.do(enter())
		a.waitMessage("Morning! Is the deploy still on for today?", 5*time.Second)
		a.wait("no one typing", `document.getElementById('typing').textContent === ''`, `document.getElementById('typing').textContent`, 5*time.Second)
	})

	step(t, "live", func() {
		a.send("Yes, at 3pm. I'll post the checklist here.")
		bo.waitMessage("Yes, at 3pm. I'll post the checklist here.", 5*time.Second)
		a.waitMessage("Yes, at 3pm. I'll post the checklist here.", 5*time.Second)
		a.send("Ping me if the canary looks off.")
		bo.waitMessage("Ping me if the canary looks off.", 5*time.Second)
		grouped := eval[bool](bo, `[...document.querySelectorAll('#message-list .msg')].at(-1).classList.contains('grouped')`)
		if !grouped {
			t.Error("alice's second message in a row is not grouped under the first")
		}
		if n := eval[int](bo, `document.querySelectorAll('#message-list .day').length`); n != 1 {
			t.Errorf("%d day separators, want 1 (Today)", n)
		}
		// Shift+Enter is a new line, Enter sends.
		bo.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent("Sounds good."),
			enter(chromedp.ModifierShift), chromedp.KeyEvent("I'll watch the dashboards."), enter())
		a.waitMessage("Sounds good.\nI'll watch the dashboards.", 5*time.Second)
		a.shot("live")
		bo.shot("live")
	})

	step(t, "presence", func() {
		a.do(chromedp.Click(chromedp.ID("members-button")))
		a.wait("bob active in the members", memberActive("bob", true), `document.getElementById('members').innerText`, 10*time.Second)
		a.wait("alice active", memberActive("alice", true), `document.getElementById('members').innerText`, 10*time.Second)
		a.shot("members")
		bo.do(chromedp.Click(chromedp.ID("away-button")))
		a.wait("bob away", memberActive("bob", false), `document.getElementById('members').innerText`, 10*time.Second)
		bo.wait("bob's own dot away", `document.querySelector('#self .dot.away') && document.getElementById('away-button').textContent === 'Set yourself active'`, jsBody, 5*time.Second)
		bo.do(chromedp.Click(chromedp.ID("away-button")))
		a.wait("bob active", memberActive("bob", true), `document.getElementById('members').innerText`, 10*time.Second)
		a.do(chromedp.Click(chromedp.ID("members-close")))
	})

	step(t, "dms and unread", func() {
		// Bob opens a DM with alice from the people dialog.
		bo.do(chromedp.Click(chromedp.ID("add-dm")))
		bo.wait("alice to message", `document.querySelector('#people-list button[aria-label="Message alice"]')`, jsBody, 5*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(`#people-list button[aria-label="Message alice"]`)))
		bo.wait("the DM with alice", jsChannel+`.trim() === 'alice' && document.getElementById('history-status').textContent === 'This is the very beginning of alice.'`, jsBody, 10*time.Second)
		bo.send("psst: the canary is mine today")
		// Alice is in #general: the DM appears with a badge.
		a.wait("bob's DM, 1 unread", jsSidebar+`.includes('bob 1')`, jsSidebar, 10*time.Second)
		a.shot("dm-unread")
		a.do(chromedp.Click(chromedp.CSS(`#dm-list a`)))
		a.wait("the DM with bob", jsChannel+`.trim() === 'bob'`, jsBody, 5*time.Second)
		a.waitMessage("psst: the canary is mine today", 5*time.Second)
		a.wait("no badge", `!document.querySelector('#sidebar .badge')`, jsSidebar, 5*time.Second)
		// Bob posts in #general while alice reads the DM: a badge there,
		// live, and after a reload (conversations.info's count).
		bo.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		bo.wait("general", jsChannel+` === '#general'`, jsBody, 5*time.Second)
		bo.send("Canary is green.")
		bo.send("Promoting.")
		a.wait("#general, 2 unread", jsSidebar+`.includes('#general 2')`, jsSidebar, 10*time.Second)
		a.do(chromedp.Reload())
		a.wait("live after reload, in the DM", jsLive+` && `+jsChannel+`.trim() === 'bob'`, jsBody, 10*time.Second)
		a.wait("#general still 2 unread, the DM read", jsSidebar+`.includes('#general 2') && `+jsSidebar+`.includes('bob') && !`+jsSidebar+`.includes('bob 1')`, jsSidebar, 10*time.Second)
		a.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		a.waitMessage("Promoting.", 5*time.Second)
		a.wait("no badge", `!document.querySelector('#sidebar .badge')`, jsSidebar, 5*time.Second)
		// A "New" line before what was unread, which stays while she reads.
		if got := eval[string](a, `[...document.querySelectorAll('#message-list li.new')].map(li => li.nextElementSibling.querySelector('.author')?.textContent + ': ' + li.nextElementSibling.querySelector('.text').textContent).join()`); got != "bob: Canary is green." {
			t.Errorf("the New line is before %q, want bob's first unread message", got)
		}
		a.shot("new-line")
		// Reading it marked it read on the server (conversations.mark).
		deadline := time.Now().Add(5 * time.Second)
		for {
			var info struct {
				Channel struct {
					UnreadDisplay int `json:"unread_count_display"`
				}
			}
			call(t, c.alice, "conversations.info", url.Values{"channel": {c.general}}, &info)
			if info.Channel.UnreadDisplay == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("#general: alice has %d unread on the server after reading it", info.Channel.UnreadDisplay)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	step(t, "edit, react, thread, delete", func() {
		// Up-arrow in bob's empty composer edits his last message.
		bo.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent(kb.ArrowUp))
		bo.wait("the last message in the composer", `document.getElementById('composer-input').value === 'Promoting.' && !document.getElementById('editing').hidden`,
			`document.getElementById('composer-input').value`, 5*time.Second)
		bo.do(chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(" to 100%."), enter())
		a.waitMessage("Promoting to 100%. (edited)", 5*time.Second)
		bo.waitMessage("Promoting to 100%. (edited)", 5*time.Second)
		if got := texts(a); slices.Contains(got, "Promoting.") {
			t.Errorf("alice still shows the message before its edit: %q", got[len(got)-4:])
		}
		// Bob reacts to alice's message; she sees it, and toggles her own.
		ask := msgSel(bo, "Yes, at 3pm. I'll post the checklist here.")
		bo.do(chromedp.Click(chromedp.CSS(ask + ` button[data-act="pick"]`)))
		bo.do(chromedp.Click(chromedp.CSS(ask + ` .picker button[data-name="+1"]`)))
		aask := msgSel(a, "Yes, at 3pm. I'll post the checklist here.")
		reaction := func(sel string, count int, mine bool) string {
			return fmt.Sprintf(`(() => { const r = document.querySelector(%q); return r && r.textContent === '👍%d' && r.getAttribute('aria-pressed') === '%v'; })()`,
				sel+` button.reaction[data-name="+1"]`, count, mine)
		}
		a.wait("bob's 👍", reaction(aask, 1, false), `document.querySelector(`+"`"+aask+"`"+`).innerText`, 5*time.Second)
		a.do(chromedp.Click(chromedp.CSS(aask + ` button.reaction[data-name="+1"]`)))
		bo.wait("two 👍, one his", reaction(ask, 2, true), `document.querySelector(`+"`"+ask+"`"+`).innerText`, 5*time.Second)
		a.wait("two 👍, one hers", reaction(aask, 2, true), `document.querySelector(`+"`"+aask+"`"+`).innerText`, 5*time.Second)
		a.do(chromedp.Click(chromedp.CSS(aask + ` button.reaction[data-name="+1"]`)))
		bo.wait("one 👍 again", reaction(ask, 1, true), `document.querySelector(`+"`"+ask+"`"+`).innerText`, 5*time.Second)
		a.shot("reactions")

		// Alice replies in a thread: the reply is in the panel, not the channel.
		canary := msgSel(a, "Canary is green.")
		a.do(chromedp.Click(chromedp.CSS(canary + ` button[data-act="thread"]`)))
		a.wait("the thread panel", `!document.getElementById('thread').hidden && document.querySelector('#thread-list .msg .text')?.textContent === 'Canary is green.'`, `document.getElementById('thread').innerText`, 5*time.Second)
		a.do(chromedp.Focus(chromedp.ID("thread-input")), chromedp.KeyEvent("Nice, I'm watching the error rate."), enter())
		threadTexts := `[...document.querySelectorAll('#thread-list .msg:not(.pending):not(.failed) .text')].map(e => e.textContent)`
		a.wait("the reply in the panel", threadTexts+`.includes("Nice, I'm watching the error rate.")`, threadTexts, 5*time.Second)
		bcanary := msgSel(bo, "Canary is green.")
		bo.wait("1 reply under the parent", `document.querySelector(`+"`"+bcanary+` button.replies`+"`"+`)?.textContent === '1 reply'`, jsBody, 5*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(bcanary + ` button.replies`)))
		bo.wait("the reply in bob's panel", threadTexts+`.includes("Nice, I'm watching the error rate.")`, threadTexts, 5*time.Second)
		// Bob's reply goes to the channel too.
		bo.do(chromedp.Click(chromedp.ID("thread-broadcast")), chromedp.Focus(chromedp.ID("thread-input")), chromedp.KeyEvent("All green at 100%."), enter())
		a.wait("bob's reply in the panel", threadTexts+`.includes("All green at 100%.")`, threadTexts, 5*time.Second)
		a.waitMessage("All green at 100%.", 5*time.Second)
		a.wait("2 replies", `document.querySelector(`+"`"+canary+` button.replies`+"`"+`)?.textContent === '2 replies'`, jsBody, 5*time.Second)
		for _, p := range []*page{a, bo} {
			if got := texts(p); slices.Contains(got, "Nice, I'm watching the error rate.") {
				t.Errorf("%s: a reply without broadcast shows in the channel: %q", p.name, got[len(got)-4:])
			}
		}
		a.shot("thread")
		bo.shot("thread")
		a.do(chromedp.Click(chromedp.ID("thread-close")))
		bo.do(chromedp.Click(chromedp.ID("thread-close")))
		a.wait("the panel closed", `document.getElementById('thread').hidden`, jsBody, 5*time.Second)

		// Bob deletes a message (two clicks): it goes from both pages.
		bo.send("wrong channel, sorry")
		a.waitMessage("wrong channel, sorry", 5*time.Second)
		bo.waitMessage("wrong channel, sorry", 5*time.Second)
		oops := msgSel(bo, "wrong channel, sorry")
		bo.do(chromedp.Click(chromedp.CSS(oops+` button[data-act="delete"]`)), chromedp.Click(chromedp.CSS(oops+` button[data-act="delete"]`)))
		for _, p := range []*page{a, bo} {
			p.wait("the message gone", `!`+jsTexts+`.includes('wrong channel, sorry')`, jsTexts+`.slice(-3).join(' | ')`, 5*time.Second)
		}
	})

	step(t, "search", func() {
		results := `[...document.querySelectorAll('#search-list .result .text')].map(e => e.textContent)`
		panel := `document.getElementById('search').innerText`
		searchFor := func(q string) {
			bo.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('search-input').value = ''`),
				chromedp.SendKeys(chromedp.ID("search-input"), q), enter())
		}
		// What was just sent is found the moment it is acknowledged, and
		// opens in its channel at the message.
		bo.send("a zebracorn at the standup")
		bo.waitMessage("a zebracorn at the standup", 5*time.Second) // acknowledged: no longer pending
		searchFor("zebracorn")
		bo.wait("the result", results+`.join() === 'a zebracorn at the standup'`, panel, 10*time.Second)
		bo.shot("search")
		bo.do(chromedp.Click(chromedp.CSS(`#search-list .result-open`)))
		bo.wait("general, the message found", jsChannel+` === '#general' && document.querySelector('#message-list .msg.found .text')?.textContent === 'a zebracorn at the standup'`, jsBody, 10*time.Second)
		// Words of earlier messages; a reply opens its thread.
		searchFor("canary")
		bo.wait("the results", results+`.includes('Ping me if the canary looks off.') && `+results+`.includes('Canary is green.')`, panel, 10*time.Second)
		searchFor("error rate")
		bo.wait("the reply's result", results+`.join() === "Nice, I'm watching the error rate."`, panel, 10*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(`#search-list .result-open`)))
		bo.wait("its thread, its parent found", `!document.getElementById('thread').hidden && [...document.querySelectorAll('#thread-list .msg .text')].some(e => e.textContent === "Nice, I'm watching the error rate.") && document.querySelector('#message-list .msg.found .text')?.textContent === 'Canary is green.'`, jsBody, 10*time.Second)
		bo.do(chromedp.Click(chromedp.ID("thread-close")))
		// A DM's result opens the DM.
		searchFor("psst")
		bo.wait("the DM's result", results+`.join() === 'psst: the canary is mine today'`, panel, 10*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(`#search-list .result-open`)))
		bo.wait("the DM, the message found", jsChannel+`.trim() === 'alice' && document.querySelector('#message-list .msg.found .text')?.textContent === 'psst: the canary is mine today'`, jsBody, 10*time.Second)
		// Escape closes the panel.
		bo.do(chromedp.Focus(chromedp.CSS(`#search-list .result-open`)), chromedp.KeyEvent(kb.Escape))
		bo.wait("the panel closed", `document.getElementById('search').hidden`, panel, 5*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		bo.wait("general", jsChannel+` === '#general'`, jsBody, 5*time.Second)
	})

	step(t, "format", func() {
		// Typed: a mention, a bare link, a code span. Posted through the
		// API (as a bot would): a channel link and a labelled link.
		a.send("@bob the runbook: https://example.com/runbook?step=2&env=prod, then `make canary`")
		call(t, c.alice, "chat.postMessage", url.Values{"channel": {c.general}, "text": {"Notes for <#" + c.general + ">: <https://example.org/notes|the release notes> &lt;3"}}, nil)
		bo.waitMessage("Notes for #general: the release notes <3", 5*time.Second)
		got := eval[map[string]string](bo, `(() => { const [m1, m2] = [...document.querySelectorAll('#message-list .msg .text')].slice(-2);
			return {text: m1.textContent, mention: m1.querySelector('.mention.self')?.textContent, href: m1.querySelector('a')?.href,
				code: m1.querySelector('code')?.textContent, channel: m2.querySelector('a.channel-link')?.getAttribute('href'),
				label: m2.querySelector('a[target]')?.textContent, href2: m2.querySelector('a[target]')?.href}; })()`)
		want := map[string]string{"text": "@bob the runbook: https://example.com/runbook?step=2&env=prod, then make canary", "mention": "@bob",
			"href": "https://example.com/runbook?step=2&env=prod", "code": "make canary", "channel": "#" + c.general,
			"label": "the release notes", "href2": "https://example.org/notes"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		// The picture at the top of the README: RINGCAST_README_SHOT=1 makes it again.
		a.do(chromedp.Click(chromedp.ID("members-button")))
		a.wait("bob active", memberActive("bob", true), `document.getElementById('members').innerText`, 10*time.Second)
		a.do(chromedp.Blur(chromedp.ID("invite-name")))
		if os.Getenv("RINGCAST_README_SHOT") != "" {
			if err := os.WriteFile("../docs/screenshot.png", a.capture(960, 600), 0o644); err != nil {
				t.Fatal(err)
			}
			a.viewport(deskW, deskH)
		}
		a.do(chromedp.Click(chromedp.ID("members-close")))
	})

	step(t, "xss", func() {
		probes := []string{
			`<img src=x onerror="window.pwned=1">`,
			`<script>window.pwned=2</script>`,
			`<svg onload="window.pwned=3"></svg>`,
			`<iframe srcdoc="<script>parent.pwned=4</script>"></iframe>`,
			`<a href="javascript:window.pwned=5">click</a>`,
		}
		for _, s := range probes { // typed into the page
			a.send(s)
		}
		// Posted raw through the API, as a bot that does not escape would:
		// <...> is Slack's link syntax, so try it with every scheme.
		raw := []string{`<img src=x onerror=window.pwned=6>`, `<javascript:window.pwned=7|click me>`, `<data:text/html,<script>x</script>|data>`}
		for _, s := range raw {
			call(t, c.alice, "chat.postMessage", url.Values{"channel": {c.general}, "text": {s}}, nil)
		}
		wantRaw := []string{`<img src=x onerror=window.pwned=6>`, `<javascript:window.pwned=7|click me>`, `<data:text/html,<script>x</script>|data>`}
		for _, p := range []*page{a, bo} {
			p.waitMessage(wantRaw[len(wantRaw)-1], 5*time.Second)
			got := texts(p)
			for _, want := range append(slices.Clone(probes), wantRaw...) {
				if !slices.Contains(got, want) {
					t.Errorf("%s: %q not shown as text; last messages %q", p.name, want, got[len(got)-8:])
				}
			}
			bad := eval[[]string](p, `[...document.querySelectorAll('#message-list :is(img, script, svg, iframe, object, embed, a[href^="javascript:" i], a[href^="data:" i], [onerror], [onload])')].map(e => e.outerHTML)`)
			if len(bad) > 0 {
				t.Errorf("%s: injected elements: %q", p.name, bad)
			}
			if pwned := eval[bool](p, `window.pwned !== undefined`); pwned {
				t.Errorf("%s: a probe ran: window.pwned = %v", p.name, eval[any](p, `window.pwned`))
			}
		}
		bo.shot("xss")
	})

	step(t, "history", func() {
		bo.do(chromedp.Reload())
		bo.wait("live after reload", jsLive+` && `+jsChannel+` === '#general'`, jsBody, 10*time.Second)
		bo.waitMessage("Yes, at 3pm. I'll post the checklist here.", 10*time.Second)
		// The history has the edit, the reaction, the replies' count, and
		// neither the deleted message nor the reply that was not broadcast.
		bo.waitMessage("Promoting to 100%. (edited)", 10*time.Second)
		bo.wait("the reaction and the replies after a reload", `(() => {
			const li = (text) => [...document.querySelectorAll('#message-list .msg')].find(li => li.querySelector('.text').textContent === text);
			return li("Yes, at 3pm. I'll post the checklist here.")?.querySelector('button.reaction')?.textContent === '👍1'
				&& li('Canary is green.')?.querySelector('button.replies')?.textContent === '2 replies'; })()`, jsTexts+`.slice(-12).join(' | ')`, 5*time.Second)
		if got := texts(bo); slices.Contains(got, "wrong channel, sorry") || slices.Contains(got, "Nice, I'm watching the error rate.") {
			t.Errorf("after a reload bob shows a deleted message or a reply: %q", got)
		}
		if n := len(texts(bo)); n > 60 {
			t.Errorf("%d messages after a reload, want a page (50)", n)
		}
		// Scroll up until the beginning: every page comes in order, once,
		// and what the reader looked at stays where it was.
		for i := 0; ; i++ {
			if eval[bool](bo, `document.getElementById('history-status').textContent.startsWith('This is the very beginning')`) {
				break
			}
			if i == 10 {
				t.Fatalf("never reached the beginning: %s", eval[string](bo, `document.getElementById('history-status').textContent`))
			}
			// The first message shown, and where it is, once scrolled to the top.
			first := eval[map[string]any](bo, `(() => { document.getElementById('messages').scrollTop = 0;
				const t = document.querySelector('#message-list .msg .text'); return {text: t.textContent, top: t.getBoundingClientRect().top}; })()`)
			at := fmt.Sprintf(`[...document.querySelectorAll('#message-list .msg .text')].find(t => t.textContent === %q)`, first["text"])
			bo.wait("an older page", at+` !== document.querySelector('#message-list .msg .text') || document.getElementById('history-status').textContent.startsWith('This is')`,
				`document.getElementById('history-status').textContent`, 10*time.Second)
			bo.wait("the page in place", `!document.getElementById('history-status').textContent.startsWith('Loading')`, `document.getElementById('history-status').textContent`, 10*time.Second)
			before, after := first["top"].(float64), eval[float64](bo, at+`.getBoundingClientRect().top`)
			if d := after - before; d > 2 || d < -2 {
				t.Errorf("page %d: the message at the top moved by %.0f px when older ones came", i, d)
			}
		}
		got := slices.DeleteFunc(texts(bo), func(s string) bool { // members' joins are in history too
			return strings.HasSuffix(s, " has joined the channel") || strings.HasSuffix(s, " has left the channel")
		})
		for i := 1; i <= historySize; i++ {
			if want := history(i); got[i-1] != want {
				t.Fatalf("message %d = %q, want %q", i, got[i-1], want)
			}
		}
		if dup := duplicates(got); len(dup) > 0 {
			t.Errorf("shown twice: %q", dup)
		}
		bo.shot("history-top")
	})

	step(t, "keyboard", func() {
		// Every control has a name a screen reader can say.
		for _, p := range []*page{a, bo} {
			unnamed := eval[[]string](p, jsUnnamed)
			if len(unnamed) > 0 {
				t.Errorf("%s: controls without an accessible name: %q", p.name, unnamed)
			}
		}
		// Create a channel and come back, with the keyboard only.
		bo.do(chromedp.Focus(chromedp.ID("add-channel")), enter())
		bo.wait("the dialog, focus in its name field", `document.activeElement?.id === 'create-name'`, `document.activeElement?.outerHTML`, 5*time.Second)
		bo.do(chromedp.KeyEvent("Random Things"), enter())
		bo.wait("#random-things", jsChannel+` === '#random-things'`, jsBody, 5*time.Second)
		bo.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent(kb.Tab))
		if !eval[bool](bo, `document.activeElement.id === 'send-button' && document.activeElement.matches(':focus-visible') && getComputedStyle(document.activeElement).outlineStyle !== 'none'`) {
			t.Errorf("Tab from the composer: focus on %s, not visibly on Send", eval[string](bo, `document.activeElement.outerHTML`))
		}
		// Bob adds alice; she gets the channel live, leaves it, and bob's
		// member list follows.
		bo.do(chromedp.Click(chromedp.ID("members-button")), chromedp.SendKeys(chromedp.ID("invite-name"), "alice"), enter())
		a.wait("#random-things in alice's sidebar", `[...document.querySelectorAll('#channel-list a')].some(a => a.textContent === '#random-things')`, `document.getElementById('channel-list').innerText`, 10*time.Second)
		bo.wait("alice in the members", memberActive("alice", true), `document.getElementById('members').innerText`, 10*time.Second)
		a.do(chromedp.Click(chromedp.CSS(`#channel-list a:not([aria-current])`)))
		a.wait("alice in #random-things", jsChannel+` === '#random-things'`, jsBody, 5*time.Second)
		a.do(chromedp.Click(chromedp.ID("leave-button")))
		a.wait("alice back in #general, #random-things gone", jsChannel+` === '#general' && document.querySelectorAll('#channel-list a').length === 1`, `document.getElementById('channel-list').innerText`, 10*time.Second)
		bo.wait("alice gone from the members", `![...document.querySelectorAll('#member-list .name')].some(e => e.textContent === 'alice')`, `document.getElementById('members').innerText`, 10*time.Second)
		bo.do(chromedp.Click(chromedp.ID("members-close")))
		bo.do(chromedp.Focus(chromedp.CSS(`#channel-list a[href="#`+c.general+`"]`)), enter())
		bo.wait("general again", jsChannel+` === '#general'`, jsBody, 5*time.Second)
		bo.shot("keyboard")
	})

	var (
		carol *client.API // a third person, with no page
		group string      // the group DM of alice, bob and carol
	)
	step(t, "group dm", func() {
		// Carol joins after both pages loaded: bob's people dialog still
		// offers her. He ticks alice and carol and starts one conversation.
		var res struct{ Token string }
		call(t, &client.API{Base: c.alice.Base, Token: adminKey}, "admin.users.create", url.Values{"name": {"carol"}}, &res)
		carol = &client.API{Base: c.alice.Base, Token: res.Token}
		bo.do(chromedp.Click(chromedp.ID("add-dm")))
		pick := func(name string) string {
			return fmt.Sprintf(`[...document.querySelectorAll('#people-list label.pick')].find(l => l.textContent.trim() === %q)?.querySelector('input')`, name)
		}
		bo.wait("carol to pick", pick("carol"), `document.getElementById('people-list').innerText`, 5*time.Second)
		for _, p := range []*page{bo} {
			if unnamed := eval[[]string](p, jsUnnamed); len(unnamed) > 0 {
				t.Errorf("%s: people dialog: controls without an accessible name: %q", p.name, unnamed)
			}
		}
		bo.do(chromedp.Evaluate[chromedp.Void](pick("alice")+`.click()`), chromedp.Evaluate[chromedp.Void](pick("carol")+`.click()`))
		bo.wait("the group button", `document.getElementById('people-group').textContent === 'Message alice, carol' && !document.getElementById('people-group').disabled`,
			`document.getElementById('people-group').outerHTML`, 5*time.Second)
		bo.shot("group-pick")
		bo.do(chromedp.Click(chromedp.ID("people-group")))
		bo.wait("the group DM", jsChannel+`.trim() === 'alice, carol' && document.getElementById('history-status').textContent.startsWith('This is the very beginning')`, jsBody, 10*time.Second)
		group = eval[string](bo, `location.hash.slice(1)`)
		bo.send("group: who has the pager tonight?")
		// Alice is in #general: the group DM appears live, with a badge.
		a.wait("the group DM in alice's sidebar, 1 unread", jsSidebar+`.includes('bob, carol 1')`, jsSidebar, 10*time.Second)
		if got := eval[string](a, `document.title`); got != "(1) #general · ringcast" {
			t.Errorf("alice's tab title %q, want the unread count first", got)
		}
		a.do(chromedp.Click(chromedp.CSS(`#dm-list a[href="#` + group + `"]`)))
		a.wait("the group DM, nothing unread", jsChannel+`.trim() === 'bob, carol' && document.title === 'bob, carol · ringcast'`, `document.title`, 5*time.Second)
		a.waitMessage("group: who has the pager tonight?", 5*time.Second)
		a.send("group: I do.")
		// Bob reads it and goes at once: leaving marks it read.
		bo.waitMessage("group: I do.", 5*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		// Carol has it too, with both messages.
		var convs struct{ Channels []struct{ ID string } }
		call(t, carol, "users.conversations", url.Values{"types": {"mpim"}}, &convs)
		if len(convs.Channels) != 1 || convs.Channels[0].ID != group {
			t.Errorf("carol's group DMs: %+v, want %s", convs.Channels, group)
		}
		var hist struct{ Messages []struct{ Text string } }
		call(t, carol, "conversations.history", url.Values{"channel": {group}}, &hist)
		if len(hist.Messages) != 2 || hist.Messages[0].Text != "group: I do." {
			t.Errorf("carol reads %+v", hist.Messages)
		}
		a.shot("group-dm")
		for _, p := range []*page{a, bo} {
			p.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
			p.wait("general", jsChannel+` === '#general'`, jsBody, 5*time.Second)
		}
	})

	step(t, "topic", func() {
		// Alice sets #general's topic and purpose in its details; bob's
		// header follows live. What she typed is text, @bob a mention.
		a.do(chromedp.Click(chromedp.ID("details-button")))
		a.wait("the details, focus on the topic", `document.getElementById('details-dialog').open && document.activeElement?.id === 'topic-input'`, `document.activeElement?.outerHTML`, 5*time.Second)
		if unnamed := eval[[]string](a, jsUnnamed); len(unnamed) > 0 {
			t.Errorf("details dialog: controls without an accessible name: %q", unnamed)
		}
		topic := `Deploys at 3pm <b onmouseover="window.pwned=8">sharp</b>, ask @bob`
		a.do(chromedp.KeyEvent(topic), chromedp.Focus(chromedp.ID("purpose-input")), chromedp.KeyEvent("Releases & incidents"))
		a.shot("details")
		a.do(chromedp.Click(chromedp.CSS(`#details-form button[type=submit]`)))
		shown := `Deploys at 3pm <b onmouseover="window.pwned=8">sharp</b>, ask @bob`
		for _, p := range []*page{a, bo} {
			p.wait("the topic in the header", fmt.Sprintf(`document.getElementById('channel-topic').textContent === %q`, shown),
				`document.getElementById('channel-topic').outerHTML`, 5*time.Second)
			if bad := eval[bool](p, `!!document.querySelector('#channel-topic b, #channel-topic [onmouseover]')`); bad {
				t.Errorf("%s: the topic's markup became elements", p.name)
			}
			p.waitMessage("@alice set the channel topic: "+shown, 5*time.Second)
			p.waitMessage("@alice set the channel purpose: Releases & incidents", 5*time.Second)
			if !eval[bool](p, `[...document.querySelectorAll('#message-list .msg.event .text')].some(e => e.textContent.startsWith('@alice set the channel topic'))`) {
				t.Errorf("%s: the topic's change is not shown as an event of the channel", p.name)
			}
		}
		if !eval[bool](bo, `document.querySelector('#channel-topic .mention.self')?.textContent === '@bob'`) {
			t.Errorf("bob's header: the topic's mention of him is %q", eval[string](bo, `document.getElementById('channel-topic').innerHTML`))
		}
		var info struct {
			Channel struct{ Topic, Purpose struct{ Value string } }
		}
		call(t, c.alice, "conversations.info", url.Values{"channel": {c.general}}, &info)
		if info.Channel.Topic.Value != "Deploys at 3pm &lt;b onmouseover=\"window.pwned=8\"&gt;sharp&lt;/b&gt;, ask <@"+userID(t, c.alice, "bob")+">" ||
			info.Channel.Purpose.Value != "Releases &amp; incidents" {
			t.Errorf("on the server: topic %q, purpose %q", info.Channel.Topic.Value, info.Channel.Purpose.Value)
		}
		// A reload reads it from conversations.list.
		bo.do(chromedp.Reload())
		bo.wait("the topic after a reload", jsLive+fmt.Sprintf(` && document.getElementById('channel-topic').textContent === %q`, shown), jsBody, 10*time.Second)
		// The group DM bob read only briefly was marked read when he left it.
		boAPI := &client.API{Base: c.alice.Base, Token: eval[string](bo, `localStorage.getItem('ringcast.token')`)}
		var info2 struct {
			Channel struct {
				UnreadDisplay int `json:"unread_count_display"`
			}
		}
		call(t, boAPI, "conversations.info", url.Values{"channel": {group}}, &info2)
		if info2.Channel.UnreadDisplay != 0 {
			t.Errorf("the group DM bob read has %d unread for him", info2.Channel.UnreadDisplay)
		}
		bo.shot("topic")
	})

	step(t, "archive", func() {
		// Alice joins bob's #random-things again; both look at it.
		var random struct{ Channel struct{ ID string } }
		call(t, c.alice, "conversations.join", url.Values{"channel": {eval[string](bo, `[...document.querySelectorAll('#channel-list a')].find(a => a.textContent === '#random-things').getAttribute('href').slice(1)`)}}, &random)
		randomSel := `#channel-list a[href="#` + random.Channel.ID + `"]`
		for _, p := range []*page{a, bo} {
			p.wait("#random-things in the sidebar", `document.querySelector('`+randomSel+`')`, jsSidebar, 10*time.Second)
			p.do(chromedp.Click(chromedp.CSS(randomSel)))
			p.wait("#random-things", jsChannel+` === '#random-things' && !document.getElementById('composer-input').disabled`, jsBody, 5*time.Second)
		}
		// Bob's gateway stalls: his page hears nothing while alice archives
		// the channel, and posts into it as if it were not.
		if err := c.n2.Freeze(); err != nil {
			t.Fatal(err)
		}
		thawed := false
		defer func() {
			if !thawed {
				c.n2.Thaw()
			}
		}()
		a.do(chromedp.Click(chromedp.ID("details-button")))
		a.wait("the archive button", `document.getElementById('archive-button').textContent === 'Archive the channel'`, `document.getElementById('details-dialog').innerText`, 5*time.Second)
		a.do(chromedp.Click(chromedp.ID("archive-button")))
		a.wait("alice's composer off, with the note", `document.getElementById('composer-input').disabled && !document.getElementById('archived-note').hidden && document.getElementById('details-dialog').open === false`,
			`document.getElementById('archived-note').outerHTML`, 10*time.Second)
		bo.send("is anyone still here?")
		bo.wait("pending", `document.querySelector('#message-list .msg.pending')`, jsBody, 5*time.Second)
		thawed = true
		if err := c.n2.Thaw(); err != nil {
			t.Fatal(err)
		}
		// The server refuses it, and bob's page says why; his composer is
		// off, with the note, and the sidebar says archived.
		bo.wait("refused: archived", `document.querySelector('#message-list .msg.failed .state')?.textContent === 'Not sent: the channel is archived. Retry'`, jsBody, 15*time.Second)
		bo.wait("bob's composer off, with the note", `document.getElementById('composer-input').disabled && document.getElementById('send-button').disabled && document.getElementById('archived-text').textContent.includes('#random-things, an archived channel')`,
			`document.getElementById('archived-note').outerHTML`, 10*time.Second)
		for _, p := range []*page{a, bo} {
			p.waitMessage("@alice archived the channel", 5*time.Second)
			p.wait("archived in the sidebar", `document.querySelector('`+randomSel+`').textContent === '#random-thingsarchived'`, jsSidebar, 5*time.Second)
			if n := eval[int](p, `document.querySelectorAll('#message-list .msg .actions').length`); n != 0 {
				t.Errorf("%s: %d messages of an archived channel offer actions", p.name, n)
			}
		}
		var hist struct{ Messages []struct{ Text string } }
		call(t, c.alice, "conversations.history", url.Values{"channel": {random.Channel.ID}, "limit": {"1"}}, &hist)
		if len(hist.Messages) != 1 || !strings.HasSuffix(hist.Messages[0].Text, "> archived the channel") {
			t.Errorf("#random-things' last message: %+v, want the archive's", hist.Messages)
		}
		bo.shot("archived")
		// Bob unarchives it from the note; alice can post again, live, and
		// bob's retry goes through.
		bo.do(chromedp.Click(chromedp.ID("unarchive-button")))
		a.wait("alice's composer on again", `!document.getElementById('composer-input').disabled && document.getElementById('archived-note').hidden && !document.querySelector('`+randomSel+`').textContent.includes('archived')`,
			`document.getElementById('archived-note').outerHTML`, 10*time.Second)
		a.waitMessage("@bob un-archived the channel", 5*time.Second)
		bo.wait("bob's composer on again", `!document.getElementById('composer-input').disabled && document.getElementById('archived-note').hidden`, jsBody, 10*time.Second)
		bo.do(chromedp.Click(chromedp.CSS(`#message-list .msg.failed button.retry`)))
		a.waitMessage("is anyone still here?", 5*time.Second)
		a.send("I am.")
		bo.waitMessage("I am.", 5*time.Second)
		// Alice renames it in its details; bob's page follows live. A name
		// in use is refused, and said so.
		a.do(chromedp.Click(chromedp.ID("details-button")))
		a.wait("the details", `document.getElementById('name-input').value === 'random-things'`, `document.getElementById('details-dialog').innerText`, 5*time.Second)
		a.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('name-input').value = ''`), chromedp.SendKeys(chromedp.ID("name-input"), "general"), chromedp.Click(chromedp.CSS(`#details-form button[type=submit]`)))
		a.wait("name_taken said", `document.getElementById('details-error').textContent === 'That name is already taken.'`, `document.getElementById('details-dialog').innerText`, 5*time.Second)
		a.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('name-input').value = ''`), chromedp.SendKeys(chromedp.ID("name-input"), "Launch Day"), chromedp.Click(chromedp.CSS(`#details-form button[type=submit]`)))
		for _, p := range []*page{a, bo} {
			p.wait("#launch-day", jsChannel+` === '#launch-day' && document.querySelector('`+randomSel+`').textContent === '#launch-day'`, jsSidebar, 5*time.Second)
			p.waitMessage(`@alice renamed the channel to "launch-day"`, 5*time.Second)
		}
		for _, p := range []*page{a, bo} {
			p.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
			p.wait("general", jsChannel+` === '#general'`, jsBody, 5*time.Second)
		}
	})

	step(t, "private, browse, drafts", func() {
		// Bob makes a private channel: a lock, not a #, and alice's
		// browser does not offer it; it offers carol's public one, with
		// its purpose.
		bo.do(chromedp.Click(chromedp.ID("add-channel")))
		bo.wait("the dialog", `document.getElementById('channel-dialog').open`, jsBody, 5*time.Second)
		bo.do(chromedp.SendKeys(chromedp.ID("create-name"), "ops-oncall"), chromedp.Click(chromedp.ID("create-private")), chromedp.Focus(chromedp.ID("create-name")), enter())
		bo.wait("#ops-oncall, private", jsChannel+` === '🔒ops-oncall' && document.querySelector('#channel-title [aria-label=private]') && document.querySelector('#channel-list a[aria-current] [aria-label=private]')`, jsBody, 5*time.Second)
		var design struct{ Channel struct{ ID string } }
		call(t, carol, "conversations.create", url.Values{"name": {"design"}}, &design)
		call(t, carol, "conversations.setPurpose", url.Values{"channel": {design.Channel.ID}, "purpose": {"Mockups & reviews"}}, nil)
		a.do(chromedp.Click(chromedp.ID("add-channel")))
		a.wait("the channels to join", `document.querySelector('#browse-list button[aria-label="Join #design"]')`, `document.getElementById('browse-list').innerText`, 5*time.Second)
		if got := eval[[]string](a, `[...document.querySelectorAll('#browse-list li')].map(li => li.innerText.replace(/\s+/g, ' ').trim())`); !slices.Equal(got, []string{"#design Mockups & reviews Join"}) {
			t.Errorf("alice may join %q, want only #design with its purpose", got)
		}
		a.do(chromedp.Click(chromedp.ID("dialog-close")))
		bo.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		bo.wait("general", jsChannel+` === '#general'`, jsBody, 5*time.Second)

		// What alice typed in #general and did not send stays with it.
		a.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent("half a thought"))
		a.do(chromedp.Click(chromedp.CSS(`#dm-list a[href="#` + group + `"]`)))
		a.wait("the group DM, its composer empty", jsChannel+`.trim() === 'bob, carol' && document.getElementById('composer-input').value === ''`, `document.getElementById('composer-input').value`, 5*time.Second)
		a.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		a.wait("#general, the draft back", jsChannel+` === '#general' && document.getElementById('composer-input').value === 'half a thought'`, `document.getElementById('composer-input').value`, 5*time.Second)
		// Sent, it is a code block: its markup as text.
		a.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent(":"), enter(chromedp.ModifierShift), chromedp.KeyEvent("```"), enter(chromedp.ModifierShift),
			chromedp.KeyEvent("make deploy ENV=<prod> && echo ok"), enter(chromedp.ModifierShift), chromedp.KeyEvent("```"), enter())
		bo.waitMessage("half a thought:\nmake deploy ENV=<prod> && echo ok\n", 5*time.Second)
		if got := eval[string](bo, `[...document.querySelectorAll('#message-list .msg .text')].at(-1).querySelector('pre > code')?.textContent ?? ''`); got != "make deploy ENV=<prod> && echo ok\n" {
			t.Errorf("the code block shows %q", got)
		}
		bo.shot("code-block")
	})

	step(t, "keyboard in the messages", func() {
		// The messages are one tab stop: Shift+Tab from the composer goes
		// to the list, not through every message's buttons.
		a.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		if got := eval[string](a, `document.activeElement.id`); got != "messages" {
			t.Fatalf("Shift+Tab from the composer: focus on %s, want the messages", eval[string](a, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		// Up goes to the last message, again to the one before, down back;
		// Tab to its first control: react, whose picker takes the keyboard too.
		a.do(chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowUp))
		if !eval[bool](a, `document.activeElement === [...document.querySelectorAll('#message-list li.msg')].at(-2) && document.activeElement.matches(':focus-visible')`) {
			t.Fatalf("two up arrows: focus on %s, want the last message but one, visibly", eval[string](a, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		a.do(chromedp.KeyEvent(kb.ArrowDown))
		want := `[...document.querySelectorAll('#message-list li.msg')].at(-1)`
		if !eval[bool](a, `document.activeElement === `+want) {
			t.Fatalf("down: focus on %s, want the last message", eval[string](a, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		text := eval[string](a, want+`.querySelector('.text').textContent`)
		a.do(chromedp.KeyEvent(kb.Tab))
		if !eval[bool](a, `document.activeElement.dataset.act === 'pick' && `+want+`.contains(document.activeElement) && getComputedStyle(document.activeElement.closest('.actions')).opacity === '1'`) {
			t.Fatalf("Tab from a message: focus on %s, want its visible react button", eval[string](a, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		a.do(enter())
		a.wait("the picker, focused", `document.activeElement?.closest('.picker') && document.activeElement.dataset.name === '+1'`, `document.activeElement?.outerHTML`, 5*time.Second)
		a.do(enter())
		bsel := msgSel(bo, text)
		bo.wait("alice's 👍 by keyboard", `document.querySelector(`+"`"+bsel+` button.reaction[data-name="+1"]`+"`"+`)?.textContent === '👍1'`, `document.querySelector(`+"`"+bsel+"`"+`).innerText`, 5*time.Second)
		// Only the focused message's controls are tab stops.
		if n := eval[int](a, `[...document.querySelectorAll('#message-list li.msg :is(button, a[href])')].filter(e => e.tabIndex >= 0).length`); n > 8 {
			t.Errorf("%d tab stops among the messages, want only the focused one's", n)
		}
		a.shot("keyboard-react")
		a.do(chromedp.Focus(chromedp.ID("composer-input")))
	})

	step(t, "mention picker", func() {
		// @ and the start of a name lists people, the channel's members
		// first; arrows choose, Enter and Tab put the name in (and send
		// nothing), and the mention goes out as one.
		options := `[...document.querySelectorAll('#composer-input-mentions li')].map(li => li.textContent + (li.getAttribute('aria-selected') === 'true' ? '*' : '')).join(', ')`
		bo.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.KeyEvent("Thanks @c"))
		bo.wait("ci, then carol", options+` === 'ci*, carol'`, options, 5*time.Second)
		bo.shot("mention-picker")
		bo.do(chromedp.KeyEvent(kb.ArrowDown))
		bo.wait("carol chosen", options+` === 'ci, carol*'`, options, 5*time.Second)
		bo.do(enter())
		bo.wait("@carol in", `document.getElementById('composer-input').value === 'Thanks @carol ' && document.getElementById('composer-input-mentions').hidden`,
			`document.getElementById('composer-input').value`, 5*time.Second)
		// The caret moved away from the name closes the list; back, it opens.
		bo.do(chromedp.KeyEvent("and @al"))
		bo.wait("alice", options+` === 'alice*'`, options, 5*time.Second)
		bo.do(chromedp.KeyEvent(kb.Home))
		bo.wait("the list closed", `document.getElementById('composer-input-mentions').hidden`, options, 5*time.Second)
		bo.do(chromedp.KeyEvent(kb.End))
		bo.wait("alice again", options+` === 'alice*'`, options, 5*time.Second)
		bo.do(chromedp.KeyEvent(kb.Tab))
		bo.wait("@alice in", `document.getElementById('composer-input').value === 'Thanks @carol and @alice ' && document.activeElement.id === 'composer-input'`,
			`document.getElementById('composer-input').value`, 5*time.Second)
		bo.do(chromedp.KeyEvent("for the pager"), enter())
		a.waitMessage("Thanks @carol and @alice for the pager", 5*time.Second)
		if got := eval[string](a, `[...document.querySelectorAll('#message-list .msg .text')].at(-1).querySelectorAll('.mention').length + ' ' + [...document.querySelectorAll('#message-list .msg .text')].at(-1).querySelector('.mention.self')?.textContent`); got != "2 @alice" {
			t.Errorf("alice's page shows the mentions as %q, want 2, hers highlighted", got)
		}
	})

	step(t, "edit a reply", func() {
		// Both open the thread; bob replies, then up-arrow in the thread's
		// composer edits his reply there (not in the channel's composer).
		threadTexts := `[...document.querySelectorAll('#thread-list .msg:not(.pending):not(.failed) .text')].map(e => e.textContent)`
		for _, p := range []*page{a, bo} {
			p.do(chromedp.Click(chromedp.CSS(msgSel(p, "Canary is green.") + ` button.replies`)))
			p.wait("the thread", threadTexts+`.includes('All green at 100%.')`, threadTexts, 5*time.Second)
		}
		bo.do(chromedp.Focus(chromedp.ID("thread-input")), chromedp.KeyEvent("Rollback plan: non"), enter())
		a.wait("bob's reply", threadTexts+`.includes('Rollback plan: non')`, threadTexts, 5*time.Second)
		bo.wait("bob's reply acked", threadTexts+`.includes('Rollback plan: non')`, threadTexts, 5*time.Second)
		bo.do(chromedp.KeyEvent(kb.ArrowUp))
		bo.wait("the reply in the thread's composer", `document.getElementById('thread-input').value === 'Rollback plan: non' && !document.getElementById('thread-editing').hidden
			&& document.getElementById('editing').hidden && document.getElementById('thread-send').textContent === 'Save' && document.querySelector('#thread-list .msg.editing')`,
			`document.getElementById('thread').innerText`, 5*time.Second)
		bo.shot("edit-reply")
		bo.do(chromedp.KeyEvent("e needed."), enter())
		for _, p := range []*page{a, bo} {
			p.wait("the reply edited", threadTexts+`.includes('Rollback plan: none needed. (edited)')`, threadTexts, 5*time.Second)
		}
		if got := eval[string](bo, `document.getElementById('thread-input').value + '|' + document.getElementById('thread-editing').hidden`); got != "|true" {
			t.Errorf("after saving, bob's thread composer: %q", got)
		}
		// Escape closes the panel when nothing is being edited.
		bo.do(chromedp.KeyEvent(kb.Escape))
		bo.wait("bob's panel closed", `document.getElementById('thread').hidden`, jsBody, 5*time.Second)
		a.do(chromedp.Click(chromedp.ID("thread-close")))
		if got := texts(a); slices.Contains(got, "Rollback plan: none needed. (edited)") {
			t.Errorf("a reply shows in the channel: %q", got[len(got)-3:])
		}
	})

	step(t, "close a dm", func() {
		a.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		a.wait("general", jsChannel+` === '#general'`, jsBody, 5*time.Second)
		// Alice closes the group DM (from another client of hers): it
		// leaves her sidebar at once.
		listed := `!!document.querySelector('#dm-list a[href="#` + group + `"]')`
		call(t, c.alice, "conversations.close", url.Values{"channel": {group}}, nil)
		a.wait("the closed group DM gone from alice's sidebar", `!`+listed, jsSidebar, 5*time.Second)
		// A new message in it shows it again, unread, until she read it.
		call(t, carol, "chat.postMessage", url.Values{"channel": {group}, "text": {"group: pager handed over"}}, nil)
		a.wait("the closed group DM back, 1 unread", jsSidebar+`.includes('bob, carol 1')`, jsSidebar, 10*time.Second)
		a.do(chromedp.Click(chromedp.CSS(`#dm-list a[href="#` + group + `"]`)))
		a.waitMessage("group: pager handed over", 5*time.Second)
		a.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		a.wait("read and closed, gone again", jsChannel+` === '#general' && !`+listed, jsSidebar, 5*time.Second)
		// Opened again (conversations.open): back, live.
		call(t, c.alice, "conversations.open", url.Values{"channel": {group}}, nil)
		a.wait("the reopened group DM", listed, jsSidebar, 5*time.Second)
	})

	step(t, "phone", func() {
		bo.viewport(phoneW, phoneH)
		defer bo.viewport(deskW, deskH)
		bo.wait("the last message still in view", `(() => { const s = document.getElementById('messages').getBoundingClientRect();
			const m = [...document.querySelectorAll('#message-list .msg')].at(-1).getBoundingClientRect();
			return m.bottom <= s.bottom + 1 && m.top >= s.top; })()`, `document.getElementById('messages').scrollTop`, 5*time.Second)
		if eval[bool](bo, `document.documentElement.scrollWidth > innerWidth`) {
			t.Error("the page is wider than a phone")
		}
		if eval[bool](bo, `getComputedStyle(document.getElementById('sidebar')).visibility === 'visible'`) {
			t.Error("the sidebar shows on a phone before it is asked for")
		}
		bo.do(chromedp.Click(chromedp.ID("menu-button")))
		bo.wait("the sidebar drawer", `getComputedStyle(document.getElementById('sidebar')).visibility === 'visible' && document.getElementById('sidebar').getBoundingClientRect().left === 0`, `document.getElementById('sidebar').getBoundingClientRect().left`, 5*time.Second)
		bo.shot("phone-drawer")
		bo.do(chromedp.Click(chromedp.CSS(`#channel-list a[href="#` + c.general + `"]`)))
		bo.wait("the drawer closed", `getComputedStyle(document.getElementById('sidebar')).visibility !== 'visible'`, `document.body.className + ' ' + location.hash + ' ' + getComputedStyle(document.getElementById('sidebar')).visibility + ' ' + innerWidth`, 5*time.Second)
		bo.send("from my phone")
		a.waitMessage("from my phone", 5*time.Second)
		r := eval[map[string]float64](bo, `(() => { const r = document.getElementById('composer').getBoundingClientRect(); return {left: r.left, right: r.right, bottom: r.bottom}; })()`)
		if r["left"] < 0 || r["right"] > phoneW || r["bottom"] > phoneH {
			t.Errorf("the composer is off screen on a phone: %v", r)
		}
	})

	step(t, "reconnect", func() {
		// Bob's gateway dies and his API node stalls: his page cannot
		// reconnect for a while.
		bo.netOK.Store(true)
		if err := c.n3.Freeze(); err != nil {
			t.Fatal(err)
		}
		c.n2.Kill()
		bo.wait("reconnecting", `document.getElementById('banner').dataset.state === 'reconnecting'`, `document.getElementById('banner').dataset.state`, 15*time.Second)
		bo.send("sent while away")
		bo.wait("pending", `document.querySelector('#message-list .msg.pending')`, jsBody, 5*time.Second)
		for i := 1; i <= 3; i++ {
			a.send(fmt.Sprintf("meanwhile %d", i))
		}
		a.waitMessage("meanwhile 3", 5*time.Second)
		bo.wait("failed, with retry", `document.querySelector('#message-list .msg.failed button.retry')`, jsBody, 15*time.Second)
		bo.shot("failed")
		a.do(chromedp.Click(chromedp.ID("members-button")))
		a.wait("bob away", memberActive("bob", false), `document.getElementById('members').innerText`, 15*time.Second)

		// web-3 runs again; web-1 is the only gateway: bob's page reconnects
		// by itself and catches up, in order, once.
		if err := c.n3.Thaw(); err != nil {
			t.Fatal(err)
		}
		bo.wait("live again", jsLive, `document.getElementById('banner').dataset.state`, 30*time.Second)
		bo.waitMessage("meanwhile 3", 10*time.Second)
		c.waitStatus(c.n1, "both sessions", func(st node.Status) bool { return st.Sessions == 2 })
		got := texts(bo)
		i := slices.Index(got, "from my phone")
		if want := []string{"from my phone", "meanwhile 1", "meanwhile 2", "meanwhile 3"}; i < 0 || !slices.Equal(got[i:], want) {
			t.Errorf("after the reconnect bob shows %q, want %q", got[max(0, len(got)-6):], want)
		}
		if dup := duplicates(got); len(dup) > 0 {
			t.Errorf("shown twice: %q", dup)
		}
		a.wait("bob active again", memberActive("bob", true), `document.getElementById('members').innerText`, 15*time.Second)

		bo.do(chromedp.Click(chromedp.CSS(`#message-list .msg.failed button.retry`)))
		a.waitMessage("sent while away", 10*time.Second)
		bo.waitMessage("sent while away", 10*time.Second)
		bo.wait("nothing pending or failed", `!document.querySelector('#message-list .msg:is(.pending, .failed)')`, jsBody, 5*time.Second)
		for _, p := range []*page{a, bo} {
			if got := texts(p); slices.Index(got, "sent while away") != len(got)-1 || len(duplicates(got)) > 0 {
				t.Errorf("%s: the retried message is not shown once, last: %q", p.name, got[len(got)-5:])
			}
		}
		bo.shot("reconnected")
		a.shot("reconnected")
	})

	step(t, "sign out", func() {
		a.do(chromedp.Click(chromedp.ID("signout-button")))
		a.wait("the sign-in form", `!document.getElementById('signin').hidden && document.getElementById('app').hidden && !localStorage.getItem('ringcast.token')`, jsBody, 10*time.Second)
		// web-1 runs with --dev: its sign-in offers everyone by name. The
		// tab signs in as carol by picking her, and has her group DM.
		a.wait("carol to pick", `document.querySelector('#dev-users button[aria-label="Sign in as carol"]')`, jsBody, 10*time.Second)
		a.do(chromedp.Click(chromedp.CSS(`#dev-users button[aria-label="Sign in as carol"]`)))
		a.wait("carol, live, with the group DM", jsLive+` && document.querySelector('#self .name')?.textContent === 'carol' && `+jsSidebar+`.includes('alice, bob')`, jsSidebar, 10*time.Second)
	})
}

// userID answers the id of the user called name (users.list).
func userID(t *testing.T, api *client.API, name string) string {
	t.Helper()
	var list struct{ Members []struct{ ID, Name string } }
	call(t, api, "users.list", nil, &list)
	for _, u := range list.Members {
		if u.Name == name {
			return u.ID
		}
	}
	t.Fatalf("no user %q", name)
	return ""
}

// msgSel answers a CSS selector of the message of the channel shown
// whose text is text.
func msgSel(p *page, text string) string {
	p.t.Helper()
	ts := eval[string](p, fmt.Sprintf(`[...document.querySelectorAll('#message-list .msg')].find(li => li.querySelector('.text').textContent === %q)?.dataset.ts ?? ''`, text))
	if ts == "" {
		p.t.Fatalf("%s: no message %q", p.name, text)
	}
	return fmt.Sprintf(`#message-list li[data-ts="%s"]`, ts)
}

// memberActive: the member list shows name with an active (or away) dot.
func memberActive(name string, active bool) string {
	state := "away"
	if active {
		state = "active"
	}
	return fmt.Sprintf(`[...document.querySelectorAll('#member-list li')].some(li => li.querySelector('.name').textContent === %q && li.querySelector('.dot.%s'))`, name, state)
}

// jsUnnamed lists the visible controls with no accessible name.
const jsUnnamed = `[...document.querySelectorAll('button, input, textarea, select, a[href], [tabindex]')]
	.filter(e => e.offsetParent !== null || e.closest('dialog[open]'))
	.filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.getAttribute('aria-labelledby') || e.textContent.trim() || e.title))
	.map(e => e.outerHTML.slice(0, 120))`

func duplicates(xs []string) []string {
	seen := map[string]bool{}
	var dup []string
	for _, x := range xs {
		if seen[x] {
			dup = append(dup, x)
		}
		seen[x] = true
	}
	return dup
}

// step runs one part of a test that goes on from the state the last left
// (so not a subtest: a failure ends the test).
func step(t *testing.T, name string, f func()) {
	t.Helper()
	start := time.Now()
	f()
	t.Logf("step %s: %v", name, time.Since(start).Round(time.Millisecond))
}
