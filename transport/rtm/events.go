package rtm

import (
	"encoding/json"

	"github.com/ringcast/ringcast/chat"
)

// PresenceChange tells a subscriber a user's presence.
func PresenceChange(user, presence string) []byte {
	b := []byte(`{"type":"presence_change","user":`)
	b = AppendString(b, user)
	b = append(b, `,"presence":`...)
	b = AppendString(b, presence)
	return append(b, '}')
}

// ManualPresenceChange tells a user's own sessions they set presence.
func ManualPresenceChange(presence string) []byte {
	b := []byte(`{"type":"manual_presence_change","presence":`)
	b = AppendString(b, presence)
	return append(b, '}')
}

// UserTyping tells a channel's other members that user is typing.
func UserTyping(channel, user string) []byte {
	b := []byte(`{"type":"user_typing","channel":`)
	b = AppendString(b, channel)
	b = append(b, `,"user":`...)
	b = AppendString(b, user)
	return append(b, '}')
}

// MemberEvent is a join or leave entry's member_joined_channel or
// member_left_channel, for the channel's sessions (and apps), made from
// the entry alone (live at the owner or read back from the store).
func MemberEvent(m *chat.Message, team string) []byte {
	typ := "member_joined_channel"
	if m.Kind() == chat.KindLeave {
		typ = "member_left_channel"
	}
	b := []byte(`{"type":"`)
	b = append(b, typ...)
	b = append(b, `","user":`...)
	b = AppendString(b, m.User)
	b = append(b, `,"channel":`...)
	b = AppendString(b, m.Channel)
	b = append(b, `,"channel_type":`...)
	b = AppendString(b, m.More.Name)
	b = append(b, `,"team":`...)
	b = AppendString(b, team)
	if m.Kind() == chat.KindJoin && m.More.Author != "" {
		b = append(b, `,"inviter":`...)
		b = AppendString(b, m.More.Author)
	}
	b = appendTS(b, "event_ts", m.TS)
	return append(b, '}')
}

// MemberLeft is a leave entry's event for the leaver's own sessions:
// channel_left (group_left for a private channel) with the channel's bare
// id, and actor_id when someone else removed them.
func MemberLeft(m *chat.Message) []byte {
	typ := "channel_left"
	if m.More.Name == ChannelTypePrivate {
		typ = "group_left"
	}
	b := []byte(`{"type":"`)
	b = append(b, typ...)
	b = append(b, `","channel":`...)
	b = AppendString(b, m.Channel)
	if m.More.Author != "" {
		b = append(b, `,"actor_id":`...)
		b = AppendString(b, m.More.Author)
	}
	b = appendTS(b, "event_ts", m.TS)
	return append(b, '}')
}

// Channel types as member events give them.
const (
	ChannelTypePublic  = "C"
	ChannelTypePrivate = "G"
)

// ChannelObject is Slack's channel object as a caller sees it; numMembers
// < 0 leaves num_members out.
func ChannelObject(ch chat.Channel, team string, isMember bool, numMembers int) map[string]any {
	o := map[string]any{
		"id": ch.ID, "name": ch.Name, "name_normalized": ch.Name, "created": ch.Created,
		"creator": ch.Creator, "is_channel": true, "is_group": false, "is_im": false,
		"is_mpim": false, "is_private": ch.IsPrivate, "is_archived": ch.IsArchived,
		"is_general": false, "is_member": isMember, "is_shared": false, "is_org_shared": false,
		"context_team_id": team,
		"topic":           map[string]any{"value": ch.Topic, "creator": "", "last_set": 0},
		"purpose":         map[string]any{"value": ch.Purpose, "creator": "", "last_set": 0},
	}
	if ch.Type == chat.TypeMPIM {
		// A group DM is a private group to Slack's clients; its name is
		// the one the caller gives (an mpdm-… name from its members').
		o["is_channel"], o["is_group"], o["is_mpim"] = false, true, true
	}
	if numMembers >= 0 {
		o["num_members"] = numMembers
	}
	return o
}

// IMObject is Slack's object of a one-to-one direct message as one of
// its two people sees it: user is the other one; open is false when
// they closed it (conversations.close).
func IMObject(ch chat.Channel, user, team string, open bool) map[string]any {
	return map[string]any{
		"id": ch.ID, "created": ch.Created, "is_im": true, "is_org_shared": false, "user": user,
		"is_user_deleted": false, "priority": 0, "is_open": open, "is_archived": ch.IsArchived,
		"context_team_id": team,
	}
}

// IMCreated tells one of a new direct message's two people about it
// (user is the other one), as Slack does.
func IMCreated(ch chat.Channel, user, team string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "im_created", "user": user, "channel": IMObject(ch, user, team, true)})
	return b
}

// DMEvent tells a person's sessions that a direct message was opened or
// closed: typ is im_open, im_close, mpim_open (also a new group DM's)
// or mpim_close; user is who opened or closed it.
func DMEvent(typ, channel, user string, ts chat.TS) []byte {
	b := []byte(`{"type":"`)
	b = append(b, typ...)
	b = append(b, `","user":`...)
	b = AppendString(b, user)
	b = append(b, `,"channel":`...)
	b = AppendString(b, channel)
	b = append(b, `,"event_ts":"`...)
	b = ts.Append(b)
	return append(b, `"}`...)
}

// Marked tells a user's sessions they marked a conversation read up to
// ts (conversations.mark): typ is channel_marked, group_marked or
// im_marked, by the kind of conversation.
func Marked(typ, channel string, ts chat.TS, unread, display int, eventTS chat.TS) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "channel": channel, "ts": ts.String(),
		"unread_count": unread, "unread_count_display": display, "num_mentions": 0, "num_mentions_display": 0,
		"mention_count": 0, "event_ts": eventTS.String()})
	return b
}

// ChannelJoined tells the joiner's sessions they are now in ch (a full
// channel object, as Slack sends it).
func ChannelJoined(ch chat.Channel, team string, numMembers int) []byte {
	typ := "channel_joined"
	if ch.IsPrivate && !ch.IsDM() {
		typ = "group_joined" // Slack's event for a private channel
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "channel": ChannelObject(ch, team, true, numMembers)})
	return b
}
