package apps

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/appevent"
	"github.com/ringcast/ringcast/transport/rtm"
)

// events are the app's events of one log entry, as it subscribed: the
// message (message.channels, message.groups, message.im, message.mpim by
// the conversation) and, when it mentions the bot, app_mention. Each has an id made from the entry, so that every
// delivery of it, after a restart too, carries the same event_id.
func (d *dispatcher) events(ctx context.Context, ch chat.Channel, m *chat.Message) []appevent.Event {
	var out []appevent.Event
	sub, chType := "message.channels", "channel"
	switch {
	case ch.Type == chat.TypeIM:
		sub, chType = "message.im", "im"
	case ch.Type == chat.TypeMPIM:
		sub, chType = "message.mpim", "mpim"
	case ch.IsPrivate:
		sub, chType = "message.groups", "group"
	}
	if k := m.Kind(); k.MemberKind() {
		return d.memberEvents(m, sub)
	} else if k != chat.KindMessage {
		return d.changeEvents(m, sub)
	}
	bot := d.botOf(ctx, m.User)
	if d.app.Subscribes(sub) {
		ev := messageEvent(m, d.a.cfg.Team, chType, bot)
		out = append(out, appevent.Event{ID: eventID(m, 'M'), Time: int64(m.TS) / 1e6, Body: ev})
	}
	if d.app.Subscribes("app_mention") && m.User != d.app.BotUser && strings.Contains(m.Text, "<@"+d.app.BotUser+">") {
		ev := map[string]any{"type": "app_mention", "user": m.User, "text": m.Text, "ts": m.TS.String(),
			"channel": m.Channel, "event_ts": m.TS.String(), "team": d.a.cfg.Team}
		decorate(ev, m, bot, d.a.cfg.Team)
		b, _ := json.Marshal(ev)
		out = append(out, appevent.Event{ID: eventID(m, 'A'), Time: int64(m.TS) / 1e6, Body: b})
	}
	return out
}

// changeEvents are the app's events of a change entry (issue 14), in
// the shapes RTM sends them: message_changed and message_deleted, and a
// topic or purpose message, under the conversation's message
// subscription; reaction_added / reaction_removed, channel_rename,
// channel_archive and channel_unarchive under their own names.
func (d *dispatcher) changeEvents(m *chat.Message, sub string) []appevent.Event {
	name := sub
	switch m.Kind() {
	case chat.KindReactionAdd:
		name = "reaction_added"
	case chat.KindReactionRemove:
		name = "reaction_removed"
	case chat.KindRename:
		name = "channel_rename"
	case chat.KindArchive:
		name = "channel_archive"
	case chat.KindUnarchive:
		name = "channel_unarchive"
	}
	if !d.app.Subscribes(name) {
		return nil
	}
	return []appevent.Event{{ID: eventID(m, 'C'), Time: int64(m.TS) / 1e6, Body: rtm.AppendMessage(nil, m, d.a.cfg.Team)}}
}

// memberEvents are the app's events of a member joining or leaving:
// member_joined_channel or member_left_channel under its name (the bot's
// own too: its first event of a channel it is invited to, its last of
// one it is removed from), then the channel_join or channel_leave
// message under the conversation's message subscription (not the bot's
// own leave's: the bot is out of the channel from it).
func (d *dispatcher) memberEvents(m *chat.Message, sub string) []appevent.Event {
	var out []appevent.Event
	name := "member_joined_channel"
	if m.Kind() == chat.KindLeave {
		name = "member_left_channel"
	}
	if d.app.Subscribes(name) {
		out = append(out, appevent.Event{ID: eventID(m, 'J'), Time: int64(m.TS) / 1e6, Body: rtm.MemberEvent(m, d.a.cfg.Team)})
	}
	if d.app.Subscribes(sub) && d.ownMember(m) != chat.KindLeave {
		out = append(out, appevent.Event{ID: eventID(m, 'C'), Time: int64(m.TS) / 1e6, Body: rtm.AppendMessage(nil, m, d.a.cfg.Team)})
	}
	return out
}

// eventID is Ev, the channel id, the seq and the kind of event.
func eventID(m *chat.Message, kind byte) string {
	return fmt.Sprintf("Ev%s%X%c", strings.TrimLeft(m.Channel, "CDG"), m.Seq, kind)
}

// messageEvent is the Events API's message event.
func messageEvent(m *chat.Message, team, chType string, bot chat.Bot) []byte {
	ev := map[string]any{"type": "message", "channel": m.Channel, "user": m.User, "text": m.Text,
		"ts": m.TS.String(), "event_ts": m.TS.String(), "channel_type": chType, "team": team}
	decorate(ev, m, bot, team)
	b, _ := json.Marshal(ev)
	return b
}

// decorate adds what a message may have: its thread, client_msg_id, and
// a bot's app (Bolt ignores its own messages by its bot_id).
func decorate(ev map[string]any, m *chat.Message, bot chat.Bot, team string) {
	if m.ThreadTS != 0 {
		ev["thread_ts"] = m.ThreadTS.String()
	}
	if m.ClientMsgID != "" {
		ev["client_msg_id"] = m.ClientMsgID
	}
	if x := m.More; x != nil {
		if x.Subtype != "" {
			ev["subtype"] = x.Subtype
		}
		if x.Kind == chat.KindMessage && m.IsReply() && x.Author != "" {
			ev["parent_user_id"] = x.Author
		}
		if x.Blocks != "" {
			ev["blocks"] = json.RawMessage(x.Blocks)
		}
		if x.Attachments != "" {
			ev["attachments"] = json.RawMessage(x.Attachments)
		}
	}
	if bot.ID != "" {
		rtm.BotFields(ev, bot, team)
	}
}
