package internode

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// Errors of the handshake.
var (
	// ErrBadHello: the peer failed the handshake (a malformed message, a
	// wrong proof, a different name than expected).
	ErrBadHello = errors.New("internode: bad hello")
	// ErrNoCommonVersion: the two nodes share no protocol version.
	ErrNoCommonVersion = errors.New("internode: no common protocol version")
)

// NonceSize is the length of a handshake nonce.
const NonceSize = 16

// handshakeTimeout bounds a whole handshake.
const handshakeTimeout = 5 * time.Second

// handshake is what a side brings to a link's handshake. It is the one
// place a link is authenticated; its inputs are all here.
type handshake struct {
	dialer   bool     // this side dialed
	self     string   // this node's name
	key      []byte   // the cluster key
	expect   string   // dialer: the name the listener must give ("": any)
	versions []uint16 // the protocol versions this side speaks, lowest first
}

// run performs the handshake on nc (reading through br) and returns the
// peer's name and the version the link speaks.
//
//	dialer -> listener  Hello{versions, name, nonce D}
//	listener -> dialer  Hello{versions, name, nonce L, proof L}
//	dialer -> listener  Proof{proof D}
//
// Each side picks the highest version both list. A proof is
// HMAC-SHA256(cluster key, "ringcast-internode" || version || dialer's
// name || listener's name || nonce D || nonce L || the prover's role), so
// it is good for this exchange only: a recorded handshake fails against
// the other side's fresh nonce. With no common version the listener
// still sends its Hello (without a proof) so that the dialer can say
// which versions each side speaks, and both give up.
func (h handshake) run(nc net.Conn, br *bufio.Reader) (peer string, version uint16, err error) {
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer nc.SetDeadline(time.Time{})
	nonce := make([]byte, NonceSize)
	rand.Read(nonce)
	mine := Hello{Versions: h.versions, Name: h.self, Nonce: nonce}
	if h.dialer {
		if err := writeMessage(nc, mine); err != nil {
			return "", 0, err
		}
		var theirs Hello
		if err := readMessage(br, &theirs); err != nil {
			return "", 0, err
		}
		if h.expect != "" && theirs.Name != h.expect {
			return "", 0, fmt.Errorf("%w: answered as %q, not %q", ErrBadHello, theirs.Name, h.expect)
		}
		if version, err = h.agree(theirs); err != nil {
			return "", 0, err
		}
		if !hmac.Equal(theirs.Proof, proof(h.key, version, h.self, theirs.Name, nonce, theirs.Nonce, false)) {
			return "", 0, fmt.Errorf("%w: %s does not know the cluster key", ErrBadHello, theirs.Name)
		}
		err := writeMessage(nc, Proof{MAC: proof(h.key, version, h.self, theirs.Name, nonce, theirs.Nonce, true)})
		return theirs.Name, version, err
	}
	var theirs Hello
	if err := readMessage(br, &theirs); err != nil {
		return "", 0, err
	}
	version, err = h.agree(theirs)
	if err != nil {
		writeMessage(nc, mine) // tells the dialer what this side speaks
		return "", 0, err
	}
	mine.Proof = proof(h.key, version, theirs.Name, h.self, theirs.Nonce, nonce, false)
	if err := writeMessage(nc, mine); err != nil {
		return "", 0, err
	}
	var p Proof
	if err := readMessage(br, &p); err != nil {
		return "", 0, err
	}
	if !hmac.Equal(p.MAC, proof(h.key, version, theirs.Name, h.self, theirs.Nonce, nonce, true)) {
		return "", 0, fmt.Errorf("%w: %s does not know the cluster key", ErrBadHello, theirs.Name)
	}
	return theirs.Name, version, nil
}

// agree checks the peer's hello and returns the highest version both
// speak.
func (h handshake) agree(theirs Hello) (uint16, error) {
	if theirs.Name == "" || len(theirs.Nonce) != NonceSize {
		return 0, fmt.Errorf("%w: no name or nonce", ErrBadHello)
	}
	for _, v := range slices.Backward(h.versions) {
		if slices.Contains(theirs.Versions, v) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: this node speaks %v, %s speaks %v", ErrNoCommonVersion, h.versions, theirs.Name, theirs.Versions)
}

// proof is a side's HMAC over the exchange.
func proof(key []byte, version uint16, dialer, listener string, dialerNonce, listenerNonce []byte, byDialer bool) []byte {
	m := hmac.New(sha256.New, key)
	b := []byte("ringcast-internode")
	b = binary.BigEndian.AppendUint16(b, version)
	b = appendStr(b, dialer)
	b = appendStr(b, listener)
	b = appendBytes(b, dialerNonce)
	b = appendBytes(b, listenerNonce)
	if byDialer {
		b = append(b, 'D')
	} else {
		b = append(b, 'L')
	}
	m.Write(b)
	return m.Sum(nil)
}

// writeMessage writes one envelope outside a link (the handshake's).
func writeMessage[M Message](nc net.Conn, m M) error {
	_, err := nc.Write(appendEnvelope(nil, 0, m))
	return err
}

// readMessage reads one envelope that must be of m's kind into m.
func readMessage[M interface {
	Message
	Decode([]byte) error
}](br *bufio.Reader, m M) error {
	f, err := readFrame(br)
	if err != nil {
		return err
	}
	if f.Kind != m.Kind() {
		return fmt.Errorf("%w: got %v, want %v", ErrBadHello, f.Kind, m.Kind())
	}
	if err := m.Decode(f.Body); err != nil {
		return fmt.Errorf("%w: %v", ErrBadHello, err)
	}
	return nil
}
