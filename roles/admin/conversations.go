package admin

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// need is what a method needs of a channel beyond seeing it.
type need int

const (
	// visible: the channel exists for the caller (chat.Channel.VisibleTo).
	visible need = iota
	// membership: the caller is a member; not_in_channel otherwise.
	membership
)

// lookup is the one way a method gets a channel from its caller's
// argument, by id or by name (with or without '#'): it applies the
// access rule (chat.Channel.VisibleTo), so that a private channel is
// channel_not_found to a non-member whatever they call and however they
// name it, and then what the method needs. Every method that takes a
// channel calls it (and so will replies, reactions, edits and search).
func (a *API) lookup(c *call, ref string, n need) (chat.Channel, error) {
	if ref == "" {
		return chat.Channel{}, chat.ErrChannelNotFound
	}
	ch, err := a.cfg.Store.Channel(c.ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		ch, err = a.cfg.Store.ChannelByName(c.ctx, strings.TrimPrefix(ref, "#"))
	}
	if errors.Is(err, store.ErrNotFound) {
		return chat.Channel{}, chat.ErrChannelNotFound
	}
	if err != nil {
		return chat.Channel{}, err
	}
	if !ch.IsPrivate && n == visible {
		return ch, nil // nothing more to read
	}
	in, err := a.cfg.Store.IsMember(c.ctx, ch.ID, c.user.ID)
	switch {
	case err != nil:
		return chat.Channel{}, err
	case !ch.VisibleTo(in):
		return chat.Channel{}, chat.ErrChannelNotFound
	case n == membership && !in:
		return chat.Channel{}, chat.ErrNotInChannel
	}
	return ch, nil
}

// fullChannel loads what a channel object needs for the caller.
func (a *API) fullChannel(c *call, ch chat.Channel) (map[string]any, error) {
	members, err := a.cfg.Store.Members(c.ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	in := false
	for _, m := range members {
		in = in || m == c.user.ID
	}
	if ch.IsDM() {
		if err := a.loadClosed(c); err != nil {
			return nil, err
		}
	}
	return a.conversationObject(c, ch, in, len(members)), nil
}

// checkChannelName applies Slack's rules for conversations.create.
func checkChannelName(n string) error {
	switch {
	case n == "":
		return chat.Error("invalid_name_required")
	case utf8.RuneCountInString(n) > 80:
		return chat.Error("invalid_name_maxlength")
	}
	punct := true
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			punct = false
		case r == '-' || r == '_':
		default:
			return chat.Error("invalid_name_specials")
		}
	}
	if punct {
		return chat.Error("invalid_name_punctuation")
	}
	return nil
}

func (a *API) create(c *call) (map[string]any, error) {
	name := c.args["name"]
	if err := checkChannelName(name); err != nil {
		return nil, err
	}
	private, err := c.args.bool("is_private", false)
	if err != nil {
		return nil, err
	}
	if err := a.limit(limitChannelsCreated, a.creates, c); err != nil {
		return nil, err
	}
	ch := chat.Channel{ID: chat.NewID('C'), Name: name, Creator: c.user.ID, Created: time.Now().Unix(), IsPrivate: private}
	if err := a.cfg.Store.CreateChannel(c.ctx, ch); errors.Is(err, store.ErrNameTaken) {
		return nil, chat.Error("name_taken")
	} else if err != nil {
		return nil, err
	}
	// The creator's connected sessions start receiving the new channel.
	a.cfg.Presence.UserEvent(c.user.ID, ch.ID, 0, internode.ChannelJoined, rtm.ChannelJoined(ch, a.cfg.Team.ID, 1))
	return map[string]any{"channel": a.conversationObject(c, ch, true, 1)}, nil
}

func (a *API) join(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return nil, err
	}
	if ch.IsArchived {
		return nil, chat.ErrArchived
	}
	if ch.IsPrivate {
		return nil, chat.Error("method_not_supported_for_channel_type")
	}
	err = a.cfg.Channels.Join(c.ctx, ch.ID, c.user.ID)
	var warning string
	if err == chat.ErrAlreadyMember {
		err, warning = nil, "already_in_channel"
	}
	if err != nil {
		return nil, err
	}
	obj, err := a.fullChannel(c, ch)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"channel": obj}
	if warning != "" {
		out["warning"] = warning
		out["response_metadata"] = map[string]any{"warnings": []string{warning}}
	}
	return out, nil
}

func (a *API) leave(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return nil, err
	}
	if ch.IsArchived {
		return nil, chat.ErrArchived
	}
	if ch.IsDM() {
		return nil, chat.Error("method_not_supported_for_channel_type")
	}
	err = a.cfg.Channels.Leave(c.ctx, ch.ID, c.user.ID)
	if err == chat.ErrNotInChannel {
		return map[string]any{"not_in_channel": true}, nil
	}
	return nil, err
}

