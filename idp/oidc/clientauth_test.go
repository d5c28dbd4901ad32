package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestIntrospectionAndRevocationAuthenticateLikeTheTokenEndpoint: every
// client authentication the token endpoint takes works at introspection
// and revocation too (client_secret_post answered a plain-text 401 at
// introspection before: openid-client's default), and a public client may
// revoke with its client_id; failures are JSON invalid_client.
func TestIntrospectionAndRevocationAuthenticateLikeTheTokenEndpoint(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		b := op.signedIn(t, op.citizen(t).ID)
		offline := client.Client{Scopes: []string{"openid", "fullname", "offline_access"},
			GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}}
		basicC, basicSecret := op.client(t, offline)
		postOffline := offline
		postOffline.AuthMethod = client.AuthSecretPost
		postC, postSecret := op.client(t, postOffline)
		keyed, key := op.keyedClient(t, offline)
		public, _ := op.client(t, client.Client{AuthMethod: client.AuthNone, Scopes: offline.Scopes, GrantTypes: offline.GrantTypes})

		for _, tc := range []struct {
			c *client.Client
			a auth
		}{
			{basicC, auth{Method: client.AuthSecretBasic, Secret: basicSecret}},
			{postC, auth{Method: client.AuthSecretPost, Secret: postSecret}},
			// A client registered for Basic sending its secret in the body
			// (openid-client's default), and the other way round.
			{basicC, auth{Method: client.AuthSecretPost, Secret: basicSecret}},
			{postC, auth{Method: client.AuthSecretBasic, Secret: postSecret}},
			{keyed, auth{Method: client.AuthPrivateKeyJWT, Key: key}},
		} {
			t.Run(tc.c.AuthMethod+" as "+tc.a.Method, func(t *testing.T) {
				tok := op.tokens(t, b, tc.c, tc.a, "openid offline_access")
				at, rt := tok.Str("access_token"), tok.Str("refresh_token")
				r := op.call(t, pathIntrospect, tc.c, tc.a, url.Values{"token": {at}})
				if r.Status != http.StatusOK || r.JSON()["active"] != true || r.Str("client_id") != tc.c.ID {
					t.Fatalf("introspection: %s", r)
				}
				if r := op.call(t, pathRevoke, tc.c, tc.a, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}); r.Status != http.StatusOK {
					t.Fatalf("revocation of the refresh token: %s", r)
				}
				if r := op.call(t, pathRevoke, tc.c, tc.a, url.Values{"token": {at}}); r.Status != http.StatusOK {
					t.Fatalf("revocation of the access token: %s", r)
				}
				r = op.call(t, pathIntrospect, tc.c, tc.a, url.Values{"token": {at}})
				if r.Status != http.StatusOK || r.JSON()["active"] != false {
					t.Errorf("introspection after revocation: %s", r)
				}
				wrong := tc.a
				wrong.Secret += "x"
				if wrong.Method == client.AuthPrivateKeyJWT {
					wrong.Key, _ = newClientKey(t, "k1")
				}
				wantError(t, "introspection with wrong credentials", op.call(t, pathIntrospect, tc.c, wrong, url.Values{"token": {at}}), 401, "invalid_client")
				wantError(t, "revocation with wrong credentials", op.call(t, pathRevoke, tc.c, wrong, url.Values{"token": {at}}), 401, "invalid_client")
			})
		}

		t.Run("public client", func(t *testing.T) {
			none := auth{Method: client.AuthNone}
			tok := op.tokens(t, b, public, none, "openid offline_access")
			// Introspection is for resource servers: a client that cannot
			// authenticate has none.
			wantError(t, "introspection by a public client", op.call(t, pathIntrospect, public, none, url.Values{"token": {tok.Str("access_token")}}),
				401, "invalid_client")
			if r := op.call(t, pathRevoke, public, none, url.Values{"token": {tok.Str("refresh_token")}}); r.Status != http.StatusOK {
				t.Fatalf("revocation by a public client: %s", r)
			}
			r := op.call(t, pathToken, public, none, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Str("refresh_token")}})
			wantError(t, "refresh after revocation", r, 400, "invalid_grant")
			// A confidential client's id without its secret is no public client.
			wantError(t, "revocation by a confidential client without credentials",
				op.call(t, pathRevoke, basicC, none, url.Values{"token": {tok.Str("access_token")}}), 401, "invalid_client")
		})
	})
}

