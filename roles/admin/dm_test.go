package admin_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
)

// conv is the part of a conversation object the tests read.
type conv struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	User               string `json:"user"`
	Created            int64  `json:"created"`
	IsIM               bool   `json:"is_im"`
	IsMPIM             bool   `json:"is_mpim"`
	IsChannel          bool   `json:"is_channel"`
	IsGroup            bool   `json:"is_group"`
	IsPrivate          bool   `json:"is_private"`
	IsMember           bool   `json:"is_member"`
	LastRead           string `json:"last_read"`
	UnreadCount        *int   `json:"unread_count"`
	UnreadCountDisplay *int   `json:"unread_count_display"`
}

type openRes struct {
	Channel     conv `json:"channel"`
	NoOp        bool `json:"no_op"`
	AlreadyOpen bool `json:"already_open"`
}

// dmEnv is setup's env with a third person, carol.
type dmEnv struct {
	*env
	bobID, carolID string
	carol          *client.API
}

func setupDM(t *testing.T) *dmEnv {
	e := &dmEnv{env: setup(t)}
	var res struct {
		UserID string `json:"user_id"`
	}
	e.ok(e.bob, "auth.test", nil, &res)
	e.bobID = res.UserID
	e.carol, e.carolID = e.c.User("carol")
	return e
}

// convIDs lists a user's conversations of types, every page (limit 1).
func (e *env) convIDs(api *client.API, method, types string, extra url.Values) []string {
	e.t.Helper()
	var ids []string
	cursor := ""
	for range 100 {
		args := url.Values{"types": {types}, "limit": {"1"}, "cursor": {cursor}}
		for k, v := range extra {
			args[k] = v
		}
		var res struct {
			Channels []conv
			Meta     struct {
				Next string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		e.ok(api, method, args, &res)
		for _, c := range res.Channels {
			ids = append(ids, c.ID)
		}
		if cursor = res.Meta.Next; cursor == "" {
			return ids
		}
		if len(res.Channels) == 0 {
			e.t.Fatalf("%s: an empty page with a cursor", method)
		}
	}
	e.t.Fatalf("%s never ended", method)
	return nil
}

func TestOpenDM(t *testing.T) {
	e := setupDM(t)
	var first openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &first)
	if !strings.HasPrefix(first.Channel.ID, "D") || first.NoOp || first.AlreadyOpen || first.Channel.IsIM {
		t.Fatalf("first open = %+v: want a bare new D… id", first)
	}
	// The same two people, either asking, in any form: the same one.
	for _, tt := range []struct {
		api  *client.API
		args url.Values
	}{
		{e.alice, url.Values{"users": {e.bobID}}},
		{e.bob, url.Values{"users": {e.aliceID}}},
		{e.bob, url.Values{"users": {fmt.Sprintf(`["%s","%s"]`, e.aliceID, e.bobID)}}},
		{e.alice, url.Values{"channel": {first.Channel.ID}}},
	} {
		var again openRes
		e.ok(tt.api, "conversations.open", tt.args, &again)
		if again.Channel.ID != first.Channel.ID || !again.NoOp || !again.AlreadyOpen {
			t.Fatalf("open %v = %+v, want %s with no_op and already_open", tt.args, again, first.Channel.ID)
		}
	}
	// return_im: the whole IM object, as each of the two sees it.
	var full openRes
	e.ok(e.bob, "conversations.open", url.Values{"users": {e.aliceID}, "return_im": {"true"}}, &full)
	if c := full.Channel; c.ID != first.Channel.ID || !c.IsIM || c.User != e.aliceID || c.Created == 0 || c.IsMPIM {
		t.Fatalf("return_im = %+v", c)
	}
	var raw map[string]any
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}, "return_im": {"1"}}, &raw)
	im := raw["channel"].(map[string]any)
	for k, want := range map[string]any{"id": first.Channel.ID, "is_im": true, "user": e.bobID, "is_org_shared": false,
		"is_user_deleted": false, "priority": float64(0)} {
		if im[k] != want {
			t.Fatalf("IM object %s = %v, want %v (%v)", k, im[k], want, im)
		}
	}

	// A group: always the whole object.
	var group openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID + "," + e.carolID}}, &group)
	g := group.Channel
	if !strings.HasPrefix(g.ID, "G") || !g.IsMPIM || !g.IsGroup || g.IsChannel || !g.IsPrivate || !g.IsMember || g.IsIM ||
		g.Name != "mpdm-"+strings.Join(sortedNames(e, e.aliceID, e.bobID, e.carolID), "--")+"-1" {
		t.Fatalf("group open = %+v", group)
	}
	var g2 openRes
	e.ok(e.carol, "conversations.open", url.Values{"users": {e.bobID + "," + e.aliceID}}, &g2)
	if g2.Channel.ID != g.ID || !g2.NoOp {
		t.Fatalf("carol's open of the same group = %+v", g2)
	}
	// Messages go both ways in the DM.
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {first.Channel.ID}, "text": {"psst"}}, nil)
	var h struct{ Messages []struct{ Text string } }
	e.ok(e.alice, "conversations.history", url.Values{"channel": {first.Channel.ID}}, &h)
	if len(h.Messages) != 1 || h.Messages[0].Text != "psst" {
		t.Fatalf("DM history = %+v", h)
	}
}

