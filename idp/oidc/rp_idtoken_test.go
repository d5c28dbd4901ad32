package oidc

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// protocolClaims are what an ID token holds by default.
var protocolClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash", "sid", "client_id", "jti"}

// personal returns the ID token's claims beyond the protocol ones, sorted.
func personal(claims map[string]any) []string {
	var out []string
	for k := range claims {
		if !slices.Contains(protocolClaims, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestIDTokenClaims: by default the ID token carries protocol claims only
// and personal data comes from userinfo; the claims parameter (OpenID
// Connect Core section 5.5) or the client's registration puts consented
// personal claims into the ID token, refreshed ones included.
func TestIDTokenClaims(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		a := o.citizen()
		const scope = "openid fullname birthdate mobile email snils offline_access"
		flow := func(c *client.Client, secret, scope, claims string) rpTokens {
			t.Helper()
			b := o.browser()
			b.signIn(a)
			q, verifier := codeRequest(c, scope)
			if claims != "" {
				q.Set("claims", claims)
			}
			return o.exchange(c, secret, o.callback(b.authorize(q)), verifier)
		}

		// By default: protocol claims only; userinfo has the data.
		c, secret := o.client(nil)
		tok := flow(c, secret, scope, "")
		claims := jwtClaims(t, tok.IDToken)
		if got := personal(claims); len(got) != 0 {
			t.Errorf("default ID token carries personal claims %v: %v", got, claims)
		}
		if claims["sub"] != a.ID || claims["sid"] == nil || claims["nonce"] != "n-1" || claims["acr"] == nil {
			t.Errorf("default ID token lacks protocol claims: %v", claims)
		}
		var info map[string]any
		if p := o.userinfo(tok.AccessToken); p.Status != 200 || json.Unmarshal([]byte(p.Body), &info) != nil ||
			info["family_name"] != "Иванов" || info["snils"] != a.SNILS || info["phone_number"] != a.Phone.Value {
			t.Errorf("userinfo: %d %s", p.Status, p.Body)
		}

		// The claims parameter picks consented claims for the ID token: a
		// voluntary claim whose scope was not asked for is left out, an
		// essential one adds its scope if the client may have it, and one
		// the client may not have is left out without an error.
		c2, secret2 := o.client(func(c *client.Client) {
			c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "inn" })
		})
		req := `{"id_token": {"family_name": null, "snils": {"essential": true}, "phone_number": null,
			"birthdate": {"essential": true}, "inn": {"essential": true}, "verified_claims": {"verification": {"trust_framework": null}, "claims": {"given_name": null}}},
			"userinfo": {"email": null}}`
		tok = flow(c2, secret2, "openid fullname snils email offline_access", req)
		claims = jwtClaims(t, tok.IDToken)
		if got, want := personal(claims), []string{"birthdate", "family_name", "snils"}; !slices.Equal(got, want) {
			t.Errorf("ID token by the claims parameter: personal claims %v, want %v", got, want)
		}
		if claims["family_name"] != "Иванов" || claims["snils"] != a.SNILS || claims["birthdate"] != "1980-05-17" {
			t.Errorf("ID token values: %v", claims)
		}
		// Refreshed ID tokens carry the same.
		ref := o.token(c2.ID, secret2, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if ref.Status != 200 || ref.IDToken == "" {
			t.Fatalf("refresh: %+v", ref)
		}
		if got, want := personal(jwtClaims(t, ref.IDToken)), []string{"birthdate", "family_name", "snils"}; !slices.Equal(got, want) {
			t.Errorf("refreshed ID token: personal claims %v, want %v", got, want)
		}

		// A client registered for it gets the consented claims in every ID
		// token.
		c3, secret3 := o.client(func(c *client.Client) { c.IDTokenClaims = true })
		claims = jwtClaims(t, flow(c3, secret3, "openid fullname mobile", "").IDToken)
		if claims["family_name"] != "Иванов" || claims["phone_number"] != a.Phone.Value || claims["snils"] != nil || claims["email"] != nil {
			t.Errorf("ID token of an --id-token-claims client: %v", claims)
		}

		// An essential claim of a scope not asked for is asked at consent.
		site, _ := o.client(func(c *client.Client) { c.FirstParty = false; c.Name = "Чужой сайт" })
		b := o.browser()
		b.signIn(a)
		q, _ := codeRequest(site, "openid")
		q.Set("claims", `{"id_token": {"email": {"essential": true}}, "userinfo": {"snils": null}}`)
		p := b.get("/authorize?" + q.Encode())
		p = b.get(p.Location)
		if !strings.HasPrefix(p.Location, "/authorize/consent") {
			t.Fatalf("want the consent page, got %d %q", p.Status, p.Location)
		}
		if cp := b.get(p.Location); !strings.Contains(cp.Body, "Адрес электронной почты") || strings.Contains(cp.Body, "СНИЛС") {
			t.Errorf("consent page for an essential e-mail and a voluntary SNILS: want the e-mail asked for and not the SNILS\n%.800s", cp.Body)
		}

		// A malformed claims parameter: invalid_request, back at the site.
		for _, bad := range []string{`{`, `[]`, `"x"`, `{"id_token": []}`, `{"id_token": {"email": true}}`,
			`{"id_token": {"email": {"essential": "yes"}}}`, `{"userinfo": {"email": {"values": 1}}}`, `{} {}`,
			`{"id_token": {"verified_claims": 5}}`, `{"id_token": {"` + strings.Repeat("a", 9000) + `": null}}`, `{"id_token": {"echo-me": 5}}`} {
			q, _ := codeRequest(c, "openid")
			q.Set("claims", bad)
			cb := o.callback(b.get("/authorize?" + q.Encode()))
			if cb.Get("error") != "invalid_request" || cb.Get("iss") != o.URL || strings.Contains(cb.Get("error_description"), "echo-me") {
				t.Errorf("claims=%.40q: %v, want invalid_request in Gosid's own words", bad, cb)
			}
		}

		// Discovery says so.
		var d map[string]any
		if p := b.get("/.well-known/openid-configuration"); json.Unmarshal([]byte(p.Body), &d) != nil || d["claims_parameter_supported"] != true {
			t.Errorf("discovery claims_parameter_supported = %v", d["claims_parameter_supported"])
		}
	})
}
