package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
)

// Store is the durable state of a cluster. Implementations are safe for
// concurrent use, and several processes may share one store.
type Store interface {
	Users
	Channels
	Log
	// Meta returns the value of a cluster-wide setting, storing value
	// first when the key is absent (so concurrent callers agree).
	Meta(ctx context.Context, key, value string) (string, error)
	Close() error
}

// Users holds accounts and their API tokens.
type Users interface {
	// CreateUser fails with ErrNameTaken when the name is in use.
	CreateUser(ctx context.Context, u User) error
	User(ctx context.Context, id string) (User, error)
	UserByName(ctx context.Context, name string) (User, error)
	// ListUsers returns up to limit users with id > after, by id.
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
	// PutToken stores the hash of a token for a user.
	PutToken(ctx context.Context, hash []byte, userID string) error
	// TokenUser returns the user a token hash belongs to.
	TokenUser(ctx context.Context, hash []byte) (string, error)
	// SetAway records whether a user set their presence to away.
	SetAway(ctx context.Context, id string, away bool) error
}

// Channels holds channels and their member sets.
type Channels interface {
	// CreateChannel creates c with its creator as the only member; it
	// fails with ErrNameTaken when the name is in use.
	CreateChannel(ctx context.Context, c Channel) error
	Channel(ctx context.Context, id string) (Channel, error)
	ChannelByName(ctx context.Context, name string) (Channel, error)
	// ListChannels returns up to limit channels with id > after, by id.
	ListChannels(ctx context.Context, after string, limit int) ([]Channel, error)
	// AddMember reports whether user was added (false: already a member).
	AddMember(ctx context.Context, channel, user string) (bool, error)
	// RemoveMember reports whether user was removed (false: not a member).
	RemoveMember(ctx context.Context, channel, user string) (bool, error)
	Members(ctx context.Context, channel string) ([]string, error)
	IsMember(ctx context.Context, channel, user string) (bool, error)
	// UserChannels lists the channels a user is a member of.
	UserChannels(ctx context.Context, user string) ([]string, error)
}

// Log holds each channel's messages, in seq order.
type Log interface {
	// Append writes msgs in one transaction, in order. When a message's
	// (channel, seq) already exists, that message and every later message
	// of the same channel in msgs are not written and their entry in the
	// result is ErrConflict; the other channels' messages are unaffected.
	// A non-nil error means nothing was written. (ts needs no check of its
	// own: an owner derives it from the last committed message it loaded,
	// so a stale owner conflicts on seq first.)
	Append(ctx context.Context, msgs []Message) ([]error, error)
	// Messages returns up to limit messages of a channel with seq > after,
	// by seq.
	Messages(ctx context.Context, channel string, after uint64, limit int) ([]Message, error)
	// History returns a channel's messages newest first within q's bounds.
	// It relies on ts growing with seq within a channel.
	History(ctx context.Context, channel string, q HistoryQuery) (msgs []Message, more bool, err error)
	// Last returns the channel's highest seq and its ts (0, 0 when empty).
	Last(ctx context.Context, channel string) (seq uint64, ts TS, err error)
}

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

// HistoryQuery bounds a History read. Oldest and Latest are exclusive
// unless Inclusive; Latest 0 means now. Limit must be positive.
type HistoryQuery struct {
	Oldest, Latest TS
	Inclusive      bool
	Limit          int
}

// TS is a Slack timestamp: microseconds since the Unix epoch, written
// "1700000000.000100". Within a channel it is unique and strictly
// increasing with seq.
type TS int64

// TSOf converts a time to a TS.
func TSOf(t time.Time) TS { return TS(t.UnixMicro()) }

// String formats ts the way Slack does: seconds, a dot, six digits.
func (ts TS) String() string {
	return string(ts.Append(nil))
}

// Append appends the formatted ts to b without allocating.
func (ts TS) Append(b []byte) []byte {
	sec, us := int64(ts)/1e6, int64(ts)%1e6
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	var frac [6]byte
	for i := 5; i >= 0; i-- {
		frac[i] = byte('0' + us%10)
		us /= 10
	}
	return append(b, frac[:]...)
}

// ParseTS reads "1700000000.000100" (or a plain number of seconds).
func ParseTS(s string) (TS, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || len(sec) > 12 || len(frac) > 6 {
		return 0, fmt.Errorf("invalid ts %q", s)
	}
	var us int64
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("invalid ts %q", s)
		}
		for range 6 - len(frac) {
			f *= 10
		}
		us = f
	}
	return TS(n*1e6 + us), nil
}

// idAlphabet is Crockford-style base32 in upper case: Slack ids are A-Z0-9.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a random id of kind prefix ('U', 'C', 'T'), eleven
// characters in all like Slack's, with 50 random bits.
func NewID(prefix byte) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 11)
	out[0] = prefix
	for i, x := range b {
		out[i+1] = idAlphabet[x&31]
	}
	return string(out)
}