// sortedNames are the users' names in the order of their ids.
func sortedNames(e *dmEnv, ids ...string) []string {
	names := map[string]string{e.aliceID: "alice", e.bobID: "bob", e.carolID: "carol"}
	slices.Sort(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = names[id]
	}
	return out
}

func TestOpenDMErrorsChangeNothing(t *testing.T) {
	e := setupDM(t)
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	nine := []string{}
	for i := range 9 {
		nine = append(nine, fmt.Sprintf("U%010d", i))
	}
	for _, tt := range []struct {
		api  *client.API
		args url.Values
		code string
	}{
		{e.alice, nil, "users_list_not_supplied"},
		{e.alice, url.Values{"users": {","}}, "users_list_not_supplied"},
		{e.alice, url.Values{"users": {e.aliceID}}, "not_enough_users"},
		{e.alice, url.Values{"users": {strings.Join(nine, ",")}}, "too_many_users"},
		{e.alice, url.Values{"users": {"UNOSUCH"}}, "user_not_found"},
		{e.alice, url.Values{"users": {e.bobID + ",UNOSUCH"}}, "user_not_found"},
		{e.alice, url.Values{"users": {`["` + e.bobID}}, "invalid_array_arg"},
		{e.alice, url.Values{"users": {e.bobID}, "return_im": {"maybe"}}, "invalid_arguments"},
		{e.carol, url.Values{"channel": {dm.Channel.ID}}, "channel_not_found"}, // not hers
		{e.alice, url.Values{"channel": {"DNOSUCH"}}, "channel_not_found"},
		{e.bob, url.Values{"channel": {e.ch}}, "method_not_supported_for_channel_type"},
	} {
		e.fails(tt.api, "conversations.open", tt.args, tt.code)
	}
	// Nothing was created: alice has her one DM, carol none.
	if ids := e.convIDs(e.alice, "users.conversations", "im,mpim", nil); !slices.Equal(ids, []string{dm.Channel.ID}) {
		t.Fatalf("alice's DMs = %v", ids)
	}
	if ids := e.convIDs(e.carol, "users.conversations", "im,mpim", nil); len(ids) != 0 {
		t.Fatalf("carol's DMs = %v", ids)
	}
}

