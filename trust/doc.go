// Package trust is who a node trusts on internode links: the TLS 1.3
// identity it presents and the roots it verifies peers against.
//
// Two sources, one shape. By default the roots come from the cluster
// secret: each secret deterministically derives (HKDF-SHA256) an Ed25519
// certificate authority, every node computes the same ones, makes an
// ephemeral leaf certificate for its own name signed by the primary
// secret's CA at start, and trusts the CAs of every secret it lists (so
// that a key rotation runs with two). Or the operator gives a
// certificate, its key and a CA bundle (--tls-cert, --tls-key, --tls-ca).
//
// Either way both ends verify: TLS 1.3 only, a client certificate
// required, the chain checked against the roots, and the certificate
// must name the node (its common name or a DNS name). It does not decide
// which names may connect (internode asks the view) nor run the
// application handshake; Binding gives that handshake a value unique to
// the TLS connection, so that a proof made for one connection is worth
// nothing on another.
package trust
