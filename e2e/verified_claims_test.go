package e2e

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVerifiedClaimsNodeRP: OpenID Connect for Identity Assurance against
// the real binary. A citizen registers through a qualified e-signature
// (the fixture certificate citizen256: SNILS 101-107-919 88, Иванов Иван),
// which records electronic-signature evidence of the SNILS and names; the
// INN they then type is a claim. Node's openid-client, with its defaults,
// asks through the claims parameter for verified claims in userinfo, then,
// in a second flow, in the ID token (and gets them again on refresh).
// Every verified_claims validates against verified_claims.json; the typed
// INN never appears inside.
func TestVerifiedClaimsNodeRP(t *testing.T) {
	node := requireNode(t)
	schemas, err := loadIDASchemas(filepath.Join("..", "idp", "oidc", "testdata", "oidc-ida"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := []string{"--data-dir", dir}
	s := startServer(t, append(data, "--trust-dir", filepath.Join(certFixtures, "trust"),
		"--crl-file", filepath.Join(certFixtures, "ca.crl"), "--crl-file", filepath.Join(certFixtures, "root.crl"))...)

	holder := newWebClient(t, s)
	sig := holder.signChallenge("/login/esign", "citizen256")
	if p := holder.do("POST", "/login/esign", url.Values{"signature": {sig}}); p.Status != 404 || !strings.Contains(p.Body, `href="/register?from=esign"`) {
		t.Fatalf("a new certificate: %d → %q, want 404 offering registration", p.Status, p.Location)
	}
	holder.do("GET", "/register?from=esign", nil)
	holder.expect(holder.do("POST", "/register", url.Values{"by": {"phone"}, "phone": {"+79161110701"}}), 303, "/register/code")
	code, _ := s.devCode(t, "+79161110701", "code.register", 0)
	holder.expect(holder.do("POST", "/register/code", url.Values{"code": {code}}), 303, "/register/profile")
	holder.expect(holder.do("POST", "/register/profile", url.Values{"family_name": {"Иванов"}, "given_name": {"Иван"},
		"middle_name": {"Иванович"}, "password": {"Zk7#vLq2!mWp"}, "password_confirm": {"Zk7#vLq2!mWp"}, "consent": {"yes"}}), 303, "/account/details")
	// A typed INN: a claim nobody verified.
	holder.expect(holder.do("POST", "/account/details", url.Values{"inn": {"500100732259"}}), 303, "/account")

	rig := &oidcRig{node: node, srv: s, redirect: "http://127.0.0.1:9/cb", browser: holder.c}
	site := rig.createClient(t, data, "Сайт с подтверждёнными данными", "--redirect-uri", rig.redirect,
		"--scopes", "openid fullname snils inn offline_access", "--grant-types", "authorization_code,refresh_token")
	site.AuthMethod = "default" // openid-client's defaults
	const scope = "openid fullname snils inn offline_access"
	wanted := `{"verification":{"trust_framework":null},"claims":{"family_name":null,"given_name":null,"snils":null,"inn":null}}`

	// flow runs one authorization with the claims parameter through the
	// holder's browser (consent included) and redeems it.
	flow := func(claims string) rpTokens {
		t.Helper()
		if err := schemas.Request([]byte(claims)); err != nil {
			t.Fatalf("the claims parameter does not validate: %v", err)
		}
		a := rig.authorize(t, site, scope, map[string]string{"claims": claims})
		p := rig.get(t, a.URL)
		for range 6 {
			if strings.HasPrefix(p.Location, rig.redirect+"?") {
				break
			}
			if strings.HasPrefix(p.Location, "/authorize/consent") {
				cp := rig.get(t, p.Location)
				if body := html.UnescapeString(cp.Body); !strings.Contains(body, "подтверждено электронной подписью") {
					t.Errorf("the consent page does not say the SNILS is verified by e-signature:\n%.2000s", body)
				}
				u, _ := url.Parse(p.Location)
				p = rig.post(t, "/authorize/consent", url.Values{"id": {u.Query().Get("id")}, "decision": {"allow"}})
				continue
			}
			p = rig.get(t, p.Location)
		}
		a.Callback = p.Location
		if cb, _ := url.Parse(a.Callback); cb == nil || cb.Query().Get("code") == "" {
			t.Fatalf("no code: %d %q\n%.800s", p.Status, p.Location, p.Body)
		}
		return rig.mustExchange(t, site, a)
	}
	// check validates claims against verified_claims.json and returns
	// the verified claims of its one electronic-signature element.
	check := func(what string, claims map[string]any) map[string]any {
		t.Helper()
		raw, _ := json.Marshal(claims)
		if err := schemas.Response(raw); err != nil {
			t.Errorf("%s does not validate: %v\n%s", what, err, raw)
		}
		list, _ := claims["verified_claims"].([]any)
		if len(list) != 1 {
			t.Fatalf("%s: verified_claims %v, want one element", what, claims["verified_claims"])
		}
		el := list[0].(map[string]any)
		ev := el["verification"].(map[string]any)["evidence"].([]any)[0].(map[string]any)
		if ev["type"] != "electronic_signature" || ev["signature_type"] != "ru_qes" || ev["serial_number"] == "" {
			t.Errorf("%s: evidence %v", what, ev)
		}
		vc := el["claims"].(map[string]any)
		keys := make([]string, 0, len(vc))
		for k := range vc {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"family_name", "given_name", "snils"}) || vc["snils"] != "101-107-919 88" || vc["family_name"] != "Иванов" {
			t.Errorf("%s: verified claims %v, want the certificate's SNILS and names only (never the typed INN)", what, vc)
		}
		return vc
	}

	// Userinfo.
	tok := flow(`{"userinfo":{"verified_claims":` + wanted + `}}`)
	check("userinfo", tok.Userinfo)
	if tok.Userinfo["inn"] != "500100732259" {
		t.Errorf("userinfo: the INN as a plain claim: %v", tok.Userinfo["inn"])
	}
	if tok.Claims["verified_claims"] != nil {
		t.Errorf("ID token with verified_claims the id_token member did not ask for")
	}

	// The ID token, and the refreshed one.
	tok = flow(`{"id_token":{"verified_claims":` + wanted + `}}`)
	check("ID token", tok.Claims)
	if tok.Userinfo["verified_claims"] != nil {
		t.Errorf("userinfo with verified_claims the userinfo member did not ask for")
	}
	next, e := rig.refresh(t, site, tok.RefreshToken)
	if e != nil {
		t.Fatalf("refresh: %s", e)
	}
	check("refreshed ID token", next.Claims)
	var info map[string]any
	if e := runRP(t, node, "userinfo", rig.req(site, map[string]any{"access_token": next.AccessToken}), &info); e != nil || info["sub"] == nil {
		t.Fatalf("userinfo of the refreshed token: %v %v", e, info)
	}
	if info["verified_claims"] != nil {
		t.Errorf("refreshed userinfo with verified_claims nobody asked for")
	}
	if code, _, _ := s.get(t, "/.well-known/openid-configuration"); code != http.StatusOK {
		t.Fatalf("discovery: %d", code)
	}
}