// TestDMIsPrivate: to anyone not in it a DM does not exist; its members
// cannot change who is in it.
func TestDMIsPrivate(t *testing.T) {
	e := setupDM(t)
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	id := dm.Channel.ID
	e.ok(e.alice, "chat.postMessage", url.Values{"channel": {id}, "text": {"just us"}}, nil)
	for _, call := range []struct {
		method string
		args   url.Values
	}{
		{"conversations.info", nil},
		{"conversations.members", nil},
		{"conversations.history", nil},
		{"conversations.join", nil},
		{"conversations.leave", nil},
		{"conversations.invite", url.Values{"users": {e.carolID}}},
		{"conversations.mark", url.Values{"ts": {"1700000000.000100"}}},
		{"conversations.open", nil},
		{"chat.postMessage", url.Values{"text": {"hello?"}}},
		{"chat.getPermalink", url.Values{"message_ts": {"1700000000.000100"}}},
	} {
		args := url.Values{"channel": {id}}
		for k, v := range call.args {
			args[k] = v
		}
		e.fails(e.carol, call.method, args, "channel_not_found")
	}
	// A member cannot leave a DM or bring someone in.
	e.fails(e.alice, "conversations.leave", url.Values{"channel": {id}}, "method_not_supported_for_channel_type")
	e.fails(e.alice, "conversations.invite", url.Values{"channel": {id}, "users": {e.carolID}}, "method_not_supported_for_channel_type")
	e.fails(e.alice, "conversations.join", url.Values{"channel": {id}}, "method_not_supported_for_channel_type")
	for _, types := range []string{"im", "im,mpim,public_channel,private_channel"} {
		if ids := e.convIDs(e.carol, "conversations.list", types, nil); slices.Contains(ids, id) {
			t.Fatalf("carol's conversations.list types=%s shows the DM", types)
		}
	}
	if ids := e.convIDs(e.carol, "users.conversations", "im", url.Values{"user": {e.aliceID}}); len(ids) != 0 {
		t.Fatalf("carol sees alice's DMs: %v", ids)
	}
	var members struct{ Members []string }
	e.ok(e.alice, "conversations.members", url.Values{"channel": {id}}, &members)
	if want := sortedIDs(e.aliceID, e.bobID); !slices.Equal(members.Members, want) {
		t.Fatalf("members = %v, want %v", members.Members, want)
	}
	var h struct{ Messages []any }
	e.ok(e.bob, "conversations.history", url.Values{"channel": {id}}, &h)
	if len(h.Messages) != 1 {
		t.Fatalf("DM has %d messages, want 1", len(h.Messages))
	}
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestConversationTypes: conversations.list and users.conversations give
// exactly the types asked for, across pages (limit 1).
func TestConversationTypes(t *testing.T) {
	e := setupDM(t)
	var res struct {
		Channel struct{ ID string } `json:"channel"`
	}
	e.ok(e.alice, "conversations.create", url.Values{"name": {"alices"}}, &res)
	public := res.Channel.ID
	e.ok(e.alice, "conversations.create", url.Values{"name": {"hush"}, "is_private": {"true"}}, &res)
	private := res.Channel.ID
	var im, im2, mpim openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &im)
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.carolID}}, &im2)
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID + "," + e.carolID}}, &mpim)
	ims := sortedIDs(im.Channel.ID, im2.Channel.ID)

	for _, tt := range []struct {
		method, types string
		want          []string
	}{
		{"conversations.list", "", sortedIDs(e.ch, public)},
		{"conversations.list", "public_channel", sortedIDs(e.ch, public)},
		{"conversations.list", "private_channel", []string{private}},
		{"conversations.list", "im", ims},
		{"conversations.list", "mpim", []string{mpim.Channel.ID}},
		{"conversations.list", "im,mpim", append(slices.Clone(ims), mpim.Channel.ID)},
		{"conversations.list", "public_channel,private_channel,mpim,im", append(sortedIDs(e.ch, public, private), append(slices.Clone(ims), mpim.Channel.ID)...)},
		{"users.conversations", "", []string{public}},
		{"users.conversations", "private_channel,public_channel", sortedIDs(public, private)},
		{"users.conversations", "im", ims},
		{"users.conversations", "mpim,im", append(slices.Clone(ims), mpim.Channel.ID)},
		{"users.conversations", "im,mpim,private_channel,public_channel", append(sortedIDs(public, private), append(slices.Clone(ims), mpim.Channel.ID)...)},
	} {
		if got := e.convIDs(e.alice, tt.method, tt.types, nil); !slices.Equal(got, tt.want) {
			t.Errorf("%s types=%q = %v, want %v", tt.method, tt.types, got, tt.want)
		}
	}
	// Another user's: what the caller may see of them. Bob is in general
	// (public) and both DMs with alice; carol sees general only... and
	// the group DM she is in too.
	all := "im,mpim,private_channel,public_channel"
	if got, want := e.convIDs(e.carol, "users.conversations", all, url.Values{"user": {e.bobID}}), []string{e.ch, mpim.Channel.ID}; !slices.Equal(got, want) {
		t.Errorf("carol's view of bob's conversations = %v, want %v", got, want)
	}
	if got, want := e.convIDs(e.bob, "users.conversations", all, url.Values{"user": {e.aliceID}}), []string{public, im.Channel.ID, mpim.Channel.ID}; !slices.Equal(got, want) {
		t.Errorf("bob's view of alice's conversations = %v, want %v", got, want)
	}
	// The objects say what they are.
	var list struct{ Channels []conv }
	e.ok(e.alice, "users.conversations", url.Values{"types": {all}}, &list)
	for _, c := range list.Channels {
		switch c.ID {
		case im.Channel.ID:
			if !c.IsIM || c.User != e.bobID {
				t.Errorf("im = %+v", c)
			}
		case mpim.Channel.ID:
			if !c.IsMPIM || !c.IsMember || !strings.HasPrefix(c.Name, "mpdm-") {
				t.Errorf("mpim = %+v", c)
			}
		case public:
			if !c.IsChannel || c.IsPrivate || !c.IsMember || c.Name != "alices" {
				t.Errorf("public = %+v", c)
			}
		}
	}
	for _, tt := range []struct {
		method string
		args   url.Values
		code   string
	}{
		{"conversations.list", url.Values{"types": {"dm"}}, "invalid_types"},
		{"users.conversations", url.Values{"types": {"im,nope"}}, "invalid_types"},
		{"users.conversations", url.Values{"cursor": {"garbage"}}, "invalid_cursor"},
		{"users.conversations", url.Values{"limit": {"-1"}}, "invalid_limit"},
		{"users.conversations", url.Values{"user": {"UNOSUCH"}}, "user_not_found"},
		{"users.conversations", url.Values{"exclude_archived": {"perhaps"}}, "invalid_arguments"},
	} {
		e.fails(e.alice, tt.method, tt.args, tt.code)
	}
}

