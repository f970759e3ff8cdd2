package chat

import "strings"

// User is an account.
type User struct {
	ID       string
	Name     string
	RealName string
	Email    string
	IsBot    bool
	IsAdmin  bool
	Deleted  bool
	Away     bool  // set away with users.setPresence
	Created  int64 // unix seconds
	// LimitClass names the rate limits that apply to the user: "" (a
	// person's), "bot" or "unlimited" (load tools); see package limit.
	LimitClass string
}

// Channel is a conversation.
type Channel struct {
	ID         string
	Name       string
	Creator    string
	Created    int64 // unix seconds
	IsPrivate  bool
	IsArchived bool
	Topic      string
	Purpose    string
	// Type is a channel's or a direct message's; a direct message is
	// also IsPrivate, so every rule for private channels applies to it.
	Type ChannelType
}

// ChannelType is what a conversation is. The numbers are stored.
type ChannelType uint8

const (
	// TypeChannel is a channel, public or private.
	TypeChannel ChannelType = 0
	// TypeIM is a direct message between two people.
	TypeIM ChannelType = 1
	// TypeMPIM is a group direct message, among three to nine people.
	TypeMPIM ChannelType = 2
)

// IsDM reports whether c is a direct message (one to one or a group).
func (c Channel) IsDM() bool { return c.Type != TypeChannel }

// DMName is the name a direct message among members (distinct user
// ids, sorted) is stored under. No channel can have it (channel names
// have no ':' or ','), and names are unique: the same people always
// find the same conversation.
func DMName(members []string) string { return "dm:" + strings.Join(members, ",") }

// DMMembers are the people of a direct message, from its name (nil for
// a channel): a DM's members never change.
func (c Channel) DMMembers() []string {
	v, ok := strings.CutPrefix(c.Name, "dm:")
	if !ok || !c.IsDM() {
		return nil
	}
	return strings.Split(v, ",")
}

// VisibleTo is the one rule of who may know that a channel exists: a
// public channel is visible to everyone in the team, a private one only
// to its members. Whatever takes a channel from a caller (every Web API
// method, an RTM frame, the owner's answer to a post) answers a caller
// who may not see it exactly as it answers for a channel that does not
// exist: channel_not_found, by id and by name alike.
func (c Channel) VisibleTo(member bool) bool { return !c.IsPrivate || member }

// Message is one entry of a channel's log: a message (top-level or a
// thread reply) or a change to one (an edit, a delete, a reaction added
// or removed). Every entry takes the channel's next seq and a ts of its
// own. A plain message, the hot path's, has More nil.
//
// Read back as the current state of a message (History, Replies,
// MessageAt), More also carries what later entries made of it: its
// edit, its reactions, its thread.
type Message struct {
	Channel     string
	Seq         uint64
	TS          TS
	User        string
	Text        string
	ThreadTS    TS // 0 when not in a thread
	ClientMsgID string
	More        *More // nil: a plain message
}

// Kind says what an entry of the log is.
type Kind uint8

// Entry kinds. Their numbers are stored and never change meaning.
const (
	KindMessage        Kind = 0 // a message, top-level or a thread reply
	KindEdit           Kind = 1 // chat.update of the message at Target: Text, Blocks, Attachments are its new content
	KindDelete         Kind = 2 // chat.delete of the message at Target, by User
	KindReactionAdd    Kind = 3 // User added the reaction Name to the message at Target
	KindReactionRemove Kind = 4 // User removed it
	// Changes to the channel, by User; shown in history as messages with
	// a subtype (channel_topic...). More.Name is the new value.
	KindTopic     Kind = 5 // conversations.setTopic
	KindPurpose   Kind = 6 // conversations.setPurpose
	KindRename    Kind = 7 // conversations.rename
	KindArchive   Kind = 8 // conversations.archive
	KindUnarchive Kind = 9 // conversations.unarchive
	// A member joining or leaving: User is the member; More.Author is
	// who invited or removed them ("" when they joined or left
	// themselves); More.Name is the channel's type as Slack's events give
	// it, "C" for a public channel and "G" for a private one. Shown in
	// history as Slack's channel_join / channel_leave messages.
	KindJoin  Kind = 10 // conversations.join, invite
	KindLeave Kind = 11 // conversations.leave, kick
)

