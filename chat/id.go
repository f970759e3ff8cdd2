package chat

import "crypto/rand"

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