// TestProtocolErrorsAreOAuthJSON: what the token, introspection,
// revocation and device authorization endpoints refuse, op's own answers
// included, is an RFC 6749 section 5.2 JSON error with no-store and no
// library-internal text (op answered some in plain text, with
// "ErrorType=… Parent=…", and put Go error strings in descriptions).
func TestProtocolErrorsAreOAuthJSON(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		conf, secret := op.client(t, client.Client{})
		kiosk, kioskSecret := op.client(t, client.Client{GrantTypes: []string{client.GrantDeviceCode}})
		refresher, refresherSecret := op.client(t, client.Client{Scopes: []string{"openid", "offline_access"},
			GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
		basicConf := basic(conf.ID, secret)
		raw := func(path, body string, mods ...func(*http.Request)) reply {
			return doBody(t, http.MethodPost, op.URL+path, "application/x-www-form-urlencoded", body, mods...)
		}
		for _, tc := range []struct {
			name   string
			r      reply
			status int
			code   string
		}{
			{"token: no grant_type", op.post(t, pathToken, url.Values{}, basicConf), 400, "invalid_request"},
			{"token: unsupported grant_type", op.post(t, pathToken, url.Values{"grant_type": {"password"}}, basicConf), 400, "unsupported_grant_type"},
			{"token: no code", op.post(t, pathToken, url.Values{"grant_type": {"authorization_code"}}, basicConf), 400, "invalid_request"},
			{"token: unknown code", op.post(t, pathToken, codeExchange("nonsense", "v"), basicConf), 400, "invalid_grant"},
			{"token: grant the client lacks", op.post(t, pathToken, url.Values{"grant_type": {"client_credentials"}}, basicConf), 400, "unauthorized_client"},
			{"token: unknown refresh token", op.post(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, basic(refresher.ID, refresherSecret)), 400, "invalid_grant"},
			{"token: malformed body", raw(pathToken, "grant_type=%zz", basicConf), 400, "invalid_request"},
			{"token: garbage assertion", op.post(t, pathToken, withAssertion(url.Values{"grant_type": {"client_credentials"}}, "a.b.c")), 401, "invalid_client"},
			{"token: unknown assertion type", op.post(t, pathToken, url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"x"}, "client_assertion": {"a.b.c"}}), 401, "invalid_client"},
			{"token: bearer header", op.post(t, pathToken, url.Values{"grant_type": {"client_credentials"}}, header("Authorization", "Bearer x")), 401, "invalid_client"},
			{"token: duplicate parameter", op.post(t, pathToken, url.Values{"grant_type": {"authorization_code", "client_credentials"}}, basicConf), 400, "invalid_request"},
			{"introspection: client_id only", op.post(t, pathIntrospect, url.Values{"client_id": {conf.ID}, "token": {"x"}}), 401, "invalid_client"},
			{"introspection: no client", op.post(t, pathIntrospect, url.Values{"token": {"x"}}), 401, "invalid_client"},
			{"introspection: unknown client", op.post(t, pathIntrospect, url.Values{"token": {"x"}}, basic("nobody", "x")), 401, "invalid_client"},
			{"introspection: malformed body", raw(pathIntrospect, "token=%zz", basicConf), 400, "invalid_request"},
			{"revocation: wrong secret", op.post(t, pathRevoke, url.Values{"token": {"x"}}, basic(conf.ID, "x")), 401, "invalid_client"},
			{"revocation: no client", op.post(t, pathRevoke, url.Values{"token": {"x"}}), 401, "invalid_client"},
			{"device authorization: no client", op.post(t, pathDevice, url.Values{"scope": {"openid"}}), 401, "invalid_client"},
			{"device authorization: confidential client without secret", op.post(t, pathDevice, url.Values{"client_id": {kiosk.ID}}), 401, "invalid_client"},
			{"device authorization: client without the grant", op.post(t, pathDevice, url.Values{"scope": {"openid"}}, basicConf), 400, "unauthorized_client"},
			{"device authorization: GET", do(t, plainClient, http.MethodGet, op.URL+pathDevice, nil, basic(kiosk.ID, kioskSecret)), 405, "invalid_request"},
		} {
			wantError(t, tc.name, tc.r, tc.status, tc.code)
		}
	})
}

