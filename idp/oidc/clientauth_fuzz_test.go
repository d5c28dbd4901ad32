package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
)

// fakeClients is a client registry in memory, for tests that need no
// database.
type fakeClients map[string]*client.Client

func (f fakeClients) Get(_ context.Context, id string) (*client.Client, error) {
	if c, ok := f[id]; ok {
		return c, nil
	}
	return nil, sqldb.ErrNotFound
}

func (f fakeClients) CheckSecret(context.Context, string, string) (*client.Client, error) {
	return nil, client.ErrInvalidCredentials
}

func (f fakeClients) HasRedirectOrigin(context.Context, string) (bool, error) { return false, nil }

// FuzzClientAssertion: the client-assertion check (parse, signature, claims)
// never panics and never accepts what the fuzzer makes. The seeds are
// assertions of every kind of wrong: signed by a key the client did not
// register, unsigned, HMAC, expired, for another audience, without jti or
// iat, iss differing from sub, huge; none is acceptable and no mutation of
// one can make it so without the client's private key.
func FuzzClientAssertion(f *testing.F) {
	registered, jwks := newClientKey(f, "k1")
	stranger, _ := newClientKey(f, "k1")
	const id = "bank-partner"
	p := &Provider{cfg: Config{Issuer: "https://id.example"}, keySets: newKeySets(time.Now),
		deps: Deps{Clients: fakeClients{id: {ID: id, AuthMethod: client.AuthPrivateKeyJWT, JWKS: jwks}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}}
	o := &testOP{URL: p.cfg.Issuer}
	now := time.Now()
	good := map[string]any{"iss": id, "sub": id, "aud": o.URL, "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	// o.assertion signs the valid claims with these changes (nil removes).
	f.Add(o.assertion(f, stranger, id, nil))
	for _, change := range []map[string]any{
		{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()},
		{"aud": "https://elsewhere.example"},
		{"aud": []string{o.URL, "https://elsewhere.example"}},
		{"jti": nil}, {"iat": nil}, {"exp": nil}, {"aud": nil},
		{"sub": "someone-else"}, {"iss": "someone-else"},
		{"iat": now.Add(time.Hour).Unix()},
		{"nbf": now.Add(time.Hour).Unix()},
		{"exp": "tomorrow"}, {"exp": 1e300}, {"aud": 42}, {"jti": strings.Repeat("j", 300)},
		{"exp": nil, "pad": strings.Repeat("x", 10000)},
	} {
		f.Add(o.assertion(f, registered, id, change))
	}
	f.Add(unsigned(good))
	b64 := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	f.Add(b64(map[string]string{"alg": "HS256", "kid": "k1"}) + "." + b64(good) + "." + b64("sig"))
	f.Add(b64(map[string]string{"alg": "ES256", "kid": "k1"}) + "." + b64(good) + ".")
	f.Add(b64(map[string]any{"alg": "ES256", "crit": []string{"b64"}, "b64": false}) + "." + b64(good) + ".AA")
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("a", 9000) + ".."} {
		f.Add(s)
	}
	// A serialization the client's key did sign, but as JSON: refused.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: registered.priv, KeyID: "k1"}}, nil)
	if obj, err := signer.Sign([]byte(`{"iss":"bank-partner"}`)); err == nil {
		f.Add(obj.FullSerialize())
	}
	audiences := p.audiences(clientEndpoints[pathToken])
	f.Fuzz(func(t *testing.T, raw string) {
		if a, err := p.verifyAssertion(context.Background(), raw, audiences); err == nil {
			t.Fatalf("accepted %q: %+v", raw, a)
		}
	})
}