func (a *API) invite(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], membership)
	if err != nil {
		return nil, err
	}
	if ch.IsDM() {
		return nil, chat.Error("method_not_supported_for_channel_type")
	}
	users, err := c.args.list("users")
	if err != nil {
		return nil, err
	}
	switch {
	case len(users) == 0:
		return nil, chat.Error("no_user")
	case len(users) > 1000:
		return nil, chat.Error("too_many_users")
	case ch.IsArchived:
		return nil, chat.ErrArchived
	}
	var fresh []string
	for _, u := range users {
		if u == c.user.ID {
			return nil, chat.Error("cant_invite_self")
		}
		if _, err := a.cfg.Store.User(c.ctx, u); errors.Is(err, store.ErrNotFound) {
			return nil, chat.ErrUserNotFound
		} else if err != nil {
			return nil, err
		}
		in, err := a.cfg.Store.IsMember(c.ctx, ch.ID, u)
		if err != nil {
			return nil, err
		}
		if !in {
			fresh = append(fresh, u)
		}
	}
	if len(fresh) == 0 {
		return nil, chat.ErrAlreadyMember
	}
	if err := a.cfg.Channels.Invite(c.ctx, ch.ID, c.user.ID, fresh); err != nil {
		return nil, err
	}
	obj, err := a.fullChannel(c, ch)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": obj}, nil
}

// list answers conversations.list. Channels (ids C…) come from the
// team's list; the caller's direct messages (D…, G…, which sort after
// every C…) from their memberships, since nobody else may see them. One
// cursor, the last id listed, runs through both.
func (a *API) list(c *call) (map[string]any, error) {
	l, err := parseListing(c)
	if err != nil {
		return nil, err
	}
	mine, err := a.cfg.Store.UserChannels(c.ctx, c.user.ID)
	if err != nil {
		return nil, err
	}
	member := map[string]bool{}
	for _, id := range mine {
		member[id] = true
	}
	const dms = "D" // the first id that is not a channel's
	done := !(l.public || l.private) || l.after >= dms
	for !done {
		batch, err := a.cfg.Store.ListChannels(c.ctx, l.after, l.limit+1)
		if err != nil {
			return nil, err
		}
		for _, ch := range batch {
			if done = ch.ID >= dms; done {
				break
			}
			l.after = ch.ID
			if !l.wants(ch) || !ch.VisibleTo(member[ch.ID]) {
				continue
			}
			if done = l.add(ch.ID, func() map[string]any { return a.conversationObject(c, ch, member[ch.ID], -1) }); done {
				break
			}
		}
		done = done || len(batch) <= l.limit
	}
	if (l.im || l.mpim) && l.next == "" {
		if err := a.loadClosed(c); err != nil {
			return nil, err
		}
		err := a.eachChannel(c, l, mine, func(ch chat.Channel) bool {
			return l.wants(ch) && l.add(ch.ID, func() map[string]any { return a.conversationObject(c, ch, true, -1) })
		})
		if err != nil {
			return nil, err
		}
	}
	if err := a.addUnreads(c, l.out, func(id string) bool { return member[id] }); err != nil {
		return nil, err
	}
	return l.reply(), nil
}

func (a *API) info(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return nil, err
	}
	obj, err := a.fullChannel(c, ch)
	if err != nil {
		return nil, err
	}
	if obj["is_member"] == true || ch.IsDM() {
		if err := a.addUnread(c, ch, obj); err != nil {
			return nil, err
		}
	}
	return map[string]any{"channel": obj}, nil
}

func (a *API) members(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return nil, err
	}
	limit, err := c.args.limit(100, 1000)
	if err != nil {
		return nil, err
	}
	after, err := parseCursor(c.args["cursor"], "user")
	if err != nil {
		return nil, err
	}
	all, err := a.cfg.Store.Members(c.ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	out := []string{}
	next := ""
	for _, m := range all {
		if m <= after {
			continue
		}
		if len(out) == limit {
			next = makeCursor("user", out[len(out)-1])
			break
		}
		out = append(out, m)
	}
	return map[string]any{"members": out, "response_metadata": meta(next)}, nil
}