// TestOpenDMAcrossNodes: people opening the same conversations at once
// on different admin nodes all get the same one.
func TestOpenDMAcrossNodes(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "n1", Host: "127.0.35.1"}, nodetest.Spec{Name: "n2", Host: "127.0.35.2"})
	c.WaitConverged()
	alice, _ := c.User("alice")
	aliceID := aliceID(t, alice)
	var ids []string
	var apis [2][]*client.API
	for i := range 6 {
		api, id := c.User(fmt.Sprintf("p%d", i))
		ids = append(ids, id)
		for n, name := range []string{"n1", "n2"} {
			apis[n] = append(apis[n], c.APIAt(name, api.Token))
		}
	}
	aliceAt := []*client.API{c.APIAt("n1", alice.Token), c.APIAt("n2", alice.Token)}
	type result struct {
		key, id string
		err     error
	}
	results := make(chan result, 64)
	for n := range 2 {
		for i := range ids {
			go func() {
				var r openRes
				// Each person opens their DM with alice, from each node;
				// alice opens the group of everyone from each node.
				err := apis[n][i].Call(t.Context(), "conversations.open", url.Values{"users": {aliceID}}, &r)
				results <- result{ids[i], r.Channel.ID, err}
			}()
		}
		go func() {
			var r openRes
			err := aliceAt[n].Call(t.Context(), "conversations.open", url.Values{"users": {strings.Join(ids[:5], ",")}}, &r)
			results <- result{"group", r.Channel.ID, err}
		}()
	}
	got := map[string]string{}
	for range 2 * (len(ids) + 1) {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if prev, ok := got[r.key]; ok && prev != r.id {
			t.Fatalf("%s: two conversations, %s and %s", r.key, prev, r.id)
		}
		got[r.key] = r.id
	}
	if len(got) != len(ids)+1 {
		t.Fatalf("conversations = %v", got)
	}
}

