package passkey

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// The benchmarks measure passkey assertion verification per core (run
// with -cpu 1), against its measured limit: one raw ECDSA P-256
// verification, which every assertion costs at least.
//
//	go test -run '^$' -bench . -cpu 1 ./idp/passkey/
//
// BenchmarkECDSAVerify       the limit: crypto/ecdsa.VerifyASN1 of a P-256 signature
// BenchmarkAssertionVerify   go-webauthn alone: parse the JSON body, verify (no database)
// BenchmarkFinishLogin       the whole sign-in finish on SQLite: parse, consume the
//                            challenge, load the credential, verify, advance the counter
//                            (begin's challenge insert is excluded from the timing)

func BenchmarkECDSAVerify(b *testing.B) {
	auth := newSoftAuthenticator(b, "id.gosid.test", "https://id.gosid.test")
	digest := sha256.Sum256([]byte("authenticatorData || hash(clientDataJSON)"))
	sig, _ := ecdsa.SignASN1(rand.Reader, auth.key, digest[:])
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&auth.key.PublicKey, digest[:], sig) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkAssertionVerify(b *testing.B) {
	e := newEnv(b, sqldbtest.SQLite(b))
	a := e.newAccount(b)
	auth := e.authenticator(b)
	auth.noCounter = true // the same assertion verifies every time
	cred := e.register(b, a.ID, auth)
	u := &user{handle: userHandle(a.ID), creds: []webauthn.Credential{cred.webauthn()}}
	assertion, sd, err := e.svc.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		b.Fatal(err)
	}
	body := auth.assert(assertion.Response.Challenge.String())
	handler := func(_, _ []byte) (webauthn.User, error) { return u, nil }
	b.ReportAllocs()
	for b.Loop() {
		parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := e.svc.wa.ValidatePasskeyLogin(handler, *sd, parsed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFinishLogin(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, sqldbtest.SQLite(b))
	a := e.newAccount(b)
	auth := e.authenticator(b)
	e.register(b, a.ID, auth)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		opts, err := e.svc.BeginLogin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		body := auth.get(b, opts)
		b.StartTimer()
		if _, err := e.svc.FinishLogin(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
}
