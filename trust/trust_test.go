package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	oldKey = "old-secret-4Fq9Zr2Lm7Xv5Tn1Wc8Pb3Hs6Kd0Jg="
	newKey = "new-secret-7Nb2Qa5Ve9Zk1Mu6Rj3Tc8Lw4Hp0Sx="
)

// must returns v, panicking on err (the test fails with the error).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pair runs a TLS handshake between a listener trusting ls and a dialer
// trusting ds that expects the listener to be named peer; it returns
// both errors and, when both succeed, both ends' states.
func pair(t *testing.T, ls, ds *Trust, peer string) (serr, cerr error, sst, cst tls.ConnectionState) {
	t.Helper()
	// Loopback TCP, not net.Pipe: a pipe has no buffer, and a side that
	// fails mid-flight would block writing its alert to one still writing.
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	defer ln.Close()
	b := must(net.Dial("tcp", ln.Addr().String()))
	a := must(ln.Accept())
	defer a.Close()
	defer b.Close()
	srv, cli := tls.Server(a, ls.Server()), tls.Client(b, ds.Client(peer))
	done := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		if err != nil {
			a.Close() // unblock the client
		}
		done <- err
	}()
	cerr = cli.Handshake()
	if cerr != nil {
		b.Close()
	}
	serr = <-done
	return serr, cerr, srv.ConnectionState(), cli.ConnectionState()
}

func TestSecretsTLS(t *testing.T) {
	a := must(New(Config{Self: "a", Secrets: []string{oldKey}}))
	b := must(New(Config{Self: "b", Secrets: []string{oldKey}}))
	serr, cerr, sst, cst := pair(t, a, b, "a")
	if serr != nil || cerr != nil {
		t.Fatalf("same secret: %v / %v", serr, cerr)
	}
	if sst.Version != tls.VersionTLS13 || !PeerName(sst, "b") || PeerName(sst, "a") || !PeerName(cst, "a") {
		t.Fatalf("version %x, names wrong", sst.Version)
	}
	sb, cb := must(Binding(sst)), must(Binding(cst))
	if !bytes.Equal(sb, cb) || len(sb) != 32 {
		t.Fatalf("bindings differ: %x %x", sb, cb)
	}
	_, _, sst2, _ := pair(t, a, b, "a")
	if bytes.Equal(must(Binding(sst2)), sb) {
		t.Fatal("two connections share a binding")
	}
	// The dialer expects another name: refused.
	if _, cerr, _, _ := pair(t, a, b, "c"); !errors.Is(cerr, ErrNotTrusted) {
		t.Fatalf("wrong peer name: %v", cerr)
	}
	// Another secret: neither side trusts the other.
	x := must(New(Config{Self: "x", Secrets: []string{newKey}}))
	if serr, cerr, _, _ := pair(t, a, x, "a"); cerr == nil && serr == nil {
		t.Fatal("a node of another secret was trusted")
	}
	if serr, cerr, _, _ := pair(t, x, a, "x"); cerr == nil && serr == nil {
		t.Fatal("a node of another secret was trusted (reverse)")
	}
	if tr, err := New(Config{Self: "a"}); tr != nil || err != nil {
		t.Fatalf("no secret, no files: %v, %v; want nil, nil", tr, err)
	}
}

// TestRotation: each step of a key rotation overlaps the one before: a
// node still on the old list and one already on the new one talk, both
// ways.
func TestRotation(t *testing.T) {
	steps := [][]string{{oldKey}, {oldKey, newKey}, {newKey, oldKey}, {newKey}}
	for i := 0; i+1 < len(steps); i++ {
		before := must(New(Config{Self: "before", Secrets: steps[i]}))
		after := must(New(Config{Self: "after", Secrets: steps[i+1]}))
		for _, dir := range []struct {
			l, d *Trust
			name string
		}{{before, after, "before"}, {after, before, "after"}} {
			if serr, cerr, _, _ := pair(t, dir.l, dir.d, dir.name); serr != nil || cerr != nil {
				t.Fatalf("step %d -> %d, %s listening: %v / %v", i, i+1, dir.name, serr, cerr)
			}
		}
	}
	// Skipping a step does not work: the old list and the new one alone.
	o := must(New(Config{Self: "o", Secrets: []string{oldKey}}))
	n := must(New(Config{Self: "n", Secrets: []string{newKey}}))
	if serr, cerr, _, _ := pair(t, o, n, "o"); serr == nil && cerr == nil {
		t.Fatal("old and new lists with no key in common talked")
	}
}

