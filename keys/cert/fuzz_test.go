package cert_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
)

// FuzzChain feeds a run of DER elements (the first the leaf, the rest
// intermediates) to the chain builder, along with the fixtures' own
// certificates, and to the GOST key parser. It must not panic or hang.
func FuzzChain(f *testing.F) {
	fx := certtest.Open(f, certtest.Committed())
	join := func(names ...string) []byte {
		var b []byte
		for _, n := range names {
			b = append(b, fx.Cert(n).Raw...)
		}
		return b
	}
	f.Add(join("citizen256", "intermediate"))
	f.Add(join("citizen512", "intermediate", "root"))
	f.Add(join("broken", "intermediate", "fake"))
	f.Add(join("untrusted", "rogue"))
	f.Add(join("revoked", "intermediate"))
	f.Add(join("intermediate"))
	chainVerifier := fx.Verifier()
	var chainExtra []*x509.Certificate
	for _, n := range []string{"intermediate", "fake", "rogue"} {
		chainExtra = append(chainExtra, fx.Cert(n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var certs []*x509.Certificate
		in := cryptobyte.String(data)
		for len(certs) < 40 && !in.Empty() {
			var el cryptobyte.String
			if !in.ReadASN1Element(&el, cbasn1.SEQUENCE) {
				break
			}
			if c, err := x509.ParseCertificate(el); err == nil {
				certs = append(certs, c)
				_, _ = cert.PublicKeyOf(c)
				_ = cert.SubjectOf(c)
			}
		}
		_, _ = cert.ParsePublicKeyInfo(data)
		if len(certs) == 0 {
			return
		}
		start := time.Now()
		_, _ = chainVerifier.Verify(context.Background(), certs[0], append(certs[1:], chainExtra...))
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("chain building took %v", d)
		}
	})
}
