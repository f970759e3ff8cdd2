package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/ringcast/ringcast/chat"
)

// Errors every implementation returns for the same conditions.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrNameTaken: a user or channel already has that name.
	ErrNameTaken = errors.New("name taken")
	// ErrConflict: another writer already appended this (channel, seq);
	// the caller's view of the channel is stale.
	ErrConflict = errors.New("seq already written by another owner")
	// ErrRevoked: the token was revoked (auth.revoke).
	ErrRevoked = errors.New("token revoked")
	// ErrSchemaTooNew: the database was migrated by a newer ringcast than
	// this one; Open refuses it rather than guess at tables it does not
	// know.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
)

// SchemaTooNew is the error Open returns for a database at schema
// version have when the binary knows versions up to known.
func SchemaTooNew(have, known int) error {
	return fmt.Errorf("store: %w: the database is at schema version %d, this binary knows versions up to %d "+
		"(run the ringcast release that migrated it, or a newer one; downgrades are not supported)", ErrSchemaTooNew, have, known)
}

// Store is the durable state of a cluster. Implementations are safe for
// concurrent use, and several processes may share one store.
type Store interface {
	Users
	Channels
	Log
	Marks
	Apps
	Search
	// Meta returns the value of a cluster-wide setting, storing value
	// first when the key is absent (so concurrent callers agree).
	Meta(ctx context.Context, key, value string) (string, error)
	Close() error
}

// Users holds accounts and their API tokens.
type Users interface {
	// CreateUser fails with ErrNameTaken when the name is in use.
	CreateUser(ctx context.Context, u chat.User) error
	User(ctx context.Context, id string) (chat.User, error)
	UserByName(ctx context.Context, name string) (chat.User, error)
	// ListUsers returns up to limit users with id > after, by id.
	ListUsers(ctx context.Context, after string, limit int) ([]chat.User, error)
	// PutToken stores the hash of a token for a user.
	PutToken(ctx context.Context, hash []byte, userID string) error
	// TokenUser returns the user a token hash belongs to; ErrRevoked
	// once it was revoked.
	TokenUser(ctx context.Context, hash []byte) (string, error)
	// SetAway records whether a user set their presence to away.
	SetAway(ctx context.Context, id string, away bool) error
	// RevokeToken revokes a token for good and logs the revocation (see
	// Revocations); it returns the token's user, ErrNotFound when there
	// is no such token. Revoking twice is not an error.
	RevokeToken(ctx context.Context, hash []byte) (userID string, err error)
	// SetDeleted deactivates a user (or activates them again); a
	// deactivation is logged as a revocation of all their tokens.
	SetDeleted(ctx context.Context, id string, deleted bool) error
	// SetLimitClass sets the user's rate-limit class.
	SetLimitClass(ctx context.Context, id, class string) error
	// Revocations returns up to limit logged revocations with id > after,
	// by id: how every node learns, within its polling interval, that a
	// token or a user's sessions must stop working.
	Revocations(ctx context.Context, after int64, limit int) ([]Revocation, error)
}

// Revocation is one entry of the revocation log: a token (its hash), or
// every token of a user when Token is nil.
type Revocation struct {
	ID    int64
	Token []byte
	User  string
}

// Channels holds channels and their member sets.
type Channels interface {
	// CreateChannel creates c with its creator as the only member; it
	// fails with ErrNameTaken when the name is in use.
	CreateChannel(ctx context.Context, c chat.Channel) error
	Channel(ctx context.Context, id string) (chat.Channel, error)
	ChannelByName(ctx context.Context, name string) (chat.Channel, error)
	// ListChannels returns up to limit channels with id > after, by id.
	ListChannels(ctx context.Context, after string, limit int) ([]chat.Channel, error)
	// Members change only with the log: a join or leave entry's Append
	// writes them (ApplyEntry), so a membership is as durable, ordered and
	// fenced as the channel's messages.
	Members(ctx context.Context, channel string) ([]string, error)
	IsMember(ctx context.Context, channel, user string) (bool, error)
	// UserChannels lists the channels a user is a member of.
	UserChannels(ctx context.Context, user string) ([]string, error)
	// OpenDM returns the direct message among members (distinct user ids,
	// sorted), creating it as c, named chat.DMName(members) with exactly
	// them as members, when there is none (created is then true). The
	// same people always get the same conversation, whichever node asks
	// and however many ask at once.
	OpenDM(ctx context.Context, c chat.Channel, members []string) (ch chat.Channel, created bool, err error)
}