// TestDiscoveryAdvertisesClientAuthentication: the methods and assertion
// algorithms each client-authenticating endpoint accepts.
func TestDiscoveryAdvertisesClientAuthentication(t *testing.T) {
	op := startOP(t, sqldbtest.SQLite(t))
	r := do(t, plainClient, http.MethodGet, op.URL+"/.well-known/openid-configuration", nil)
	var d map[string]any
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
		t.Fatalf("discovery: %v: %s", err, r)
	}
	list := func(name string) []string {
		var out []string
		v, _ := d[name].([]any)
		for _, s := range v {
			out = append(out, s.(string))
		}
		return out
	}
	secretsAndKeys := []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	for name, want := range map[string][]string{
		"token_endpoint_auth_methods_supported":         append(slices.Clone(secretsAndKeys), "none"),
		"revocation_endpoint_auth_methods_supported":    append(slices.Clone(secretsAndKeys), "none"),
		"introspection_endpoint_auth_methods_supported": secretsAndKeys,
	} {
		got := list(name)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported"} {
		got := list(name)
		for _, alg := range assertionAlgs {
			if !slices.Contains(got, string(alg)) {
				t.Errorf("%s = %v, want %s (accepted) in it", name, got, alg)
			}
		}
		for _, alg := range got {
			if alg == "none" || strings.HasPrefix(alg, "HS") {
				t.Errorf("%s advertises %s", name, alg)
			}
		}
	}
}

// TestPrivateKeyJWTAudience: a client assertion's aud may be the issuer or
// the token endpoint's URL (OpenID Connect Core section 9), and at
// introspection and revocation that endpoint's URL too; nothing else, and
// no other audience beside them.
func TestPrivateKeyJWTAudience(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		bank, key := op.keyedClient(t, client.Client{GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"openid", "snils"}})
		token, introspect, revoke := op.URL+pathToken, op.URL+pathIntrospect, op.URL+pathRevoke
		cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"snils"}}
		ok := func(path string, aud any) reply {
			t.Helper()
			return op.call(t, path, bank, auth{Method: client.AuthPrivateKeyJWT, Key: key, Claims: map[string]any{"aud": aud}}, cc)
		}
		var at string
		for _, aud := range []any{op.URL, token, []string{token}, []string{op.URL, token}} {
			r := ok(pathToken, aud)
			if r.Status != http.StatusOK || r.Str("access_token") == "" {
				t.Errorf("token endpoint, aud %v: %s, want tokens", aud, r)
			}
			at = r.Str("access_token")
		}
		for _, aud := range []any{introspect, revoke, "https://elsewhere.example", []string{op.URL, "https://elsewhere.example"}, op.URL + "/", "", []string{}} {
			wantError(t, "token endpoint, aud "+jsonString(aud), ok(pathToken, aud), 401, "invalid_client")
		}
		noAud := op.call(t, pathToken, bank, auth{Method: client.AuthPrivateKeyJWT, Key: key, Claims: map[string]any{"aud": nil}}, cc)
		wantError(t, "token endpoint, no aud", noAud, 401, "invalid_client")

		for _, aud := range []any{op.URL, token, introspect} {
			r := op.call(t, pathIntrospect, bank, auth{Method: client.AuthPrivateKeyJWT, Key: key, Claims: map[string]any{"aud": aud}}, url.Values{"token": {at}})
			if r.Status != http.StatusOK || r.JSON()["active"] != true {
				t.Errorf("introspection, aud %v: %s, want active", aud, r)
			}
		}
		r := op.call(t, pathIntrospect, bank, auth{Method: client.AuthPrivateKeyJWT, Key: key, Claims: map[string]any{"aud": revoke}}, url.Values{"token": {at}})
		wantError(t, "introspection, aud the revocation endpoint", r, 401, "invalid_client")
		r = op.call(t, pathRevoke, bank, auth{Method: client.AuthPrivateKeyJWT, Key: key, Claims: map[string]any{"aud": introspect}}, url.Values{"token": {at}})
		wantError(t, "revocation, aud the introspection endpoint", r, 401, "invalid_client")
		r = op.call(t, pathRevoke, bank, auth{Method: client.AuthPrivateKeyJWT, Key: key, Claims: map[string]any{"aud": revoke}}, url.Values{"token": {at}})
		if r.Status != http.StatusOK {
			t.Errorf("revocation, aud the revocation endpoint: %s", r)
		}

		// The authorization code grant with aud the token endpoint, as
		// OpenID Connect Core section 9 says a client SHOULD send.
		site, siteKey := op.keyedClient(t, client.Client{})
		b := op.signedIn(t, op.citizen(t).ID)
		op.tokens(t, b, site, auth{Method: client.AuthPrivateKeyJWT, Key: siteKey, Claims: map[string]any{"aud": token}}, "openid")
	})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestClientCredentialsWithPrivateKeyJWT: the partner API's way in. op's
