package rtm

import (
	"strconv"

	"github.com/ringcast/ringcast/chat"
)

// appendEntry appends the event of a log entry with chat.More, in
// Slack's shapes: a message with a subtype, blocks or attachments;
// message_changed; message_deleted; reaction_added / reaction_removed;
// the channel's changes (a channel_topic or channel_purpose message,
// channel_rename, channel_archive, channel_unarchive); a member's
// channel_join or channel_leave message (their member_joined_channel and
// the rest: MemberEvent, MemberLeft).
// Each carries seq, like every message event, and is made from the
// entry alone, so a replay from the store sends what the live event did.
func appendEntry(b []byte, m *chat.Message, team string) []byte {
	x := m.More
	switch x.Kind {
	case chat.KindEdit:
		b = append(b, `{"type":"message","subtype":"message_changed","hidden":true,"channel":`...)
		b = AppendString(b, m.Channel)
		b = appendTS(b, "ts", m.TS)
		b = appendTS(b, "event_ts", m.TS)
		b = append(b, `,"message":{"type":"message","user":`...)
		b = AppendString(b, x.Author)
		b = append(b, `,"text":`...)
		b = AppendString(b, m.Text)
		b = appendTS(b, "ts", x.Target)
		if m.ThreadTS != 0 {
			b = appendTS(b, "thread_ts", m.ThreadTS)
		}
		b = append(b, `,"edited":{"user":`...)
		b = AppendString(b, m.User)
		b = appendTS(b, "ts", m.TS)
		b = append(b, '}')
		b = appendRich(b, x)
		b = append(b, `},"previous_message":`...)
		b = appendPrevious(b, m, x)
	case chat.KindDelete:
		b = append(b, `{"type":"message","subtype":"message_deleted","hidden":true,"channel":`...)
		b = AppendString(b, m.Channel)
		b = appendTS(b, "ts", m.TS)
		b = appendTS(b, "deleted_ts", x.Target)
		b = appendTS(b, "event_ts", m.TS)
		b = append(b, `,"previous_message":`...)
		b = appendPrevious(b, m, x)
	case chat.KindReactionAdd, chat.KindReactionRemove:
		typ := "reaction_added"
		if x.Kind == chat.KindReactionRemove {
			typ = "reaction_removed"
		}
		b = append(b, `{"type":"`...)
		b = append(b, typ...)
		b = append(b, `","user":`...)
		b = AppendString(b, m.User)
		b = append(b, `,"reaction":`...)
		b = AppendString(b, x.Name)
		b = append(b, `,"item_user":`...)
		b = AppendString(b, x.Author)
		b = append(b, `,"item":{"type":"message","channel":`...)
		b = AppendString(b, m.Channel)
		b = appendTS(b, "ts", x.Target)
		b = append(b, '}')
		b = appendTS(b, "event_ts", m.TS)
		b = appendTS(b, "ts", m.TS)
		b = append(b, `,"channel":`...)
		b = AppendString(b, m.Channel)
	case chat.KindArchive, chat.KindUnarchive:
		typ := "channel_archive"
		if x.Kind == chat.KindUnarchive {
			typ = "channel_unarchive"
		}
		b = append(b, `{"type":"`...)
		b = append(b, typ...)
		b = append(b, `","channel":`...)
		b = AppendString(b, m.Channel)
		b = append(b, `,"user":`...)
		b = AppendString(b, m.User)
		b = appendTS(b, "ts", m.TS)
		b = appendTS(b, "event_ts", m.TS)
	case chat.KindRename:
		b = append(b, `{"type":"channel_rename","channel":{"id":`...)
		b = AppendString(b, m.Channel)
		b = append(b, `,"name":`...)
		b = AppendString(b, x.Name)
		b = append(b, `,"name_normalized":`...)
		b = AppendString(b, x.Name)
		b = append(b, `},"user":`...)
		b = AppendString(b, m.User)
		b = appendTS(b, "ts", m.TS)
		b = appendTS(b, "event_ts", m.TS)
	default: // a message with more than text; a topic or purpose change
		b = append(b, `{"type":"message",`...)
		if x.Subtype != "" {
			b = append(b, `"subtype":`...)
			b = AppendString(b, x.Subtype)
			b = append(b, ',')
		}
		b = append(b, `"channel":`...)
		b = AppendString(b, m.Channel)
		b = append(b, `,"user":`...)
		b = AppendString(b, m.User)
		b = append(b, `,"text":`...)
		b = AppendString(b, m.Text)
		b = appendTS(b, "ts", m.TS)
		b = appendTS(b, "event_ts", m.TS)
		b = append(b, `,"team":`...)
		b = AppendString(b, team)
		if m.ThreadTS != 0 {
			b = appendTS(b, "thread_ts", m.ThreadTS)
		}
		if x.Kind == chat.KindMessage && m.IsReply() && x.Author != "" {
			b = append(b, `,"parent_user_id":`...)
			b = AppendString(b, x.Author)
		}
		if m.ClientMsgID != "" {
			b = append(b, `,"client_msg_id":`...)
			b = AppendString(b, m.ClientMsgID)
		}
		switch x.Kind {
		case chat.KindTopic:
			b = append(b, `,"topic":`...)
			b = AppendString(b, x.Name)
		case chat.KindPurpose:
			b = append(b, `,"purpose":`...)
			b = AppendString(b, x.Name)
		case chat.KindJoin:
			if x.Author != "" {
				b = append(b, `,"inviter":`...)
				b = AppendString(b, x.Author)
			}
		}
		b = appendRich(b, x)
		if x.Bot != nil {
			b = appendBot(b, x.Bot, team)
		}
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	return append(b, '}')
}

// appendPrevious appends an edit's or delete's previous_message object.
func appendPrevious(b []byte, m *chat.Message, x *chat.More) []byte {
	b = append(b, `{"type":"message","user":`...)
	b = AppendString(b, x.Author)
	b = append(b, `,"text":`...)
	b = AppendString(b, x.PrevText)
	b = appendTS(b, "ts", x.Target)
	if m.ThreadTS != 0 {
		b = appendTS(b, "thread_ts", m.ThreadTS)
	}
	return append(b, '}')
}

// appendRich appends blocks and attachments, JSON arrays validated when
// they were given, as they are.
func appendRich(b []byte, x *chat.More) []byte {
	if x.Blocks != "" {
		b = append(b, `,"blocks":`...)
		b = append(b, x.Blocks...)
	}
	if x.Attachments != "" {
		b = append(b, `,"attachments":`...)
		b = append(b, x.Attachments...)
	}
	return b
}

// appendBot appends a bot's message's bot_id, app_id and bot_profile
// (the shape BotFields gives a message object).
func appendBot(b []byte, bot *chat.Bot, team string) []byte {
	b = append(b, `,"bot_id":`...)
	b = AppendString(b, bot.ID)
	b = append(b, `,"app_id":`...)
	b = AppendString(b, bot.AppID)
	b = append(b, `,"bot_profile":{"id":`...)
	b = AppendString(b, bot.ID)
	b = append(b, `,"app_id":`...)
	b = AppendString(b, bot.AppID)
	b = append(b, `,"name":`...)
	b = AppendString(b, bot.Name)
	b = append(b, `,"team_id":`...)
	b = AppendString(b, team)
	b = append(b, `,"deleted":`...)
	b = strconv.AppendBool(b, bot.Deleted)
	return append(b, '}')
}

// BotFields adds a bot's message's bot_id, app_id and bot_profile to a
// message object (the Web API's, an app's event), as Slack sends them:
// Bolt ignores its own messages by bot_id.
func BotFields(o map[string]any, bot chat.Bot, team string) {
	o["bot_id"], o["app_id"] = bot.ID, bot.AppID
	o["bot_profile"] = map[string]any{"id": bot.ID, "app_id": bot.AppID, "name": bot.Name, "team_id": team, "deleted": bot.Deleted}
}

// appendTS appends ,"key":"<ts>".
func appendTS(b []byte, key string, ts chat.TS) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = ts.Append(b)
	return append(b, '"')
}
