package rtm

import "time"

// Revocation is what a revocation stops: the connections opened with
// one token of a user (or an app), or with any of the user's tokens
// (All: a deactivated user).
type Revocation struct {
	User  string
	Token TokenID
	All   bool
}

// Covers reports whether rv stops a connection of user opened with
// token.
func (rv Revocation) Covers(user string, token TokenID) bool {
	return user == rv.User && (rv.All || token == rv.Token)
}

// RevocationMargin is how long after a server learns of a revocation a
// ticket issued before it may still be issued: by an admin node that
// learns of it from the same log up to a poll later; and a ticket's
// issue time is known to the second (its expiry's).
const RevocationMargin = 2 * time.Second

// Revoked holds the revocations a server learnt (-> when), each until
// every ticket issued before it has expired, so that a ticket handed
// out before a revocation opens no connection after it. Its owner's
// lock guards it.
type Revoked map[Revocation]time.Time

// Add records rv, learnt at now.
func (r Revoked) Add(rv Revocation, now time.Time) { r[rv] = now }

// Stops returns the revocation that t predates, of its token (first)
// or of all its user's tokens; false when there is none.
func (r Revoked) Stops(t Ticket) (Revocation, bool) {
	issued := t.Expires.Add(-TicketTTL)
	for _, rv := range [...]Revocation{{User: t.User, Token: t.Token}, {User: t.User, All: true}} {
		if at, ok := r[rv]; ok && issued.Before(at.Add(RevocationMargin)) {
			return rv, true
		}
	}
	return Revocation{}, false
}

// Forget drops the revocations that no ticket unexpired at now predates.
func (r Revoked) Forget(now time.Time) {
	for rv, at := range r {
		if now.Sub(at) > TicketTTL+RevocationMargin+time.Second {
			delete(r, rv)
		}
	}
}