// MemberKind reports whether k is a member joining or leaving.
func (k Kind) MemberKind() bool { return k == KindJoin || k == KindLeave }

// ChannelKind reports whether k changes the channel rather than a
// message.
func (k Kind) ChannelKind() bool { return k >= KindTopic && k <= KindUnarchive }

// More is what an entry or a message's state has beyond a plain
// message. The json names are the stored form's (store/segment,
// store/postgres, the state tables): short, and never renamed.
type More struct {
	Kind   Kind `json:"k,omitempty"`
	Target TS   `json:"t,omitempty"` // an edit, delete or reaction: the message's ts
	// Subtype is Slack's message subtype: thread_broadcast, tombstone...
	Subtype string `json:"st,omitempty"`
	// Name is a reaction's name; a channel change's new value (topic,
	// purpose, name).
	Name string `json:"n,omitempty"`
	// Blocks and Attachments are JSON arrays of objects, as given.
	Blocks      string `json:"b,omitempty"`
	Attachments string `json:"a,omitempty"`
	// Author and PrevText are the target's author and text before the
	// change (an edit's or delete's previous_message, a reaction's
	// item_user), so that every entry's event is made from the entry
	// alone, live or replayed.
	Author   string `json:"au,omitempty"`
	PrevText string `json:"pt,omitempty"`

	// Bot is a bot's post's app (bot_id, app_id, bot_profile): the
	// publisher, which knows its caller, sets it; the channel's owner
	// puts it in the message's live event. It is not stored: reads of
	// the log look the author's app up (store.Apps.AppByBot).
	Bot *Bot `json:"bot,omitempty"`

	// A message's current state (never in a log entry).
	Edited      *Edited    `json:"e,omitempty"`
	Reactions   []Reaction `json:"r,omitempty"`
	ReplyCount  int        `json:"rc,omitempty"`
	ReplyUsers  []string   `json:"ru,omitempty"`
	LatestReply TS         `json:"lr,omitempty"`
	Deleted     bool       `json:"d,omitempty"`
}

// Edited says who last edited a message, and when.
type Edited struct {
	User string `json:"u"`
	TS   TS     `json:"t"`
}

// Reaction is one emoji on a message and who put it there, in order.
type Reaction struct {
	Name  string   `json:"n"`
	Users []string `json:"u"`
}

// SubtypeThreadBroadcast marks a reply also shown in the channel.
const SubtypeThreadBroadcast = "thread_broadcast"

// SubtypeTombstone marks a deleted thread parent that keeps its replies.
const SubtypeTombstone = "tombstone"

// TombstoneText is what a tombstone says.
const TombstoneText = "This message was deleted."

// Kind is the entry's kind.
func (m *Message) Kind() Kind {
	if m.More == nil {
		return KindMessage
	}
	return m.More.Kind
}

// Subtype is the message's Slack subtype ("" for none).
func (m *Message) Subtype() string {
	if m.More == nil {
		return ""
	}
	return m.More.Subtype
}

// IsReply reports whether m is a thread reply.
func (m *Message) IsReply() bool { return m.ThreadTS != 0 && m.ThreadTS != m.TS }

// InHistory reports whether the entry shows in the channel's history:
// a message that is not a reply, a reply also sent to the channel, or a
// change to the channel.
func (m *Message) InHistory() bool {
	k := m.Kind()
	return k == KindMessage && (!m.IsReply() || m.Subtype() == SubtypeThreadBroadcast) || k.ChannelKind() || k.MemberKind()
}

// ChannelSubtypes are the message subtypes of the channel changes, by
// kind (Slack's).
var ChannelSubtypes = map[Kind]string{KindTopic: "channel_topic", KindPurpose: "channel_purpose",
	KindRename: "channel_name", KindArchive: "channel_archive", KindUnarchive: "channel_unarchive",
	KindJoin: "channel_join", KindLeave: "channel_leave"}

// Extra returns m.More, making it first.
func (m *Message) Extra() *More {
	if m.More == nil {
		m.More = &More{}
	}
	return m.More
}