// Marks holds how far each person has read each conversation
// (conversations.mark): what unread counts are counted from.
type Marks interface {
	// SetLastRead records that user has read channel up to ts.
	SetLastRead(ctx context.Context, user, channel string, ts chat.TS) error
	// LastRead is what SetLastRead recorded last, 0 when nothing was.
	LastRead(ctx context.Context, user, channel string) (chat.TS, error)
	// LastReads are every mark of user, by channel (one read for a list
	// of conversations).
	LastReads(ctx context.Context, user string) (map[string]chat.TS, error)
	// SetClosed records that user closed a direct message (closed) or
	// opened it again, and reports whether that changed anything
	// (conversations.close, conversations.open).
	SetClosed(ctx context.Context, user, channel string, closed bool) (changed bool, err error)
	// ClosedDMs are the direct messages user has closed (one read for a
	// list of conversations: their is_open).
	ClosedDMs(ctx context.Context, user string) (map[string]bool, error)
}

// Log holds each channel's entries (messages and the changes to them,
// see chat.Kind), in seq order, and each message's current state.
type Log interface {
	// Append writes msgs in one transaction, in order. When a message's
	// (channel, seq) already exists, that message and every later message
	// of the same channel in msgs are not written and their entry in the
	// result is ErrConflict; the other channels' messages are unaffected.
	// A non-nil error means nothing was written. (ts needs no check of its
	// own: an owner derives it from the last committed message it loaded,
	// so a stale owner conflicts on seq first.)
	Append(ctx context.Context, msgs []chat.Message) ([]error, error)
	// Append also applies each entry to the state of the messages it
	// changes (ApplyEntry), in the same transaction.
	//
	// Messages returns up to limit entries of a channel with seq > after,
	// by seq.
	Messages(ctx context.Context, channel string, after uint64, limit int) ([]chat.Message, error)
	// History returns a channel's messages in their current state,
	// newest first within q's bounds: no thread replies but those sent to
	// the channel too, no deleted message but tombstones. It relies on ts
	// growing with seq within a channel.
	History(ctx context.Context, channel string, q HistoryQuery) (msgs []chat.Message, more bool, err error)
	// Last returns the channel's highest seq and its ts (0, 0 when empty).
	Last(ctx context.Context, channel string) (seq uint64, ts chat.TS, err error)
	// MessageAt returns the current state of the channel's message at ts
	// (ErrNotFound: none, or it was deleted).
	MessageAt(ctx context.Context, channel string, ts chat.TS) (chat.Message, error)
	// Replies returns a thread in its current state, oldest first: the
	// parent on the first page, then its replies (ErrNotFound: no such
	// top-level message).
	Replies(ctx context.Context, channel string, q RepliesQuery) (msgs []chat.Message, more bool, err error)
}

// Apps holds the installed apps and, per app and channel, the seq up to
// which the app's events were delivered and acknowledged. An app's
// app-level token is a row of the token table whose user is the app's
// id (PutToken, TokenUser, RevokeToken). An app is deleted when its bot
// user is deactivated (chat.App.Deleted).
type Apps interface {
	// CreateApp fails with ErrNameTaken when the name is in use.
	CreateApp(ctx context.Context, a chat.App) error
	App(ctx context.Context, id string) (chat.App, error)
	// AppByBot returns the app whose bot user is user.
	AppByBot(ctx context.Context, user string) (chat.App, error)
	// ListApps returns up to limit apps with id > after, by id; deleted
	// ones are left out.
	ListApps(ctx context.Context, after string, limit int) ([]chat.App, error)
	// UpdateApp sets the name, events and request URL of app a.ID, and
	// renames its bot user to the name, in one transaction: ErrNotFound
	// when there is no such app, ErrNameTaken when the name is an
	// app's or a user's.
	UpdateApp(ctx context.Context, a chat.App) error
	// DeleteApp deletes app id (admin.apps.delete) in one transaction:
	// its bot user is deactivated, the tokens of the app and of its bot
	// user are revoked, and both revocations are logged (a revocation of
	// every token of the app's id, and of the bot user's). The app's row
	// stays, so that its bot's messages keep their bot_id (App and
	// AppByBot answer it with Deleted set). ErrNotFound when there is no
	// such app, or it was deleted.
	DeleteApp(ctx context.Context, id string) error
	// Positions returns the app's delivered seq per channel.
	Positions(ctx context.Context, app string) (map[string]uint64, error)
	// SetPositions records the app's delivered seq of each channel in
	// pos, in one transaction.
	SetPositions(ctx context.Context, app string, pos map[string]uint64) error
}

// HistoryQuery bounds a History read. Oldest and Latest are exclusive
// unless Inclusive; Latest 0 means now. Limit must be positive.
type HistoryQuery struct {
	Oldest, Latest chat.TS
	Inclusive      bool
	Limit          int
}
