package rtm

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// TicketTTL is how long an rtm.connect URL stays valid (Slack: 30s).
const TicketTTL = 30 * time.Second

// ErrBadTicket: the ticket is malformed, forged, expired or for another
// gateway.
var ErrBadTicket = errors.New("invalid or expired ticket")

// Ticket authorises one websocket connection of User to Gateway. It rides
// in the URL path (/rtm/<ticket>) because slack-go replaces the query.
type Ticket struct {
	User    string
	Gateway string
	// Epoch is the gateway process's (ring.Meta.Epoch): the gateway
	// refuses a ticket of another epoch, so tickets die with the process
	// that would remember their nonces.
	Epoch   uint64
	Token   TokenID // the token rtm.connect was called with
	Expires time.Time
	Nonce   uint64
	// What the session needs of the user, as rtm.connect knew it, so
	// that the gateway does not read the user again: the away flag
	// (users.setPresence) and the limit class's name. They are up to
	// UserDataAge old when the gateway reads them; the presence node
	// corrects a stale away flag (docs/ARCHITECTURE.md, "The away flag
	// in the ticket").
	Away  bool
	Class string
}

// UserDataAge bounds how old a ticket's user data (Away, Class) is when
// the ticket is used: rtm.connect takes it from a token lookup the admin
// role caches up to TicketTTL, and the ticket lives TicketTTL more.
const UserDataAge = 2 * TicketTTL

// Used holds the nonces of the tickets that have opened a connection,
// each until its ticket expires, so that a ticket opens one. Its owner's
// lock guards it.
type Used map[uint64]time.Time

// Claim marks t used; false when it already was.
func (u Used) Claim(t Ticket) bool {
	if _, used := u[t.Nonce]; used {
		return false
	}
	u[t.Nonce] = t.Expires
	return true
}

// Forget drops the nonces of the tickets expired at now.
func (u Used) Forget(now time.Time) {
	for n, exp := range u {
		if now.After(exp) {
			delete(u, n)
		}
	}
}

// TokenID names a token in a ticket and a session: the first 8 bytes of
// the token's SHA-256 (the hash the store keeps), enough to find the
// sessions a revocation must close.
type TokenID uint64

// TokenIDOf is the id of a token with hash h.
func TokenIDOf(h []byte) TokenID {
	if len(h) < 8 {
		return 0
	}
	return TokenID(binary.BigEndian.Uint64(h))
}

var enc = base64.RawURLEncoding

// Sign encodes t with a MAC under key.
func (t Ticket) Sign(key []byte) string {
	var b []byte
	b = binary.AppendVarint(b, t.Expires.Unix())
	b = binary.AppendUvarint(b, t.Nonce)
	b = binary.AppendUvarint(b, t.Epoch)
	b = binary.AppendUvarint(b, uint64(t.Token))
	var flags uint64
	if t.Away {
		flags |= flagAway
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendUvarint(b, uint64(len(t.Class)))
	b = append(b, t.Class...)
	b = binary.AppendUvarint(b, uint64(len(t.User)))
	b = append(b, t.User...)
	b = append(b, t.Gateway...)
	return enc.EncodeToString(b) + "." + enc.EncodeToString(mac(key, b))
}

// NewTicket makes a ticket for user's token on gateway (of epoch),
// valid for TicketTTL.
func NewTicket(user string, token TokenID, gateway string, epoch uint64, now time.Time) Ticket {
	var n [8]byte
	_, _ = rand.Read(n[:])
	return Ticket{User: user, Token: token, Gateway: gateway, Epoch: epoch, Expires: now.Add(TicketTTL),
		Nonce: binary.LittleEndian.Uint64(n[:])}
}

// ParseTicket checks s's MAC and expiry and decodes it.
func ParseTicket(s string, key []byte, now time.Time) (Ticket, error) {
	body64, mac64, ok := strings.Cut(s, ".")
	if !ok || len(s) > 512 {
		return Ticket{}, ErrBadTicket
	}
	body, err1 := enc.DecodeString(body64)
	sum, err2 := enc.DecodeString(mac64)
	if err1 != nil || err2 != nil || !hmac.Equal(sum, mac(key, body)) {
		return Ticket{}, ErrBadTicket
	}
	exp, n := binary.Varint(body)
	if n <= 0 {
		return Ticket{}, ErrBadTicket
	}
	body = body[n:]
	var nums [4]uint64 // nonce, epoch, token, flags
	for i := range nums {
		if nums[i], n = binary.Uvarint(body); n <= 0 {
			return Ticket{}, ErrBadTicket
		}
		body = body[n:]
	}
	class, body, ok := cutString(body)
	if !ok {
		return Ticket{}, ErrBadTicket
	}
	user, body, ok := cutString(body)
	if !ok {
		return Ticket{}, ErrBadTicket
	}
	t := Ticket{User: user, Gateway: string(body), Expires: time.Unix(exp, 0),
		Nonce: nums[0], Epoch: nums[1], Token: TokenID(nums[2]), Away: nums[3]&flagAway != 0, Class: class}
	if !now.Before(t.Expires) {
		return Ticket{}, ErrBadTicket
	}
	return t, nil
}

// flagAway is the ticket's flags bit for Ticket.Away.
const flagAway = 1

// cutString reads a length-prefixed string off the front of b.
func cutString(b []byte) (s string, rest []byte, ok bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", nil, false
	}
	b = b[n:]
	return string(b[:l]), b[l:], true
}

func mac(key, b []byte) []byte {
	m := hmac.New(sha256.New, key)
	// The domain names the format: a ticket of another format (v1,
	// before Away and Class) fails the MAC instead of being misread.
	m.Write([]byte("ringcast-rtm-ticket-v2\x00"))
	m.Write(b)
	return m.Sum(nil)[:16]
}
