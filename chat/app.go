package chat

import "slices"

// App is a Slack app installed in the team: its bot user (a User with
// IsBot) posts and reads as the bot, its app-level token opens Socket
// Mode connections, and the events it subscribes to reach it over Socket
// Mode or, when RequestURL is set, the Events API.
type App struct {
	ID      string // A…
	Name    string
	BotUser string // the bot user's id, U…
	BotID   string // B…: messages the bot posts carry it as bot_id
	// Events are the event subscriptions (message.channels, app_mention...).
	Events []string
	// SigningSecret signs Events API requests. Kept in the clear: the
	// server must compute HMACs with it.
	SigningSecret string
	// RequestURL is where Events API deliveries go ("" for Socket Mode).
	RequestURL string
	Created    int64 // unix seconds
	// Deleted: its bot user is deactivated (admin.apps.delete): it gets
	// no events and opens no connection, and its bot's messages say
	// bot_profile.deleted.
	Deleted bool
}

// Bot is what an app's bot user's messages carry of the app: bot_id,
// app_id and bot_profile (Bolt ignores its own messages by them).
type Bot struct {
	ID      string `json:"id"` // B…
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	Deleted bool   `json:"deleted,omitempty"`
}

// Bot is the app's bot profile.
func (a *App) Bot() Bot { return Bot{ID: a.BotID, AppID: a.ID, Name: a.Name, Deleted: a.Deleted} }

// WithBot is m as its event shows it when a bot posted it: a copy with
// b in its More (chat.More.Bot); m is unchanged.
func (m *Message) WithBot(b *Bot) *Message {
	e := *m
	more := More{}
	if m.More != nil {
		more = *m.More
	}
	more.Bot = b
	e.More = &more
	return &e
}

// Subscribes reports whether the app subscribed to event type ev.
func (a *App) Subscribes(ev string) bool { return slices.Contains(a.Events, ev) }

// Event subscriptions ringcast delivers.
var AppEvents = []string{
	"message.channels", "message.groups", "message.im", "message.mpim", "app_mention",
	// The changes of issue 14's log entries (roles/apps/events.go).
	"reaction_added", "reaction_removed", "channel_rename", "channel_archive", "channel_unarchive",
	"member_joined_channel", "member_left_channel",
}
