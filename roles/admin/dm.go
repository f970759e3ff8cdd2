package admin

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/internode"
	"github.com/ringcast/ringcast/transport/rtm"
)

// maxDMUsers is how many people conversations.open takes besides the
// caller (Slack's group DMs hold up to nine).
const maxDMUsers = 8

// open answers conversations.open: the direct message between the
// caller and users (one: a DM; two to eight: a group DM), created on
// first use; or, with channel, a DM of the caller's by id.
func (a *API) open(c *call) (map[string]any, error) {
	returnIM, err := c.args.bool("return_im", false)
	if err != nil {
		return nil, err
	}
	users, err := c.args.list("users")
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		if c.args["channel"] == "" {
			return nil, chat.Error("users_list_not_supplied")
		}
		ch, err := a.lookup(c, c.args["channel"], membership)
		if err != nil {
			return nil, err
		}
		if !ch.IsDM() {
			return nil, chat.Error("method_not_supported_for_channel_type")
		}
		return a.opened(c, ch, true, returnIM)
	}
	if len(users) > maxDMUsers {
		return nil, chat.Error("too_many_users")
	}
	people := []string{c.user.ID}
	for _, u := range users {
		if !slices.Contains(people, u) {
			people = append(people, u)
		}
	}
	if len(people) < 2 {
		// Only the caller: a conversation needs someone else.
		return nil, chat.Error("not_enough_users")
	}
	for _, id := range people[1:] {
		u, err := a.cfg.Store.User(c.ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, chat.ErrUserNotFound
		case err != nil:
			return nil, err
		case u.Deleted:
			return nil, chat.Error("user_disabled")
		}
	}
	slices.Sort(people)
	ch := chat.Channel{ID: chat.NewID('D'), Creator: c.user.ID, Created: time.Now().Unix(), IsPrivate: true, Type: chat.TypeIM}
	if len(people) > 2 {
		ch.ID, ch.Type = chat.NewID('G'), chat.TypeMPIM
	}
	ch, created, err := a.cfg.Store.OpenDM(c.ctx, ch, people)
	if err != nil {
		return nil, err
	}
	if created {
		a.announceDM(c, ch, people)
	}
	return a.opened(c, ch, !created, returnIM)
}

// opened is conversations.open's answer: the conversation's id, all of
// it with return_im (and always for a group DM, as Slack does), and
// no_op/already_open when it existed and was open. One the caller had
// closed is open again (im_open or mpim_open to their sessions).
func (a *API) opened(c *call, ch chat.Channel, existed, full bool) (map[string]any, error) {
	obj := map[string]any{"id": ch.ID}
	if full || ch.Type == chat.TypeMPIM {
		obj = a.conversationObject(c, ch, true, -1)
	}
	out := map[string]any{"channel": obj}
	if !existed {
		return out, nil
	}
	reopened, err := a.cfg.Store.SetClosed(c.ctx, c.user.ID, ch.ID, false)
	if err != nil {
		return nil, err
	}
	if reopened {
		a.dmEvent(c, ch, "open")
	} else {
		out["no_op"], out["already_open"] = true, true
	}
	return out, nil
}

// close answers conversations.close: the caller closes a direct message
// of theirs (clients take it off their list; nothing else changes, and
// conversations.open opens it again). Closing a closed one is no_op and
// already_closed, as on Slack.
func (a *API) close(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], membership)
	if err != nil {
		return nil, err
	}
	if !ch.IsDM() {
		return nil, chat.Error("method_not_supported_for_channel_type")
	}
	closed, err := a.cfg.Store.SetClosed(c.ctx, c.user.ID, ch.ID, true)
	if err != nil {
		return nil, err
	}
	if !closed {
		return map[string]any{"no_op": true, "already_closed": true}, nil
	}
	a.dmEvent(c, ch, "close")
	return map[string]any{}, nil
}

// dmEvent tells the caller's sessions they opened or closed ch (what is
// "open" or "close"): im_open, im_close, mpim_open, mpim_close.
func (a *API) dmEvent(c *call, ch chat.Channel, what string) {
	typ := "im_" + what
	if ch.Type == chat.TypeMPIM {
		typ = "mpim_" + what
	}
	a.cfg.Presence.UserEvent(c.user.ID, ch.ID, 0, typ, rtm.DMEvent(typ, ch.ID, c.user.ID, chat.TSOf(time.Now())))
}

// announceDM tells each of a new DM's people about it (im_created, or
// mpim_open for a group), which also starts their connected sessions
// receiving it.
func (a *API) announceDM(c *call, ch chat.Channel, people []string) {
	now := chat.TSOf(time.Now())
	for _, p := range people {
		var frame []byte
		if ch.Type == chat.TypeIM {
			frame = rtm.IMCreated(ch, other(people, p), a.cfg.Team.ID)
		} else {
			frame = rtm.DMEvent("mpim_open", ch.ID, c.user.ID, now)
		}
		a.cfg.Presence.UserEvent(p, ch.ID, 0, internode.ChannelJoined, frame)
	}
}

// other is the person of a one-to-one DM who is not me.
func other(people []string, me string) string {
	for _, p := range people {
		if p != me {
			return p
		}
	}
	return me
}

// conversationObject is Slack's object of a channel, DM or group DM as
// caller c sees it; numMembers < 0 leaves num_members out. A DM's
// is_open is false when the caller closed it: methods that answer with
// DMs others may have closed call loadClosed first.
func (a *API) conversationObject(c *call, ch chat.Channel, isMember bool, numMembers int) map[string]any {
	switch ch.Type {
	case chat.TypeIM:
		return rtm.IMObject(ch, other(ch.DMMembers(), c.user.ID), a.cfg.Team.ID, !c.closed[ch.ID])
	case chat.TypeMPIM:
		ch.Name = a.mpimName(c, ch.DMMembers())
		o := rtm.ChannelObject(ch, a.cfg.Team.ID, isMember, numMembers)
		o["is_open"] = !c.closed[ch.ID]
		return o
	}
	return rtm.ChannelObject(ch, a.cfg.Team.ID, isMember, numMembers)
}

