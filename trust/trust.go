package trust

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"time"
)

// Config says where a node's trust comes from: Secrets (the primary
// first), or the operator's PEM files. With neither, New returns nil:
// links run without TLS (a loopback-only cluster).
type Config struct {
	Self                      string // this node's name: its certificate names it
	Secrets                   []string
	CertFile, KeyFile, CAFile string
}

// Trust is a node's TLS identity and roots. Safe for concurrent use.
type Trust struct {
	self  string
	cert  tls.Certificate
	roots *x509.CertPool
}

// ErrNotTrusted: the peer's certificate does not chain to the roots, or
// does not name the peer.
var ErrNotTrusted = errors.New("trust: peer certificate not trusted")

// New builds the node's trust from cfg; nil (and no error) when cfg has
// neither secrets nor certificate files.
func New(cfg Config) (*Trust, error) {
	files := cfg.CertFile != "" || cfg.KeyFile != "" || cfg.CAFile != ""
	switch {
	case cfg.Self == "":
		return nil, errors.New("trust: the node's name is required")
	case files:
		return fromFiles(cfg)
	case len(cfg.Secrets) > 0:
		return fromSecrets(cfg.Self, cfg.Secrets)
	}
	return nil, nil
}

// caLabel and caInfo make the HKDF derivation of a CA key from a secret
// specific to this use (the gossip key is another derivation).
const (
	caLabel = "ringcast internode CA v1"
	caInfo  = "ed25519 CA key"
)

// ca is a CA derived from a secret.
type ca struct {
	key  ed25519.PrivateKey
	cert *x509.Certificate
}

// deriveCA makes the CA of a secret: the same on every node.
func deriveCA(secret string) (ca, error) {
	seed, err := hkdf.Key(sha256.New, []byte(secret), []byte(caLabel), caInfo, ed25519.SeedSize)
	if err != nil {
		return ca{}, err
	}
	key := ed25519.NewKeyFromSeed(seed)
	pub := key.Public().(ed25519.PublicKey)
	id := sha256.Sum256(pub)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		// The subject names the key, so that the CAs of two secrets
		// never share a name in one pool.
		Subject:               pkix.Name{CommonName: "ringcast cluster CA " + hex.EncodeToString(id[:8])},
		NotBefore:             time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2124, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
		SubjectKeyId:          id[:20],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return ca{}, err
	}
	cert, err := x509.ParseCertificate(der)
	return ca{key, cert}, err
}

// leafLifetime is how long a node's own certificate is valid: it is made
// at every start, so only a process running longer would need more.
const leafLifetime = 10 * 365 * 24 * time.Hour

func fromSecrets(self string, secrets []string) (*Trust, error) {
	roots := x509.NewCertPool()
	var primary ca
	for i, s := range secrets {
		c, err := deriveCA(s)
		if err != nil {
			return nil, fmt.Errorf("trust: derive the CA of secret %d: %w", i+1, err)
		}
		roots.AddCert(c.cert)
		if i == 0 {
			primary = c
		}
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: self},
		NotBefore:      now.Add(-time.Hour), // other nodes' clocks may be behind
		NotAfter:       now.Add(leafLifetime),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		AuthorityKeyId: primary.cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, primary.cert, pub, primary.key)
	if err != nil {
		return nil, fmt.Errorf("trust: sign this node's certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Trust{self: self, roots: roots,
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}, nil
}

func fromFiles(cfg Config) (*Trust, error) {
	if cfg.CertFile == "" || cfg.KeyFile == "" || cfg.CAFile == "" {
		return nil, errors.New("--tls-cert, --tls-key and --tls-ca: give all three")
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", cfg.CAFile)
	}
	t := &Trust{self: cfg.Self, cert: cert, roots: roots}
	// A node must be able to prove its own name, or no peer would take it.
	if _, err := t.verify(cert.Certificate, cfg.Self); err != nil {
		return nil, fmt.Errorf("--tls-cert: %w (it must chain to --tls-ca and name the node %q)", err, cfg.Self)
	}
	return t, nil
}

// Server is the TLS configuration of an accepting node: TLS 1.3, a
// client certificate required and verified against the roots. The
// verified peer's name is PeerName of the connection state.
func (t *Trust) Server() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{t.cert},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := t.verify(rawCerts(cs), "")
			return err
		},
	}
}

// Client is the TLS configuration of a node dialing peer: the server
// certificate must chain to the roots and name peer.
func (t *Trust) Client(peer string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{t.cert},
		// Verified below instead: node names need not be DNS names.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := t.verify(rawCerts(cs), peer)
			return err
		},
	}
}

func rawCerts(cs tls.ConnectionState) [][]byte {
	out := make([][]byte, len(cs.PeerCertificates))
	for i, c := range cs.PeerCertificates {
		out[i] = c.Raw
	}
	return out
}

// verify checks a presented chain against the roots and, when name is
// set, that the leaf names it; it returns the leaf.
func (t *Trust) verify(chain [][]byte, name string) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrNotTrusted)
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotTrusted, err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: t.roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotTrusted, err)
	}
	if name != "" && !Names(certs[0], name) {
		return nil, fmt.Errorf("%w: it names %q, not %q", ErrNotTrusted, certs[0].Subject.CommonName, name)
	}
	return certs[0], nil
}

// Names reports whether cert is for node name: its common name or one of
// its DNS names.
func Names(cert *x509.Certificate, name string) bool {
	return cert.Subject.CommonName == name || slices.Contains(cert.DNSNames, name)
}

// PeerName reports whether the verified peer of a connection may be node
// name (the name its application handshake gave).
func PeerName(cs tls.ConnectionState, name string) bool {
	return len(cs.PeerCertificates) > 0 && Names(cs.PeerCertificates[0], name)
}

// bindingLabel is the exporter label of Binding (RFC 8446, 7.5).
const bindingLabel = "EXPORTER-ringcast-internode-handshake"

// Binding is 32 bytes unique to a TLS connection, the same at both ends:
// mixed into the application handshake's proofs, it makes a proof good
// for this connection only.
func Binding(cs tls.ConnectionState) ([]byte, error) {
	return cs.ExportKeyingMaterial(bindingLabel, nil, 32)
}
