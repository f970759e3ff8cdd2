package admin

import (
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/rtm"
)

// unreadCap is as far as unread messages are counted: a badge says
// "1000" beyond (counting reads the messages after the mark).
const unreadCap = 1000

// mark answers conversations.mark: the caller has read channel up to
// ts. Their sessions are told (channel_marked, group_marked or
// im_marked), so another client of theirs clears its badge.
func (a *API) mark(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], membership)
	if err != nil {
		return nil, err
	}
	ts, err := chat.ParseTS(c.args["ts"])
	if err != nil || ts <= 0 {
		return nil, chat.Error("invalid_timestamp")
	}
	if err := a.cfg.Store.SetLastRead(c.ctx, c.user.ID, ch.ID, ts); err != nil {
		return nil, err
	}
	unread, display, err := a.unread(c, ch.ID, ts)
	if err != nil {
		return nil, err
	}
	typ := "channel_marked"
	switch {
	case ch.Type == chat.TypeIM:
		typ = "im_marked"
	case ch.IsPrivate:
		typ = "group_marked"
	}
	frame := rtm.Marked(typ, ch.ID, ts, unread, display, chat.TSOf(time.Now()))
	a.cfg.Presence.UserEvent(c.user.ID, ch.ID, 0, typ, frame)
	return nil, nil
}

// addUnread adds the caller's read mark and unread counts to a
// conversation object (conversations.info of a member).
func (a *API) addUnread(c *call, ch chat.Channel, obj map[string]any) error {
	last, err := a.cfg.Store.LastRead(c.ctx, c.user.ID, ch.ID)
	if err != nil {
		return err
	}
	return a.setUnread(c, ch.ID, last, obj)
}

// addUnreads adds the caller's read marks and unread counts to the
// objects of a listing (conversations.list, users.conversations) for the
// conversations they are in: the marks with one read, and a
// conversation whose newest entry is not after the caller's mark (most,
// for someone who keeps up) counts as read from its last seq and ts
// alone, without reading its history.
func (a *API) addUnreads(c *call, objs []map[string]any, member func(id string) bool) error {
	if len(objs) == 0 {
		return nil
	}
	marks, err := a.cfg.Store.LastReads(c.ctx, c.user.ID)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if id, _ := obj["id"].(string); member(id) {
			if err := a.setUnread(c, id, marks[id], obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// setUnread sets obj's last_read (last, the caller's mark of channel),
// unread_count and unread_count_display.
func (a *API) setUnread(c *call, channel string, last chat.TS, obj map[string]any) error {
	unread, display := 0, 0
	_, newest, err := a.cfg.Store.Last(c.ctx, channel)
	if err == nil && newest > last {
		unread, display, err = a.unread(c, channel, last)
	}
	if err != nil {
		return err
	}
	obj["last_read"] = last.String()
	if last == 0 {
		obj["last_read"] = "0000000000.000000" // never marked, as Slack says it
	}
	obj["unread_count"], obj["unread_count_display"] = unread, display
	return nil
}

// unread counts the messages of channel after last as history shows
// them (no thread replies but those sent to the channel too; a
// tombstone and a member's join or leave are no news) (unread), and those of them not the caller's own
// (display: what a badge shows), both up to unreadCap.
func (a *API) unread(c *call, channel string, last chat.TS) (unread, display int, err error) {
	msgs, _, err := a.cfg.Store.History(c.ctx, channel, store.HistoryQuery{Oldest: last, Limit: unreadCap})
	if err != nil {
		return 0, 0, err
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Subtype() == chat.SubtypeTombstone || m.Kind().MemberKind() {
			continue // no news: a deleted parent, someone joining or leaving
		}
		unread++
		if m.User != c.user.ID {
			display++
		}
	}
	return unread, display, nil
}