func aliceID(t *testing.T, api *client.API) string {
	var res struct {
		UserID string `json:"user_id"`
	}
	nodetest.Call(t, api, "auth.test", nil, &res)
	return res.UserID
}

// TestOpenDMEvents: both people's sessions hear of a new DM (im_created,
// mpim_open) and from then on receive its messages; a third person's
// session receives nothing of it.
func TestOpenDMEvents(t *testing.T) {
	e := setupDM(t)
	ra := nodetest.Connect(t, e.alice, "", nil)
	rb := nodetest.Connect(t, e.bob, "", nil)
	rc := nodetest.Connect(t, e.carol, "", nil)
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	for _, tt := range []struct {
		r     *client.RTM
		other string
	}{{ra, e.bobID}, {rb, e.aliceID}} {
		ev := nodetest.Next(t, tt.r)
		var got struct {
			Type    string
			User    string
			Channel struct {
				ID   string
				IsIM bool `json:"is_im"`
				User string
			}
		}
		json.Unmarshal(ev.Raw, &got)
		if got.Type != "im_created" || got.User != tt.other || got.Channel.ID != dm.Channel.ID || !got.Channel.IsIM || got.Channel.User != tt.other {
			t.Fatalf("first event = %s, want im_created of %s with %s", ev.Raw, dm.Channel.ID, tt.other)
		}
	}
	var g openRes
	e.ok(e.bob, "conversations.open", url.Values{"users": {e.aliceID + "," + e.carolID}}, &g)
	for _, r := range []*client.RTM{ra, rb, rc} {
		ev := nodetest.Next(t, r)
		var got struct{ Type, User, Channel string }
		json.Unmarshal(ev.Raw, &got)
		if got.Type != "mpim_open" || got.User != e.bobID || got.Channel != g.Channel.ID {
			t.Fatalf("event = %s, want mpim_open of %s by bob", ev.Raw, g.Channel.ID)
		}
	}
	e.ok(e.bob, "chat.postMessage", url.Values{"channel": {dm.Channel.ID}, "text": {"for alice"}}, nil)
	e.ok(e.carol, "chat.postMessage", url.Values{"channel": {g.Channel.ID}, "text": {"for all three"}}, nil)
	for _, r := range []*client.RTM{ra, rb} {
		for _, want := range []string{"for alice", "for all three"} {
			if ev := nodetest.Next(t, r); ev.Type != "message" || ev.Text != want {
				t.Fatalf("event %s, want the message %q", ev.Raw, want)
			}
		}
	}
	// Carol's next event is the group's message: never the DM's.
	if ev := nodetest.Next(t, rc); ev.Type != "message" || ev.Text != "for all three" {
		t.Fatalf("carol's event %s, want only the group's message", ev.Raw)
	}
}

