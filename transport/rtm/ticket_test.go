package rtm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"
)

func TestTicket(t *testing.T) {
	key := []byte("k")
	now := time.Unix(1_700_000_000, 0)
	tk := NewTicket("U1", 0xfeedface, "gw-1", 42, now)
	tk.Away, tk.Class = true, "unlimited"
	s := tk.Sign(key)
	got, err := ParseTicket(s, key, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got != tk {
		t.Fatalf("parsed %+v, want %+v", got, tk)
	}
	plain := NewTicket("U1", 1, "gw-1", 42, now)
	if got, err := ParseTicket(plain.Sign(key), key, now); err != nil || got != plain || got.Away || got.Class != "" {
		t.Fatalf("a ticket of a person, not away: parsed %+v, %v", got, err)
	}
	bad := map[string]struct {
		s   string
		key []byte
		at  time.Time
	}{
		"expired":            {s, key, now.Add(TicketTTL)},
		"wrong key":          {s, []byte("other"), now},
		"tampered":           {"A" + s[1:], key, now},
		"no mac":             {"abc", key, now},
		"garbage":            {"!!!.???", key, now},
		"empty":              {"", key, now},
		"truncated":          {s[:len(s)-2], key, now},
		"body length":        {Ticket{User: "U1"}.Sign(key)[:3] + "." + "AAAA", key, now},
		"class past the end": {signed(key, binary.AppendVarint(nil, now.Unix()+10), 1, 2, 3, 0, 200), key, now},
		"user past the end":  {signed(key, binary.AppendVarint(nil, now.Unix()+10), 1, 2, 3, 0, 0, 200), key, now},
		// A ticket of the format before, whose user's bytes read as this
		// format's flags, class and a user U1.
		"the format before": {v1(key, now.Add(TicketTTL), "\x00\x02U1", "gw-1"), key, now},
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseTicket(b.s, b.key, b.at); err != ErrBadTicket {
				t.Fatalf("ParseTicket(%q) err = %v", b.s, err)
			}
		})
	}
}

// signed is a ticket body of b and the uvarints nums, with a valid MAC.
func signed(key, b []byte, nums ...uint64) string {
	for _, n := range nums {
		b = binary.AppendUvarint(b, n)
	}
	return enc.EncodeToString(b) + "." + enc.EncodeToString(mac(key, b))
}

// v1 is a ticket in the format before Away and Class, signed as it was:
// a gateway of this build must refuse it, not misread it.
func v1(key []byte, exp time.Time, user, gateway string) string {
	b := binary.AppendVarint(nil, exp.Unix())
	for _, n := range []uint64{1, 2, 3, uint64(len(user))} { // nonce, epoch, token, the user's length
		b = binary.AppendUvarint(b, n)
	}
	b = append(append(b, user...), gateway...)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ringcast-rtm-ticket\x00"))
	m.Write(b)
	return enc.EncodeToString(b) + "." + enc.EncodeToString(m.Sum(nil)[:16])
}

func FuzzParseTicket(f *testing.F) {
	key := []byte("k")
	f.Add(NewTicket("U1", 7, "gw", 9, time.Unix(0, 0)).Sign(key))
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseTicket(s, key, time.Unix(0, 0))
	})
}

func TestUsedClaimsATicketOnceUntilItExpires(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a := NewTicket("U1", 0, "gw-1", 1, now)
	b := NewTicket("U1", 0, "gw-1", 1, now.Add(TicketTTL))
	u := Used{}
	if !u.Claim(a) || !u.Claim(b) {
		t.Fatal("a fresh ticket was refused")
	}
	if u.Claim(a) {
		t.Fatal("a ticket was claimed twice")
	}
	u.Forget(now.Add(TicketTTL + time.Second)) // a has expired, b has not
	if len(u) != 1 || u.Claim(b) {
		t.Fatalf("after Forget: %d nonces kept, b claimable again: want 1 kept and b still used", len(u))
	}
}

func TestRevokedStopsTicketsIssuedBeforeIt(t *testing.T) {
	now := time.Unix(1700000000, 0)
	r := Revoked{}
	r.Add(Revocation{User: "A1", Token: 7}, now)
	r.Add(Revocation{User: "U2", All: true}, now)
	for _, tt := range []struct {
		name string
		tk   Ticket
		want bool
	}{
		{"the revoked token, issued before", NewTicket("A1", 7, "gw", 1, now.Add(-time.Second)), true},
		{"the revoked token, within the margin", NewTicket("A1", 7, "gw", 1, now.Add(RevocationMargin-time.Second)), true},
		{"the revoked token, issued after", NewTicket("A1", 7, "gw", 1, now.Add(RevocationMargin+time.Second)), false},
		{"another token of the app", NewTicket("A1", 8, "gw", 1, now), false},
		{"a deactivated user's any token", NewTicket("U2", 9, "gw", 1, now), true},
		{"someone else", NewTicket("U3", 7, "gw", 1, now), false},
	} {
		if rv, got := r.Stops(tt.tk); got != tt.want || (got && !rv.Covers(tt.tk.User, tt.tk.Token)) {
			t.Errorf("%s: Stops = %v, %v; want %v", tt.name, rv, got, tt.want)
		}
	}
	r.Forget(now.Add(TicketTTL + RevocationMargin)) // a ticket issued before may still be unexpired
	if len(r) != 2 {
		t.Fatalf("forgot too early: %d kept", len(r))
	}
	r.Forget(now.Add(TicketTTL + RevocationMargin + 2*time.Second))
	if len(r) != 0 {
		t.Fatalf("after every earlier ticket expired: %d kept", len(r))
	}
}
