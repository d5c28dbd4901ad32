package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"sort"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/gost"
)

// SignDetached makes a detached CMS SignedData over content, DER encoded,
// with signed attributes content-type (id-data), signing-time (now) and
// message-digest, signed by signer, which is a *gost.PrivateKey or a
// crypto.Signer with an RSA, ECDSA or Ed25519 key matching cert. The
// SignedData carries cert and chain. Algorithms are those OpenSSL uses:
// GOST keys sign with Streebog of their size and name the key algorithm as
// the signature algorithm; RSA signs PKCS #1 v1.5 with SHA-256; ECDSA with
// SHA-256, -384 or -512 by curve size; Ed25519 with SHA-512 as digest.
//
// GOST signing uses keys/gost, which is not constant-time: it suits the
// citizen's own machine (gosid sign), not a server.
func SignDetached(content []byte, signer any, c *x509.Certificate, chain []*x509.Certificate, now time.Time) ([]byte, error) {
	if c == nil {
		return nil, errors.New("cms: no signer certificate")
	}
	pub, err := cert.PublicKeyOf(c)
	if err != nil {
		return nil, err
	}
	var (
		digestAlg, sigAlg pkix.AlgorithmIdentifier
		newHash           func() hash.Hash
		sign              func(signed, digest []byte) ([]byte, error)
	)
	null := asn1.RawValue{FullBytes: []byte{asn1.TagNull, 0}}
	switch k := signer.(type) {
	case *gost.PrivateKey:
		gp, ok := pub.(*gost.PublicKey)
		if !ok || gp.Curve != k.Curve || gp.X.Cmp(k.X) != 0 || gp.Y.Cmp(k.Y) != 0 {
			return nil, errors.New("cms: the private key does not match the certificate")
		}
		digestAlg = pkix.AlgorithmIdentifier{Algorithm: cert.GOSTDigestAlgorithm(k.Curve), Parameters: null}
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: cert.GOSTKeyAlgorithm(k.Curve), Parameters: null}
		newHash = gost.New256
		if k.Curve.Size == 64 {
			newHash = gost.New512
		}
		sign = func(_, digest []byte) ([]byte, error) { return gost.Sign(k, digest, rand.Reader) }
	case crypto.Signer:
		if !samePublicKey(k.Public(), pub) {
			return nil, errors.New("cms: the private key does not match the certificate")
		}
		var h crypto.Hash
		switch kp := k.Public().(type) {
		case *rsa.PublicKey:
			h = crypto.SHA256
			digestAlg = pkix.AlgorithmIdentifier{Algorithm: cert.OIDSHA256}
			sigAlg = pkix.AlgorithmIdentifier{Algorithm: cert.OIDRSAEncryption, Parameters: null}
		case *ecdsa.PublicKey:
			switch kp.Curve {
			case elliptic.P384():
				h, digestAlg.Algorithm, sigAlg.Algorithm = crypto.SHA384, cert.OIDSHA384, cert.OIDECDSAWithSHA384
			case elliptic.P521():
				h, digestAlg.Algorithm, sigAlg.Algorithm = crypto.SHA512, cert.OIDSHA512, cert.OIDECDSAWithSHA512
			default:
				h, digestAlg.Algorithm, sigAlg.Algorithm = crypto.SHA256, cert.OIDSHA256, cert.OIDECDSAWithSHA256
			}
		case ed25519.PublicKey:
			h = crypto.SHA512
			digestAlg = pkix.AlgorithmIdentifier{Algorithm: cert.OIDSHA512}
			sigAlg = pkix.AlgorithmIdentifier{Algorithm: cert.OIDEd25519}
			newHash = h.New
			sign = func(signed, _ []byte) ([]byte, error) { return k.Sign(rand.Reader, signed, crypto.Hash(0)) }
		default:
			return nil, fmt.Errorf("%w: signing key %T", cert.ErrUnsupportedAlgorithm, kp)
		}
		if sign == nil {
			newHash = h.New
			sign = func(_, digest []byte) ([]byte, error) { return k.Sign(rand.Reader, digest, h) }
		}
	default:
		return nil, fmt.Errorf("%w: signer %T", cert.ErrUnsupportedAlgorithm, signer)
	}

	h := newHash()
	h.Write(content)
	contentDigest := h.Sum(nil)
	attrs := [][]byte{
		marshalAttribute(oidContentType, oidData),
		marshalAttribute(oidSigningTime, now.UTC().Truncate(time.Second)),
		marshalAttribute(oidMessageDigest, contentDigest),
	}
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
	attrSet := bytes.Join(attrs, nil)
	var sb cryptobyte.Builder
	sb.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(attrSet) })
	signed := sb.BytesOrPanic()
	h = newHash()
	h.Write(signed)
	signature, err := sign(signed, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("cms: signing: %w", err)
	}

	digestAlgDER, err := asn1.Marshal(digestAlg)
	if err != nil {
		return nil, err
	}
	sigAlgDER, err := asn1.Marshal(sigAlg)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(digestAlgDER) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(c.Raw)
					for _, ch := range chain {
						if ch != nil && !bytes.Equal(ch.Raw, c.Raw) {
							b.AddBytes(ch.Raw)
						}
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(c.RawIssuer)
							b.AddASN1BigInt(c.SerialNumber)
						})
						b.AddBytes(digestAlgDER)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(attrSet) })
						b.AddBytes(sigAlgDER)
						b.AddASN1OctetString(signature)
					})
				})
			})
		})
	})
	return b.Bytes()
}

func marshalAttribute(oid asn1.ObjectIdentifier, value any) []byte {
	v, err := asn1.Marshal(value)
	if err != nil {
		panic(err) // only fixed types are marshalled
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(v) })
	})
	return b.BytesOrPanic()
}

func samePublicKey(a, b any) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}