// client_credentials path authenticated only with a client secret, so a
// private_key_jwt client never got a token.
func TestClientCredentialsWithPrivateKeyJWT(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		bank, key := op.keyedClient(t, client.Client{Name: "Банк-партнёр", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"openid", "snils"}})
		a := auth{Method: client.AuthPrivateKeyJWT, Key: key}
		cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"snils"}}
		r := op.call(t, pathToken, bank, a, cc)
		if r.Status != http.StatusOK || r.Str("access_token") == "" || r.Str("id_token") != "" || r.Str("refresh_token") != "" {
			t.Fatalf("client_credentials with private_key_jwt: %s, want an access token only", r)
		}
		in := op.call(t, pathIntrospect, bank, a, url.Values{"token": {r.Str("access_token")}})
		if m := in.JSON(); m["active"] != true || m["client_id"] != bank.ID || m["sub"] != bank.ID || m["scope"] != "snils" {
			t.Errorf("introspection of the token: %s", in)
		}
		// With client_id in the body too (RFC 7521 allows it): the same.
		if r := op.call(t, pathToken, bank, a, with(cc, "client_id", bank.ID)); r.Status != http.StatusOK {
			t.Errorf("with client_id: %s", r)
		}
		if r := op.call(t, pathToken, bank, a, with(cc, "client_id", "someone-else")); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_request" {
			t.Errorf("with another client_id: %s, want 400 invalid_request", r)
		}
		// One assertion, twice.
		assertion := op.assertion(t, key, bank.ID, nil)
		if r := op.post(t, pathToken, withAssertion(cc, assertion)); r.Status != http.StatusOK {
			t.Fatalf("first use of an assertion: %s", r)
		}
		wantError(t, "a replayed assertion", op.post(t, pathToken, withAssertion(cc, assertion)), 401, "invalid_client")
		// A private_key_jwt client without the grant.
		site, siteKey := op.keyedClient(t, client.Client{})
		wantError(t, "client_credentials by a client without the grant",
			op.call(t, pathToken, site, auth{Method: client.AuthPrivateKeyJWT, Key: siteKey}, cc), 400, "unauthorized_client")
	})
}

