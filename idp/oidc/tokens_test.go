package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestTokensSignedWithClientKey: the code exchange and the refresh grant
// answer an access token typed at+jwt and an ID token typed JWT, each
// signed with Gosid's current key of the client's algorithm and verifying
// against the published keys; the ID token's at_hash is over that access
// token, c_hash over the code; iat and exp come from the provider's clock.
func TestTokensSignedWithClientKey(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := startOP(t, db)
		// A clock far from the machine's shows which one the tokens use.
		o.Clock.Advance(3 * time.Hour)
		a := o.citizen(t)
		for _, alg := range []string{client.AlgRS256, client.AlgES256} {
			c, secret := o.client(t, client.Client{Name: "Сайт " + alg, FirstParty: true, IDTokenAlg: alg,
				GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}, Scopes: []string{"openid", "fullname", "offline_access"}})
			b := o.signedIn(t, a.ID)
			verifier, challenge := pkce()
			code := o.code(t, b, c, challenge, "scope", "openid fullname offline_access")
			ba := auth{Method: client.AuthSecretBasic, Secret: secret}
			r := o.call(t, pathToken, c, ba, with(codeExchange(code, verifier), "redirect_uri", c.RedirectURIs[0]))
			if r.Status != http.StatusOK {
				t.Fatalf("%s: code exchange: %s", alg, r)
			}
			o.checkTokens(t, alg+" code", r, alg, code)
			r = o.call(t, pathToken, c, ba, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Str("refresh_token")}})
			if r.Status != http.StatusOK {
				t.Fatalf("%s: refresh: %s", alg, r)
			}
			o.checkTokens(t, alg+" refresh", r, alg, "")
		}
	})
}

// TestEveryTokenSignedOnce: a code exchange and a refresh grant make two
// signatures (the access token and the ID token), a client-credentials
// grant one, each with Gosid's key; op never asks for a key to sign a
// token again (it once signed each token with a throwaway key and Gosid
// re-signed it: four signatures a refresh, a third of the CPU).
func TestEveryTokenSignedOnce(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := startOP(t, db)
		a := o.citizen(t)
		c, secret := o.client(t, client.Client{Name: "Сайт", FirstParty: true,
			GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}, Scopes: []string{"openid", "fullname", "offline_access"}})
		svc, svcSecret := o.client(t, client.Client{Name: "Сервис", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"openid"}})
		ba, sa := auth{Method: client.AuthSecretBasic, Secret: secret}, auth{Method: client.AuthSecretBasic, Secret: svcSecret}
		b := o.signedIn(t, a.ID)
		verifier, challenge := pkce()
		code := o.code(t, b, c, challenge, "scope", "openid fullname offline_access")
		var r reply
		for _, grant := range []struct {
			name string
			want int64
			call func() reply
		}{
			{"code exchange", 2, func() reply {
				return o.call(t, pathToken, c, ba, with(codeExchange(code, verifier), "redirect_uri", c.RedirectURIs[0]))
			}},
			{"refresh", 2, func() reply {
				return o.call(t, pathToken, c, ba, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Str("refresh_token")}})
			}},
			{"client credentials", 1, func() reply {
				return o.call(t, pathToken, svc, sa, url.Values{"grant_type": {"client_credentials"}})
			}},
		} {
			before, beforeOp := signatures.Load(), opKeys.Load()
			got := grant.call()
			if got.Status != http.StatusOK {
				t.Fatalf("%s: %s", grant.name, got)
			}
			if n, op := signatures.Load()-before, opKeys.Load()-beforeOp; n != grant.want || op != 0 {
				t.Errorf("%s: %d signatures and %d keys asked for by op, want %d and 0", grant.name, n, op, grant.want)
			}
			if grant.name == "code exchange" {
				r = got
			}
		}
	})
}

func (o *testOP) checkTokens(t *testing.T, what string, r reply, alg, code string) {
	t.Helper()
	at := o.verifyJWS(t, what+" access token", r.Str("access_token"), alg, "at+jwt")
	idt := o.verifyJWS(t, what+" ID token", r.Str("id_token"), alg, "JWT")
	now := float64(o.Clock.Now().Unix())
	for name, claims := range map[string]map[string]any{"access token": at, "ID token": idt} {
		if iat, _ := claims["iat"].(float64); iat < now-5 || iat > now+5 {
			t.Errorf("%s %s: iat %v, the provider's clock says %v", what, name, claims["iat"], now)
		}
		if exp, _ := claims["exp"].(float64); exp <= now {
			t.Errorf("%s %s: exp %v is not after the provider's now %v", what, name, claims["exp"], now)
		}
	}
	if idt["at_hash"] != leftHalfHash(r.Str("access_token")) {
		t.Errorf("%s: at_hash %v is not the access token's", what, idt["at_hash"])
	}
	if code != "" && idt["c_hash"] != leftHalfHash(code) {
		t.Errorf("%s: c_hash %v is not the code's", what, idt["c_hash"])
	}
	if at["scope"] == nil || at["client_id"] == nil || at["acr"] == nil || at["auth_time"] == nil || at["jti"] == nil || idt["sid"] == nil || idt["acr"] == nil && code != "" {
		t.Errorf("%s: claims missing: access token %v, ID token %v", what, at, idt)
	}
}

// verifyJWS checks token's type, algorithm and signature against the
// published keys and returns its claims.
func (o *testOP) verifyJWS(t *testing.T, what, token, alg, typ string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != typ {
		t.Errorf("%s: typ %v, want %s", what, h.ExtraHeaders["typ"], typ)
	}
	for _, k := range o.Keys.PublicKeys() {
		if k.ID == h.KeyID {
			if k.Alg != alg {
				t.Errorf("%s: signed with the %s key %s, want %s", what, k.Alg, k.ID, alg)
			}
			if _, err := jws.Verify(k.Key); err != nil {
				t.Fatalf("%s: signature: %v", what, err)
			}
			return jwtClaims(t, token)
		}
	}
	t.Fatalf("%s: kid %q is not a published key", what, h.KeyID)
	return nil
}

// leftHalfHash is the OpenID at_hash/c_hash for SHA-256 algorithms.
func leftHalfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// BenchmarkRefreshGrant rotates one refresh token b.N times through the
// token endpoint on PostgreSQL (client and server in this process: for
// CPU profiles of the grant; scripts/bench-refresh.sh measures rates).
func BenchmarkRefreshGrant(b *testing.B) {
	for _, alg := range []string{client.AlgRS256, client.AlgES256} {
		b.Run(alg, func(b *testing.B) {
			o := startOP(b, sqldbtest.Postgres(b))
			c, secret := o.client(b, client.Client{FirstParty: true, IDTokenAlg: alg,
				GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}, Scopes: []string{"openid", "fullname", "offline_access"}})
			ba := auth{Method: client.AuthSecretBasic, Secret: secret}
			rt := o.tokens(b, o.signedIn(b, o.citizen(b).ID), c, ba, "openid fullname offline_access").Str("refresh_token")
			b.ResetTimer()
			for b.Loop() {
				r := o.call(b, pathToken, c, ba, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
				if r.Status != http.StatusOK {
					b.Fatalf("refresh: %s", r)
				}
				rt = r.Str("refresh_token")
			}
		})
	}
}
