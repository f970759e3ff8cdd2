package internode

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// MaxHandshakeFrame bounds a handshake message (a Hello or a Proof: a
// few versions, a name of at most 64 bytes, a nonce and a MAC): before a
// peer has proved anything it cannot make this node allocate more.
const MaxHandshakeFrame = 512

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
	// admit, on the listener, says whether a dialer of that name may
	// link (a live member of this node's view); nil admits any name but
	// this node's own.
	admit func(name string) bool
	// With TLS: binding is unique to the connection (trust.Binding),
	// mixed into both proofs so that a proof is worth nothing on another
	// connection; certNames reports whether the peer's verified
	// certificate names a node. Both nil without TLS.
	binding   []byte
	certNames func(name string) bool
	// own holds the nonces of this process's handshakes in progress: a
	// peer giving this node's name is this process only if its nonce is
	// one of them.
	own *Own
}

// run performs the handshake on nc and returns the peer's name and the
// version the link speaks. It reads exactly the handshake's messages
// from nc, so the link's reader starts right after them.
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
func (h handshake) run(nc net.Conn) (peer string, version uint16, err error) {
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer nc.SetDeadline(time.Time{})
	nonce := make([]byte, NonceSize)
	rand.Read(nonce)
	mine := Hello{Versions: h.versions, Name: h.self, Nonce: nonce}
	h.own.add(nonce)
	defer h.own.remove(nonce)
	if h.dialer {
		if err := writeMessage(nc, mine); err != nil {
			return "", 0, err
		}
		var theirs Hello
		if err := readMessage(nc, &theirs); err != nil {
			return "", 0, err
		}
		if h.expect != "" && theirs.Name != h.expect {
			return "", 0, fmt.Errorf("%w: answered as %q, not %q", ErrBadHello, theirs.Name, h.expect)
		}
		if err := h.check(theirs); err != nil {
			return "", 0, err
		}
		if version, err = h.agree(theirs); err != nil {
			return "", 0, err
		}
		if !hmac.Equal(theirs.Proof, proof(h.key, version, h.self, theirs.Name, nonce, theirs.Nonce, h.binding, false)) {
			return "", 0, fmt.Errorf("%w: %s does not know the cluster key", ErrBadHello, theirs.Name)
		}
		err := writeMessage(nc, Proof{MAC: proof(h.key, version, h.self, theirs.Name, nonce, theirs.Nonce, h.binding, true)})
		return theirs.Name, version, err
	}
	var theirs Hello
	if err := readMessage(nc, &theirs); err != nil {
		return "", 0, err
	}
	version, err = h.agree(theirs)
	if err != nil {
		writeMessage(nc, mine) // tells the dialer what this side speaks
		return "", 0, err
	}
	if err := h.check(theirs); err != nil {
		return "", 0, err // before this side proves anything
	}
	mine.Proof = proof(h.key, version, theirs.Name, h.self, theirs.Nonce, nonce, h.binding, false)
	if err := writeMessage(nc, mine); err != nil {
		return "", 0, err
	}
	var p Proof
	if err := readMessage(nc, &p); err != nil {
		return "", 0, err
	}
	if !hmac.Equal(p.MAC, proof(h.key, version, theirs.Name, h.self, theirs.Nonce, nonce, h.binding, true)) {
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

// ErrNotAdmitted: the peer's name is not one this node links with: not a
// live member of its view, its own, or not the name its certificate
// gives.
var ErrNotAdmitted = errors.New("internode: peer not admitted")

// check refuses a peer this side must not link with: one giving this
// node's own name (unless it is this very process, a link to itself),
// one the listener does not admit, or one whose certificate does not
// give its name.
func (h handshake) check(theirs Hello) error {
	name := theirs.Name
	switch {
	case name == h.self && !h.own.has(theirs.Nonce):
		return fmt.Errorf("%w: %q is this node's own name", ErrNotAdmitted, name)
	case name != h.self && !h.dialer && h.admit != nil && !h.admit(name):
		return fmt.Errorf("%w: %q is not a live member of this node's view", ErrNotAdmitted, name)
	case h.certNames != nil && !h.certNames(name):
		return fmt.Errorf("%w: its certificate does not name %q", ErrNotAdmitted, name)
	}
	return nil
}

// proof is a side's HMAC over the exchange. binding (empty without TLS)
// ties it to the TLS connection it is sent on.
func proof(key []byte, version uint16, dialer, listener string, dialerNonce, listenerNonce, binding []byte, byDialer bool) []byte {
	m := hmac.New(sha256.New, key)
	b := []byte("ringcast-internode")
	b = binary.BigEndian.AppendUint16(b, version)
	b = appendStr(b, dialer)
	b = appendStr(b, listener)
	b = appendBytes(b, dialerNonce)
	b = appendBytes(b, listenerNonce)
	b = appendBytes(b, binding)
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
}](r io.Reader, m M) error {
	f, err := readHandshakeFrame(r)
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

// readHandshakeFrame reads one envelope of at most MaxHandshakeFrame
// bytes straight from r: no read-ahead buffer, so that nothing a peer
// sends before it is authenticated is held beyond the message read, and
// what it sends after its last handshake message stays in the
// connection for the link's reader.
func readHandshakeFrame(r io.Reader) (Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxHandshakeFrame {
		return Frame{}, fmt.Errorf("%w: a handshake message of %d bytes, at most %d", ErrFrameTooLarge, n, MaxHandshakeFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return Frame{}, err
	}
	return parseFrame(b)
}