// TestClientAssertionAlgorithms: what discovery advertises is what is
// accepted: an assertion signed with each advertised algorithm by a key
// the client registered (RSA, and EC on each curve registration allows)
// authenticates, and HMAC with the public key (the classic confusion) or
// no signature does not. op's own assertion check knew three algorithms
// only, while discovery and registration promised more.
func TestClientAssertionAlgorithms(t *testing.T) {
	op := startOP(t, sqldbtest.SQLite(t))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]*ecdsa.PrivateKey{}
	for name, curve := range map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()} {
		if ec[name], err = ecdsa.GenerateKey(curve, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "rsa", Use: "sig"}}}
	for name, k := range ec {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: name, Use: "sig"})
	}
	jwks, _ := json.Marshal(set)
	bank, _ := op.client(t, client.Client{AuthMethod: client.AuthPrivateKeyJWT, JWKS: string(jwks), GrantTypes: []string{client.GrantClientCredentials},
		Scopes: []string{"openid"}})
	sign := func(alg jose.SignatureAlgorithm, key any, kid string) string {
		t.Helper()
		jti, _ := newJTI()
		now := time.Now()
		payload, _ := json.Marshal(map[string]any{"iss": bank.ID, "sub": bank.ID, "aud": op.URL, "jti": jti, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	keyFor := map[jose.SignatureAlgorithm][2]any{
		jose.RS256: {rsaKey, "rsa"}, jose.RS384: {rsaKey, "rsa"}, jose.RS512: {rsaKey, "rsa"},
		jose.PS256: {rsaKey, "rsa"}, jose.PS384: {rsaKey, "rsa"}, jose.PS512: {rsaKey, "rsa"},
		jose.ES256: {ec["p256"], "p256"}, jose.ES384: {ec["p384"], "p384"}, jose.ES512: {ec["p521"], "p521"},
	}
	for _, alg := range assertionAlgs {
		k := keyFor[alg]
		if r := op.post(t, pathToken, withAssertion(cc, sign(alg, k[0], k[1].(string)))); r.Status != http.StatusOK {
			t.Errorf("assertion signed with %s: %s", alg, r)
		}
	}
	if len(keyFor) != len(assertionAlgs) {
		t.Errorf("accepted algorithms %v, want the %d of RSA and EC keys", assertionAlgs, len(keyFor))
	}
	// HMAC keyed with the public key's modulus, and no signature.
	hmac := sign(jose.HS256, rsaKey.PublicKey.N.Bytes(), "rsa")
	wantError(t, "an HS256 assertion keyed with the public key", op.post(t, pathToken, withAssertion(cc, hmac)), 401, "invalid_client")
	now := time.Now()
	none := unsigned(map[string]any{"iss": bank.ID, "sub": bank.ID, "aud": op.URL, "jti": "n1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	wantError(t, "an unsigned assertion", op.post(t, pathToken, withAssertion(cc, none)), 401, "invalid_client")
	// A signature by one key naming another.
	wantError(t, "an ES256 assertion naming the P-384 key", op.post(t, pathToken, withAssertion(cc, sign(jose.ES256, ec["p256"], "p384"))), 401, "invalid_client")
}

func newJTI() (string, error) {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b), err
}

// TestAccessTokenForResourceAPIs: a resource API's check (the partner API)
// accepts a live client_credentials token with its client and scopes, and
// refuses garbage, a revoked token, an expired one and a deleted client's.
func TestAccessTokenForResourceAPIs(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		ctx := context.Background()
		bank, key := op.keyedClient(t, client.Client{Name: "Банк-партнёр", GrantTypes: []string{client.GrantClientCredentials},
			Scopes: []string{client.ScopePartnerConfirmations, client.ScopePartnerRegistrations}, Partner: "sber"})
		a := auth{Method: client.AuthPrivateKeyJWT, Key: key}
		token := func() string {
			r := op.call(t, pathToken, bank, a, url.Values{"grant_type": {"client_credentials"}, "scope": {client.ScopePartnerConfirmations}})
			if r.Status != http.StatusOK {
				t.Fatalf("token: %s", r)
			}
			return r.Str("access_token")
		}
		tok := token()
		info, err := op.P.AccessToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if info.Client.ID != bank.ID || info.Client.Partner != "sber" || !info.ClientToken() ||
			!info.HasScope(client.ScopePartnerConfirmations) || info.HasScope(client.ScopePartnerRegistrations) {
			t.Fatalf("access info %+v", info)
		}
		for name, raw := range map[string]string{"empty": "", "garbage": "abc.def.ghi", "tampered": tok[:len(tok)-3] + "AAA"} {
			if _, err := op.P.AccessToken(ctx, raw); !errors.Is(err, ErrInvalidAccessToken) {
				t.Errorf("%s token: %v", name, err)
			}
		}
		// Revoked.
		if r := op.call(t, pathRevoke, bank, a, url.Values{"token": {tok}}); r.Status != http.StatusOK {
			t.Fatalf("revoke: %s", r)
		}
		if _, err := op.P.AccessToken(ctx, tok); !errors.Is(err, ErrInvalidAccessToken) {
			t.Errorf("revoked token: %v", err)
		}
		// Expired.
		tok = token()
		op.Clock.Advance(2 * time.Hour)
		if _, err := op.P.AccessToken(ctx, tok); !errors.Is(err, ErrInvalidAccessToken) {
			t.Errorf("expired token: %v", err)
		}
		// The client deleted.
		tok = token()
		if err := op.Clients.Delete(ctx, bank.ID); err != nil {
			t.Fatal(err)
		}
		op.Cache.Invalidate(bank.ID)
		if _, err := op.P.AccessToken(ctx, tok); !errors.Is(err, ErrInvalidAccessToken) {
			t.Errorf("a deleted client's token: %v", err)
		}
		// From a request.
		req, _ := http.NewRequest("GET", "/partner/v1/x", nil)
		if _, err := op.P.Authenticate(req); !errors.Is(err, ErrNoAccessToken) {
			t.Errorf("no token: %v", err)
		}
	})
}
