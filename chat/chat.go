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

// Message is one entry of a channel's log.
type Message struct {
	Channel     string
	Seq         uint64
	TS          TS
	User        string
	Text        string
	ThreadTS    TS // 0 when not in a thread
	ClientMsgID string
}