func (a *API) history(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], a.readNeed(c))
	if err != nil {
		return nil, err
	}
	limit, err := c.args.limit(100, 999)
	if err != nil {
		return nil, err
	}
	inclusive, err := c.args.bool("inclusive", false)
	if err != nil {
		return nil, err
	}
	q := store.HistoryQuery{Limit: limit, Inclusive: inclusive}
	if v := c.args["latest"]; v != "" {
		if q.Latest, err = chat.ParseTS(v); err != nil {
			return nil, chat.Error("invalid_ts_latest")
		}
	}
	if v := c.args["oldest"]; v != "" {
		if q.Oldest, err = chat.ParseTS(v); err != nil {
			return nil, chat.Error("invalid_ts_oldest")
		}
	}
	if cur := c.args["cursor"]; cur != "" {
		v, err := parseCursor(cur, "ts")
		if err != nil {
			return nil, err
		}
		if q.Latest, err = chat.ParseTS(v); err != nil {
			return nil, chat.Error("invalid_cursor")
		}
		q.Inclusive = false
	}
	msgs, more, err := a.cfg.Store.History(c.ctx, ch.ID, q)
	if err != nil {
		return nil, err
	}
	out, more, next, err := a.messagePage(c, msgs, more)
	if err != nil {
		return nil, err
	}
	latest := ""
	if q.Latest != 0 {
		latest = q.Latest.String()
	}
	return map[string]any{"messages": out, "has_more": more, "pin_count": 0, "latest": latest,
		"response_metadata": meta(next)}, nil
}

// messagePage is a page of history or replies as the Web API answers it:
// msgs cut to the response cap (the rest left to the next page, so more
// is then true), each as its message object, and the cursor of the next
// page ("" when there is none).
func (a *API) messagePage(c *call, msgs []chat.Message, more bool) ([]map[string]any, bool, string, error) {
	if n := a.fitResponse(msgs); n < len(msgs) {
		msgs, more = msgs[:n], true
	}
	out := make([]map[string]any, len(msgs))
	for i := range msgs {
		var err error
		if out[i], err = a.messageObject(c, &msgs[i]); err != nil {
			return nil, false, "", err
		}
	}
	next := ""
	if more && len(msgs) > 0 {
		next = makeCursor("ts", msgs[len(msgs)-1].TS.String())
	}
	return out, more, next, nil
}

// fitResponse is how many of msgs a history page holds within the
// response cap (limit.Config.MaxResponse), at least one: the rest are
// left to the next page. The estimate is the worst case (every
// character escaped as \uXXXX), so the page always fits.
func (a *API) fitResponse(msgs []chat.Message) int {
	budget := a.cfg.Limits.MaxResponse - 4<<10 // room for the envelope
	if a.cfg.Limits.MaxResponse <= 0 {
		return len(msgs)
	}
	for i := range msgs {
		budget -= 256 + 6*(len(msgs[i].Text)+len(msgs[i].ClientMsgID)) + moreSize(msgs[i].More)
		if budget < 0 {
			return max(i, 1)
		}
	}
	return len(msgs)
}

// messageObject is Slack's message object; a message an app's bot
// posted carries bot_id, app_id and bot_profile (Bolt ignores its own
// messages by them).
func (a *API) messageObject(c *call, m *chat.Message) (map[string]any, error) {
	o := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS.String(),
		"team": a.cfg.Team.ID, "seq": m.Seq}
	if m.User != c.user.ID || c.user.IsBot { // a person's own post (the hot path) needs no lookup
		bot, err := a.bots.Of(c.ctx, a.cfg.Store, m.User)
		if err != nil {
			return nil, err
		}
		if bot.ID != "" {
			rtm.BotFields(o, bot, a.cfg.Team.ID)
		}
	}
	if m.ThreadTS != 0 {
		o["thread_ts"] = m.ThreadTS.String()
	}
	if m.ClientMsgID != "" {
		o["client_msg_id"] = m.ClientMsgID
	}
	if x := m.More; x != nil {
		moreObject(o, x)
		if x.Kind == chat.KindMessage && m.IsReply() && x.Author != "" {
			o["parent_user_id"] = x.Author
		}
	}
	return o, nil
}

// moreSize bounds what x adds to a message object's JSON, escapes
// included (encoding/json escapes '<' in blocks and attachments too).
func moreSize(x *chat.More) int {
	if x == nil {
		return 0
	}
	n := 256 + 6*(len(x.Blocks)+len(x.Attachments)+len(x.Subtype)) + 64*len(x.ReplyUsers)
	for _, r := range x.Reactions {
		n += 64 + 6*len(r.Name) + 64*len(r.Users)
	}
	return n
}