// loadClosed reads which DMs the caller has closed (one query), for
// conversationObject's is_open.
func (a *API) loadClosed(c *call) error {
	if c.closed != nil {
		return nil
	}
	closed, err := a.cfg.Store.ClosedDMs(c.ctx, c.user.ID)
	c.closed = closed
	return err
}

// mpimName is a group DM's name as Slack makes it: mpdm-, its people's
// names joined by --, and -1.
func (a *API) mpimName(c *call, people []string) string {
	names := make([]string, len(people))
	for i, id := range people {
		names[i] = id
		if u, err := a.cfg.Store.User(c.ctx, id); err == nil {
			names[i] = u.Name
		}
	}
	return "mpdm-" + strings.Join(names, "--") + "-1"
}

// kinds is what a types argument asks for (conversations.list,
// users.conversations).
type kinds struct{ public, private, im, mpim bool }

// parseTypes reads types; absent is public channels only.
func parseTypes(c *call) (kinds, error) {
	types, err := c.args.list("types")
	if err != nil {
		return kinds{}, err
	}
	k := kinds{public: len(types) == 0}
	for _, t := range types {
		switch t {
		case "public_channel":
			k.public = true
		case "private_channel":
			k.private = true
		case "im":
			k.im = true
		case "mpim":
			k.mpim = true
		default:
			return kinds{}, chat.Error("invalid_types")
		}
	}
	return k, nil
}

// has reports whether ch is of a kind k asks for.
func (k kinds) has(ch chat.Channel) bool {
	switch {
	case ch.Type == chat.TypeIM:
		return k.im
	case ch.Type == chat.TypeMPIM:
		return k.mpim
	case ch.IsPrivate:
		return k.private
	}
	return k.public
}

// page gathers a listing's objects up to limit, by id: next is the
// cursor after the last one taken, set only when another would have
// followed.
type page struct {
	limit int
	out   []map[string]any
	last  string
	next  string
}

// add takes ch's object unless the page is full; it reports whether the
// page is full (and so the listing done).
func (p *page) add(id string, obj func() map[string]any) bool {
	if len(p.out) == p.limit {
		p.next = makeCursor("channel", p.last)
		return true
	}
	p.out, p.last = append(p.out, obj()), id
	return false
}

// listing is what a listing call asks for (conversations.list,
// users.conversations) and the page it fills.
type listing struct {
	page
	kinds
	excludeArchived bool
	after           string // the cursor's id
}

func parseListing(c *call) (*listing, error) {
	limit, err := c.args.limit(100, 999)
	if err != nil {
		return nil, err
	}
	k, err := parseTypes(c)
	if err != nil {
		return nil, err
	}
	excludeArchived, err := c.args.bool("exclude_archived", false)
	if err != nil {
		return nil, err
	}
	after, err := parseCursor(c.args["cursor"], "channel")
	if err != nil {
		return nil, err
	}
	return &listing{page: page{limit: limit, out: []map[string]any{}}, kinds: k, excludeArchived: excludeArchived, after: after}, nil
}

// wants reports whether ch belongs in the listing.
func (l *listing) wants(ch chat.Channel) bool {
	return l.has(ch) && !(l.excludeArchived && ch.IsArchived)
}

// reply is the listing's response.
func (l *listing) reply() map[string]any {
	return map[string]any{"channels": l.out, "response_metadata": meta(l.next)}
}

// eachChannel loads the channels of ids (sorted) after l.after, in
// order, and calls f with each until f says the listing is done.
func (a *API) eachChannel(c *call, l *listing, ids []string, f func(chat.Channel) (done bool)) error {
	for _, id := range ids {
		if id <= l.after {
			continue
		}
		ch, err := a.cfg.Store.Channel(c.ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if f(ch) {
			return nil
		}
	}
	return nil
}

// usersConversations answers users.conversations: the conversations a
// user (the caller by default) is in, those the caller may see.
func (a *API) usersConversations(c *call) (map[string]any, error) {
	l, err := parseListing(c)
	if err != nil {
		return nil, err
	}
	target := cmp.Or(c.args["user"], c.user.ID)
	if target != c.user.ID {
		if _, err := a.cfg.Store.User(c.ctx, target); errors.Is(err, store.ErrNotFound) {
			return nil, chat.ErrUserNotFound
		} else if err != nil {
			return nil, err
		}
	}
	theirs, err := a.cfg.Store.UserChannels(c.ctx, target)
	if err != nil {
		return nil, err
	}
	mine := theirs
	if target != c.user.ID {
		if mine, err = a.cfg.Store.UserChannels(c.ctx, c.user.ID); err != nil {
			return nil, err
		}
	}
	if l.im || l.mpim {
		if err := a.loadClosed(c); err != nil {
			return nil, err
		}
	}
	err = a.eachChannel(c, l, theirs, func(ch chat.Channel) bool {
		_, member := slices.BinarySearch(mine, ch.ID)
		if !l.wants(ch) || !ch.VisibleTo(member) {
			return false
		}
		return l.add(ch.ID, func() map[string]any { return a.conversationObject(c, ch, member, -1) })
	})
	if err == nil {
		err = a.addUnreads(c, l.out, func(id string) bool { _, in := slices.BinarySearch(mine, id); return in })
	}
	if err != nil {
		return nil, err
	}
	return l.reply(), nil
}
