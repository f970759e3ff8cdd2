package chat

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
