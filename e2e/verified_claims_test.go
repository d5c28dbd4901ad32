package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
		return rig.consentedFlow(t, site, scope, map[string]string{"claims": claims}, "подтверждено электронной подписью")
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

// TestVerifiedClaimsRegistryNodeRP: verified claims from registry checks.
// A citizen registers by phone and types the documents of the simulator's
// identity that passes; once СФР, МВД and ФНС confirm them, Node's
// openid-client (its defaults) asks for verified names, birth date and
// SNILS in userinfo and gets them with electronic_record evidence of the
// pension fund; a max_age the evidence is too old for leaves the element
// out; everything validates against verified_claims.json.
func TestVerifiedClaimsRegistryNodeRP(t *testing.T) {
	node := requireNode(t)
	schemas, err := loadIDASchemas(filepath.Join("..", "idp", "oidc", "testdata", "oidc-ida"))
	if err != nil {
		t.Fatal(err)
	}
	data := []string{"--data-dir", t.TempDir()}
	s := startServer(t, append(data, "--registry-simulator-latency", "0s")...)
	holder := newWebClient(t, s)
	holder.registerNamed("+79167004401", "Иванов", "Иван", "Иванович")
	holder.expect(holder.do("POST", "/account/details", url.Values{"birthdate": {"15.03.1985"}, "snils": {"112-233-445 95"},
		"passport_series": {"4505"}, "passport_number": {"123456"}, "passport_issue_date": {"02.04.2005"},
		"passport_issuer": {"ОВД района Хамовники г. Москвы"}, "division_code": {"772-093"}}), 303, "/account/confirm/check")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p := holder.do("GET", "/account/confirm/check.json", nil)
		var st struct{ Status string }
		_ = json.Unmarshal([]byte(p.Body), &st)
		if st.Status == "confirmed" {
			break
		}
		if st.Status != "pending" || time.Now().After(deadline) {
			t.Fatalf("the registry check: %d %s", p.Status, p.Body)
		}
	}

	rig := &oidcRig{node: node, srv: s, redirect: "http://127.0.0.1:9/cb", browser: holder.c}
	site := rig.createClient(t, data, "Сайт с проверенными данными", "--redirect-uri", rig.redirect,
		"--scopes", "openid fullname birthdate snils")
	site.AuthMethod = "default"
	flow := func(claims string) rpTokens {
		t.Helper()
		if err := schemas.Request([]byte(claims)); err != nil {
			t.Fatalf("the claims parameter does not validate: %v", err)
		}
		return rig.consentedFlow(t, site, "openid fullname birthdate snils", map[string]string{"claims": claims}, "подтверждено в СФР")
	}
	wanted := `{"family_name":null,"given_name":null,"birthdate":null,"snils":null}`
	tok := flow(`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null,"time":{"max_age":3600}},"claims":` + wanted + `}}}`)
	raw, _ := json.Marshal(tok.Userinfo)
	if err := schemas.Response(raw); err != nil {
		t.Errorf("userinfo does not validate: %v\n%s", err, raw)
	}
	list, _ := tok.Userinfo["verified_claims"].([]any)
	if len(list) == 0 {
		t.Fatalf("no verified_claims in userinfo: %s", raw)
	}
	sources := map[string]bool{}
	got := map[string]any{}
	for _, el := range list {
		m := el.(map[string]any)
		for _, ev := range m["verification"].(map[string]any)["evidence"].([]any) {
			e := ev.(map[string]any)
			if e["type"] != "electronic_record" {
				t.Errorf("evidence of type %v, want electronic_record", e["type"])
			}
			if rec, ok := e["record"].(map[string]any); ok {
				if src, ok := rec["source"].(map[string]any); ok {
					sources[fmt.Sprint(src["name"])] = true
				}
			}
		}
		for k, v := range m["claims"].(map[string]any) {
			got[k] = v
		}
	}
	if got["snils"] != "112-233-445 95" || got["birthdate"] != "1985-03-15" || got["family_name"] != "Иванов" || got["given_name"] != "Иван" {
		t.Errorf("verified claims %v, want the checked SNILS, birth date and names", got)
	}
	if len(sources) == 0 {
		t.Errorf("no record source in the evidence: %s", raw)
	}
	t.Logf("evidence sources: %v", sources)

	// A max_age of 0 s: no evidence is that fresh, no element.
	tok = flow(`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null,"time":{"max_age":0}},"claims":` + wanted + `}}}`)
	if tok.Userinfo["verified_claims"] != nil {
		t.Errorf("verified_claims despite max_age 0: %v", tok.Userinfo["verified_claims"])
	}
	if tok.Userinfo["snils"] != "112-233-445 95" {
		t.Errorf("the SNILS as a plain claim: %v", tok.Userinfo["snils"])
	}
}

// consentedFlow runs one authorization of site with params (the claims
// parameter) through the rig's browser, allowing the consent page —
// which must show wantConsent when it is not "" — and redeems the code.
func (r *oidcRig) consentedFlow(t *testing.T, site rpClient, scope string, params map[string]string, wantConsent string) rpTokens {
	t.Helper()
	a := r.authorize(t, site, scope, params)
	p := r.get(t, a.URL)
	for range 6 {
		if strings.HasPrefix(p.Location, r.redirect+"?") {
			break
		}
		if strings.HasPrefix(p.Location, "/authorize/consent") {
			cp := r.get(t, p.Location)
			if body := html.UnescapeString(cp.Body); wantConsent != "" && !strings.Contains(body, wantConsent) {
				t.Errorf("the consent page does not say %q:\n%.2000s", wantConsent, body)
			}
			u, _ := url.Parse(p.Location)
			p = r.post(t, "/authorize/consent", url.Values{"id": {u.Query().Get("id")}, "decision": {"allow"}})
			continue
		}
		p = r.get(t, p.Location)
	}
	a.Callback = p.Location
	if cb, _ := url.Parse(a.Callback); cb == nil || cb.Query().Get("code") == "" {
		t.Fatalf("no code: %d %q\n%.800s", p.Status, p.Location, p.Body)
	}
	return r.mustExchange(t, site, a)
}

// registerNamed registers w's citizen by phone with a full name.
func (w *webClient) registerNamed(phone, family, given, middle string) {
	w.t.Helper()
	w.do("GET", "/register", nil)
	w.expect(w.do("POST", "/register", url.Values{"by": {"phone"}, "phone": {phone}}), 303, "/register/code")
	code, _ := w.srv.devCode(w.t, phone, "code.register", 0)
	w.expect(w.do("POST", "/register/code", url.Values{"code": {code}}), 303, "/register/profile")
	w.expect(w.do("POST", "/register/profile", url.Values{"family_name": {family}, "given_name": {given}, "middle_name": {middle},
		"password": {"Zk7#vLq2!mWp"}, "password_confirm": {"Zk7#vLq2!mWp"}, "consent": {"yes"}}), 303, "/account/details")
}