// moreObject adds to a message object what its state has beyond a plain
// message, in Slack's fields.
func moreObject(o map[string]any, x *chat.More) {
	if x.Subtype != "" {
		o["subtype"] = x.Subtype
	}
	if x.Kind == chat.KindJoin && x.Author != "" {
		o["inviter"] = x.Author
	}
	if x.Blocks != "" {
		o["blocks"] = json.RawMessage(x.Blocks)
	}
	if x.Attachments != "" {
		o["attachments"] = json.RawMessage(x.Attachments)
	}
	if x.Edited != nil {
		o["edited"] = map[string]any{"user": x.Edited.User, "ts": x.Edited.TS.String()}
	}
	if len(x.Reactions) > 0 {
		rs := make([]map[string]any, len(x.Reactions))
		for i, r := range x.Reactions {
			rs[i] = map[string]any{"name": r.Name, "count": len(r.Users), "users": r.Users}
		}
		o["reactions"] = rs
	}
	if x.ReplyCount > 0 {
		o["reply_count"] = x.ReplyCount
		o["reply_users_count"] = len(x.ReplyUsers)
		o["reply_users"] = x.ReplyUsers
		o["latest_reply"] = x.LatestReply.String()
	}
}

func (a *API) postMessage(c *call) (map[string]any, error) {
	if err := a.limit(limitMessages, a.messages, c); err != nil {
		return nil, err
	}
	ref := c.args["channel"]
	p := cluster.Post{Channel: ref, User: c.user.ID, Text: c.args["text"], ClientMsgID: c.args["client_msg_id"]}
	blocks, attachments, bad := richArgs(c)
	broadcast, err := c.args.bool("reply_broadcast", false)
	if err != nil {
		return nil, err
	}
	if blocks != "" || attachments != "" || (broadcast && c.args["thread_ts"] != "") {
		p.More = &chat.More{Blocks: blocks, Attachments: attachments}
		if broadcast {
			p.More.Subtype = chat.SubtypeThreadBroadcast
		}
	}
	if c.user.IsBot {
		// Its live event carries its app (chat.More.Bot).
		bot, err := a.bots.Of(c.ctx, a.cfg.Store, c.user.ID)
		if err != nil {
			return nil, err
		}
		if bot.ID != "" {
			if p.More == nil {
				p.More = &chat.More{}
			}
			p.More.Bot = &bot
		}
	}
	if bad == nil {
		bad = checkPost(&p, c.args["thread_ts"])
	}
	if bad == nil && p.ThreadTS != 0 {
		// A reply: its parent must exist, which only the caller's view
		// of the channel may tell (a non-member learns nothing).
		ch, err := a.lookup(c, ref, membership)
		if err != nil {
			return nil, err
		}
		parent, err := store.ThreadParent(c.ctx, a.cfg.Store, ch.ID, p.ThreadTS)
		if errors.Is(err, store.ErrNotFound) {
			return nil, chat.ErrThreadNotFound
		} else if err != nil {
			return nil, err
		}
		ref, p.Channel = ch.ID, ch.ID
		if p.More == nil {
			p.More = &chat.More{}
		}
		p.More.Author = parent.User // the reply's parent_user_id
	}
	if bad != nil || ref == "" {
		// The channel's own errors come first.
		ch, err := a.lookup(c, ref, visible)
		if err != nil {
			return nil, err
		}
		if ch.IsArchived {
			return nil, chat.ErrArchived
		}
		return nil, bad
	}
	// By id, the channel's owner is the one to ask: it holds whether the
	// channel exists and who is in it, so the common case reads nothing
	// from the store here (a read per post was 15% of the server's CPU
	// publishing through this API). Only a name, which the owner does
	// not know, is resolved first.
	m, err := a.cfg.Channels.Publish(c.ctx, p)
	if errors.Is(err, chat.ErrChannelNotFound) {
		ch, rerr := a.lookup(c, ref, visible)
		if rerr != nil || ch.ID == ref {
			return nil, cmp.Or(rerr, err)
		}
		p.Channel = ch.ID
		m, err = a.cfg.Channels.Publish(c.ctx, p)
	}
	if err != nil {
		return nil, err
	}
	msg, err := a.messageObject(c, &m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": p.Channel, "ts": m.TS.String(), "message": msg}, nil
}

// checkPost checks what chat.postMessage can without the channel: the
// post's own fields, as its owner will (an empty channel is left to the
// caller's lookup), and thread_ts, which it sets in p.
func checkPost(p *cluster.Post, threadTS string) error {
	if err := p.Check(); err != nil {
		return err
	}
	if threadTS != "" {
		ts, err := chat.ParseTS(threadTS)
		if err != nil {
			return chat.Error("invalid_thread_ts")
		}
		p.ThreadTS = ts
	}
	return nil
}

// Cursors are base64 of "<kind>:<value>", like Slack's.
func makeCursor(kind, v string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + v))
}

func parseCursor(cur, kind string) (string, error) {
	if cur == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(cur)
	v, ok := strings.CutPrefix(string(b), kind+":")
	if err != nil || !ok || v == "" {
		return "", chat.Error("invalid_cursor")
	}
	return v, nil
}
