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