// TestCloseDM: conversations.close closes a DM for the caller only
// (im_close to their sessions); again is no_op and already_closed;
// conversations.open opens it again (im_open, no no_op), then is
// already_open. Closing a channel, someone else's DM or nothing is
// refused and changes nothing.
func TestCloseDM(t *testing.T) {
	e := setupDM(t)
	var dm openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &dm)
	d := dm.Channel.ID
	var group openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID + "," + e.carolID}}, &group)
	r := nodetest.Connect(t, e.alice, "", nil)
	type closeRes struct {
		NoOp          bool `json:"no_op"`
		AlreadyClosed bool `json:"already_closed"`
	}
	event := func(typ, ch string) {
		t.Helper()
		for {
			ev := nodetest.Next(t, r)
			if ev.Type == typ {
				if ev.ChannelID() != ch || ev.User != e.aliceID {
					t.Fatalf("%s = %s", typ, ev.Raw)
				}
				return
			}
		}
	}
	// isOpen checks a DM's is_open as who sees it in conversations.info,
	// conversations.list and users.conversations.
	isOpen := func(who *client.API, ch string, want bool) {
		t.Helper()
		var info struct {
			Channel struct {
				IsOpen *bool `json:"is_open"`
			} `json:"channel"`
		}
		e.ok(who, "conversations.info", url.Values{"channel": {ch}}, &info)
		if info.Channel.IsOpen == nil || *info.Channel.IsOpen != want {
			t.Fatalf("conversations.info of %s: is_open = %v, want %v", ch, info.Channel.IsOpen, want)
		}
		for _, m := range []string{"conversations.list", "users.conversations"} {
			var list struct {
				Channels []struct {
					ID     string `json:"id"`
					IsOpen *bool  `json:"is_open"`
				} `json:"channels"`
			}
			e.ok(who, m, url.Values{"types": {"im,mpim"}}, &list)
			found := false
			for _, c := range list.Channels {
				if c.ID == ch {
					found = true
					if c.IsOpen == nil || *c.IsOpen != want {
						t.Fatalf("%s: %s's is_open = %v, want %v", m, ch, c.IsOpen, want)
					}
				}
			}
			if !found {
				t.Fatalf("%s: %s not listed", m, ch)
			}
		}
	}
	isOpen(e.alice, d, true)
	isOpen(e.alice, group.Channel.ID, true)
	var res closeRes
	e.ok(e.alice, "conversations.close", url.Values{"channel": {d}}, &res)
	if res.NoOp || res.AlreadyClosed {
		t.Fatalf("close = %+v", res)
	}
	event("im_close", d)
	res = closeRes{}
	e.ok(e.alice, "conversations.close", url.Values{"channel": {d}}, &res)
	if !res.NoOp || !res.AlreadyClosed {
		t.Fatalf("close again = %+v, want no_op and already_closed", res)
	}
	e.ok(e.alice, "conversations.close", url.Values{"channel": {group.Channel.ID}}, &res)
	event("mpim_close", group.Channel.ID)
	isOpen(e.alice, d, false)
	isOpen(e.alice, group.Channel.ID, false)
	isOpen(e.bob, d, true) // alice's close is hers only
	// bob's side is his own: his close changes something.
	res = closeRes{}
	e.ok(e.bob, "conversations.close", url.Values{"channel": {d}}, &res)
	if res.NoOp {
		t.Fatalf("bob's close = %+v", res)
	}
	var again openRes
	e.ok(e.alice, "conversations.open", url.Values{"users": {e.bobID}}, &again)
	if again.Channel.ID != d || again.NoOp || again.AlreadyOpen {
		t.Fatalf("reopen = %+v", again)
	}
	event("im_open", d)
	isOpen(e.alice, d, true)
	isOpen(e.alice, group.Channel.ID, false)
	isOpen(e.bob, d, false)
	e.ok(e.alice, "conversations.open", url.Values{"channel": {d}}, &again)
	if !again.NoOp || !again.AlreadyOpen {
		t.Fatalf("open of an open DM = %+v", again)
	}
	// Refused: a channel, a DM of others, none; nothing changes.
	var other openRes
	e.ok(e.bob, "conversations.open", url.Values{"users": {e.carolID}}, &other)
	e.ok(e.alice, "conversations.join", url.Values{"channel": {e.ch}}, nil)
	before := e.historyLen(e.ch)
	e.fails(e.alice, "conversations.close", url.Values{"channel": {e.ch}}, "method_not_supported_for_channel_type")
	e.fails(e.alice, "conversations.close", url.Values{"channel": {other.Channel.ID}}, "channel_not_found")
	e.fails(e.alice, "conversations.close", url.Values{}, "channel_not_found")
	if e.historyLen(e.ch) != before {
		t.Fatal("a refused close changed the channel")
	}
	// carol's DM with bob is still open for bob: not closed by alice's attempt.
	e.ok(e.bob, "conversations.open", url.Values{"channel": {other.Channel.ID}}, &again)
	if !again.NoOp || !again.AlreadyOpen {
		t.Fatalf("bob's DM with carol after alice's refused close = %+v", again)
	}
}