// writePEM writes a PEM block to a file in dir.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOperatorCertificates: a node with the operator's certificate talks
// to another signed by the same CA, names checked; a certificate of
// another name is refused at start.
func TestOperatorCertificates(t *testing.T) {
	dir := t.TempDir()
	caPub, caKey := must2(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ops CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER := must(x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caPub, caKey))
	caCert := must(x509.ParseCertificate(caDER))
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	node := func(name, dns string) Config {
		pub, key := must2(t)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "host"}, DNSNames: []string{dns},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		der := must(x509.CreateCertificate(rand.Reader, tmpl, caCert, pub, caKey))
		keyDER := must(x509.MarshalPKCS8PrivateKey(key))
		return Config{Self: name, CertFile: writePEM(t, dir, name+".pem", "CERTIFICATE", der),
			KeyFile: writePEM(t, dir, name+".key", "PRIVATE KEY", keyDER), CAFile: caFile}
	}
	a := must(New(node("ch-1", "ch-1")))
	b := must(New(node("gw-1", "gw-1")))
	if serr, cerr, sst, _ := pair(t, a, b, "ch-1"); serr != nil || cerr != nil || !PeerName(sst, "gw-1") {
		t.Fatalf("operator certificates: %v / %v", serr, cerr)
	}
	if _, err := New(node("ch-2", "someone-else")); !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("a certificate for another name: %v", err)
	}
	if _, err := New(Config{Self: "x", CertFile: "a"}); err == nil {
		t.Fatal("--tls-cert alone accepted")
	}
	// Derived and operator trust do not mix.
	s := must(New(Config{Self: "s", Secrets: []string{oldKey}}))
	if serr, cerr, _, _ := pair(t, a, s, "ch-1"); serr == nil && cerr == nil {
		t.Fatal("a secret-derived certificate was trusted by the operator's CA")
	}
}

func must2(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, key
}

func TestDerivedCAIsDeterministic(t *testing.T) {
	a, b := must(deriveCA(oldKey)), must(deriveCA(oldKey))
	if !a.key.Equal(b.key) || a.cert.Subject.CommonName != b.cert.Subject.CommonName {
		t.Fatal("one secret, two CAs")
	}
	if c := must(deriveCA(newKey)); c.cert.Subject.CommonName == a.cert.Subject.CommonName {
		t.Fatal("two secrets, one CA name")
	}
}

// opsCA is an operator's CA for the tests: it signs node certificates.
type opsCA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
	der  []byte
}

func newOpsCA(t *testing.T, name string) opsCA {
	pub, key := must2(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key))
	return opsCA{cert: must(x509.ParseCertificate(der)), key: key, der: der}
}

// operatorNode is node name's Trust with a certificate signed by signer
// and a --tls-ca bundle of the CAs in bundle.
func operatorNode(t *testing.T, name string, signer opsCA, bundle ...opsCA) *Trust {
	dir := t.TempDir()
	pub, key := must2(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, signer.cert, pub, signer.key))
	var pems []byte
	for _, ca := range bundle {
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der})...)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pems, 0o600); err != nil {
		t.Fatal(err)
	}
	return must(New(Config{Self: name, CertFile: writePEM(t, dir, "node.pem", "CERTIFICATE", der),
		KeyFile: writePEM(t, dir, "node.key", "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(key))), CAFile: caFile}))
}

// TestOperatorCARotation: the operator's CA is replaced as docs/SECURITY.md
// says, with a node on one step and a node on the next linking at every
// step: both CAs in every bundle, then each node's certificate from the
// new CA, then the old CA out of the bundles. Skipping the first step
// partitions the cluster.
func TestOperatorCARotation(t *testing.T) {
	prev, next := newOpsCA(t, "ops CA 2025"), newOpsCA(t, "ops CA 2026")
	steps := []func(name string) *Trust{
		func(n string) *Trust { return operatorNode(t, n, prev, prev) },       // 0. before
		func(n string) *Trust { return operatorNode(t, n, prev, prev, next) }, // 1. both CAs trusted
		func(n string) *Trust { return operatorNode(t, n, next, prev, next) }, // 2. certificates from the new CA
		func(n string) *Trust { return operatorNode(t, n, next, next) },       // 3. the old CA dropped
	}
	links := func(a, b *Trust) bool {
		serr, cerr, _, _ := pair(t, a, b, "a")
		serr2, cerr2, _, _ := pair(t, b, a, "b")
		return serr == nil && cerr == nil && serr2 == nil && cerr2 == nil
	}
	for i := 1; i < len(steps); i++ {
		if !links(steps[i-1]("a"), steps[i]("b")) {
			t.Fatalf("a node on step %d and one on step %d do not link", i-1, i)
		}
	}
	if links(steps[0]("a"), steps[2]("b")) {
		t.Fatal("a node with only the old CA linked with one whose certificate is from the new CA")
	}
}
