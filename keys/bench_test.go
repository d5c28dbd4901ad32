package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// idTokenPayload is a typical ID token's claims.
var idTokenPayload = []byte(`{"iss":"https://id.gosid.example","sub":"0b6f1a52-3c1e-4d2a-9a57-5d8f0e4c7b21",` +
	`"aud":"portal","exp":1893459600,"iat":1893456000,"auth_time":1893455990,"nonce":"n-0S6_WzA2Mj",` +
	`"acr":"urn:gosid:loa:confirmed","amr":["pwd","otp"],"sid":"6c2a9f0e-1b7d-4e3f-8a2c-0d9e4b5f6a71",` +
	`"at_hash":"77QmUPtjPfzWtF2AnpK9RQ","family_name":"Иванов","given_name":"Иван","middle_name":"Иванович"}`)

func benchManager(b *testing.B) *keys.Manager {
	b.Helper()
	return mustOpen(b, sqldbtest.SQLite(b), newMaster(b), options(newClock()))
}

// report adds ops/s, and the ratio to limit (ops/s of the bare operation)
// when limit > 0.
func report(b *testing.B, n int, limit float64) {
	rate := float64(n) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "ops/s")
	if limit > 0 {
		b.ReportMetric(rate/limit, "ratio_to_raw")
	}
}

// rate measures how many times per second fn runs, for a ratio.
func rate(fn func()) float64 {
	start := time.Now()
	n := 0
	for time.Since(start) < 300*time.Millisecond {
		fn()
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

// rawSign is the bare signature of a SHA-256 digest: the limit of Sign.
func rawSign(b *testing.B, priv crypto.Signer, digest []byte) ([]byte, func()) {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		sig, err := ecdsa.SignASN1(rand.Reader, k, digest)
		if err != nil {
			b.Fatal(err)
		}
		return sig, func() {
			if _, _, err := ecdsa.Sign(rand.Reader, k, digest); err != nil {
				b.Fatal(err)
			}
		}
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest)
		if err != nil {
			b.Fatal(err)
		}
		return sig, func() {
			if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Fatalf("unexpected key %T", priv)
	return nil, nil
}

func rawVerify(b *testing.B, pub crypto.PublicKey, digest, sig []byte) func() {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return func() {
			if !ecdsa.VerifyASN1(k, digest, sig) {
				b.Fatal("raw ECDSA verification failed")
			}
		}
	case *rsa.PublicKey:
		return func() {
			if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Fatalf("unexpected key %T", pub)
	return nil
}

// BenchmarkSign signs an ID token as the OpenID provider will: Signer, then
// a compact JWS with kid and typ headers.
func BenchmarkSign(b *testing.B) {
	m := benchManager(b)
	digest := sha256.Sum256(idTokenPayload)
	for _, alg := range keys.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			_, raw := rawSign(b, mustSigner(b, m, alg).Private, digest[:])
			limit := rate(raw)
			ja, _ := jwa.LookupSignatureAlgorithm(alg)
			n := 0
			for b.Loop() {
				sk, err := m.Signer(alg)
				if err != nil {
					b.Fatal(err)
				}
				hdr := jws.NewHeaders()
				_ = hdr.Set(jws.KeyIDKey, sk.ID)
				_ = hdr.Set(jws.TypeKey, "JWT")
				if _, err := jws.Sign(idTokenPayload, jws.WithKey(ja, sk.Private, jws.WithProtectedHeaders(hdr))); err != nil {
					b.Fatal(err)
				}
				n++
			}
			report(b, n, limit)
		})
	}
}

// BenchmarkSignRaw is the bare ecdsa.Sign / rsa.SignPKCS1v15 of a SHA-256
// digest: the limit for BenchmarkSign.
func BenchmarkSignRaw(b *testing.B) {
	m := benchManager(b)
	digest := sha256.Sum256(idTokenPayload)
	for _, alg := range keys.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			_, raw := rawSign(b, mustSigner(b, m, alg).Private, digest[:])
			n := 0
			for b.Loop() {
				raw()
				n++
			}
			report(b, n, 0)
		})
	}
}

// publishedKey returns the raw public key of kid as a relying party gets it
// from our JWKS.
func publishedKey(b *testing.B, m *keys.Manager, kid string) any {
	set, err := jwk.Parse(m.JSON())
	if err != nil {
		b.Fatal(err)
	}
	k, ok := set.LookupKeyID(kid)
	if !ok {
		b.Fatalf("kid %s not in the JWKS", kid)
	}
	var raw any
	if err := jwk.Export(k, &raw); err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkVerify verifies an ID token against the key parsed from our
// JWKS, as a relying party does.
func BenchmarkVerify(b *testing.B) {
	m := benchManager(b)
	digest := sha256.Sum256(idTokenPayload)
	for _, alg := range keys.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			sk := mustSigner(b, m, alg)
			token := signJWT(b, sk, idTokenPayload)
			pub := publishedKey(b, m, sk.ID)
			sig, _ := rawSign(b, sk.Private, digest[:])
			limit := rate(rawVerify(b, pub, digest[:], sig))
			ja, _ := jwa.LookupSignatureAlgorithm(alg)
			n := 0
			for b.Loop() {
				if _, err := jws.Verify(token, jws.WithKey(ja, pub)); err != nil {
					b.Fatal(err)
				}
				n++
			}
			report(b, n, limit)
		})
	}
}

// BenchmarkVerifyRaw is the bare ecdsa / rsa verification of a SHA-256
// digest: the limit for BenchmarkVerify.
func BenchmarkVerifyRaw(b *testing.B) {
	m := benchManager(b)
	digest := sha256.Sum256(idTokenPayload)
	for _, alg := range keys.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			sk := mustSigner(b, m, alg)
			sig, _ := rawSign(b, sk.Private, digest[:])
			verify := rawVerify(b, publishedKey(b, m, sk.ID), digest[:], sig)
			n := 0
			for b.Loop() {
				verify()
				n++
			}
			report(b, n, 0)
		})
	}
}

// BenchmarkJWKS is what serving /keys costs beyond HTTP: fetching the
// precomputed document and writing it.
func BenchmarkJWKS(b *testing.B) {
	m := benchManager(b)
	b.SetBytes(int64(len(m.JSON())))
	n := 0
	for b.Loop() {
		if _, err := io.Discard.Write(m.JSON()); err != nil {
			b.Fatal(err)
		}
		n++
	}
	report(b, n, 0)
}
