package e2e

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeBankConfirm: confirmation through a bank against an independent
// OpenID provider, Node oidc-provider as a stand-in bank, with the
// connector's defaults (client_secret_basic, PKCE, nonce, RFC 9207 iss).
// Through a tampering proxy, a bad iss in the authorization response, a
// bad ID-token signature and a wrong nonce are each refused and change
// nothing; untampered, the citizen's account becomes confirmed, and Node's
// openid-client then receives verified_claims with vouch evidence of the
// bank (validated against verified_claims.json). A citizen whose birth
// date the bank holds otherwise stays as they were. Another citizen
// registers through the bank and, signed out, signs in with it.
func TestNodeBankConfirm(t *testing.T) {
	node := requireNode(t)
	schemas, err := loadIDASchemas(filepath.Join("..", "idp", "oidc", "testdata", "oidc-ida"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := []string{"--data-dir", dir}
	s := startServer(t, data...)
	callback := s.Issuer + "/bank/callback"
	const secret = "stand-in-bank-secret"
	nb := startNodeBank(t, nodeBankConfig{
		Clients:  []nodeBankClient{{ClientID: "gosid", ClientSecret: secret, RedirectURIs: []string{callback}}},
		Accounts: sandboxAccounts(t),
	})
	secretFile := filepath.Join(dir, "bank.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// addBank connects the stand-in bank as id, its metadata read at
	// discovery (through a proxy).
	addBank := func(id, discovery string) {
		t.Helper()
		args := append([]string{"banks", "add"}, data...)
		args = append(args, "--id", id, "--name-ru", "Стенд-банк", "--name-en", "Stand-in bank", "--issuer", nb.Issuer,
			"--discovery-url", discovery, "--client-id", "gosid", "--client-secret-file", secretFile, "--scopes", "openid", "--may-register")
		for _, c := range []string{"family_name=family_name", "given_name=given_name", "middle_name=middle_name", "birthdate=birthdate",
			"snils=snils", "passport_series=passport.series", "passport_number=passport.number", "passport_issue_date=passport.issue_date"} {
			args = append(args, "--claim", c, "--vouches", c[:strings.IndexByte(c, '=')])
		}
		if code, out, errOut := gosid(t, args...); code != 0 {
			t.Fatalf("gosid banks add: %d\n%s%s", code, out, errOut)
		}
	}
	// confirm runs a confirmation of w's account at bank id as the
	// customer sub, and returns Gosid's answer to the callback.
	confirm := func(w *webClient, id, sub string) page {
		t.Helper()
		p := w.do("POST", "/account/confirm/bank", url.Values{"bank": {id}})
		if p.Status != 303 || p.Location == "" {
			t.Fatalf("start at %s: %d %q\n%.500s", id, p.Status, p.Location, p.Body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cb := bankSignIn(ctx, t, bankBrowser(t), p.Location, sub, callback)
		return w.do("GET", cb.RequestURI(), nil)
	}
	level := func(w *webClient) string {
		t.Helper()
		body := w.do("GET", "/account", nil).Body
		for _, l := range []string{"Подтверждённая", "Стандартная", "Упрощённая"} {
			if strings.Contains(body, l) {
				return l
			}
		}
		t.Fatalf("no level on the account page:\n%.1500s", body)
		return ""
	}

	holder := newWebClient(t, s)
	holder.registerNamed("+79167006601", "Иванов", "Иван", "Иванович")

	for _, mode := range []tamper{tamperBadIss, tamperBadSignature, tamperWrongNonce} {
		id := "nb-" + strings.ToLower(mode.String())
		addBank(id, newBankProxy(t, nb.Issuer, mode).DiscoveryURL)
		p := confirm(holder, id, "sandbox-0001")
		if p.Status != 502 || !strings.Contains(html.UnescapeString(p.Body), "прислал ответ, который не прошёл проверку") {
			t.Errorf("%s: %d, want 502 refusing the answer\n%.1500s", mode, p.Status, p.Body)
		}
		if l := level(holder); l != "Упрощённая" {
			t.Errorf("%s: level %s after a refused answer", mode, l)
		}
	}

	addBank("nb", newBankProxy(t, nb.Issuer, tamperNone).DiscoveryURL)
	if p := confirm(holder, "nb", "sandbox-0001"); p.Status != 200 || !strings.Contains(html.UnescapeString(p.Body), "Личность подтверждена через банк «Стенд-банк».") {
		t.Fatalf("confirm: %d\n%.1500s", p.Status, p.Body)
	}
	if l := level(holder); l != "Подтверждённая" {
		t.Fatalf("level %s after the bank's confirmation", l)
	}

	// Another birth date at the bank: the page names it, nothing changes.
	other := newWebClient(t, s)
	other.do("GET", "/register", nil)
	other.register("+79167006604", "Сидорова", "Анна")
	other.expect(other.do("POST", "/account/details", url.Values{"birthdate": {"22.07.1992"}}), 303, "/account")
	if p := confirm(other, "nb", "sandbox-0004"); p.Status != 409 || !strings.Contains(p.Body, "23.07.1992") || !strings.Contains(p.Body, "22.07.1992") {
		t.Errorf("mismatch: %d\n%.1500s", p.Status, p.Body)
	}
	if l := level(other); l != "Упрощённая" {
		t.Errorf("level %s after a mismatch", l)
	}

	// Registration through the bank (Сёмина-Петрова), then sign-out and
	// sign-in with the bank identity the registration linked.
	reg := newWebClient(t, s)
	reg.do("GET", "/register", nil)
	start := reg.do("POST", "/register/bank", url.Values{"bank": {"nb"}})
	if start.Status != 303 {
		t.Fatalf("register through the bank: %d %q\n%.800s", start.Status, start.Location, start.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cb := bankSignIn(ctx, t, bankBrowser(t), start.Location, "sandbox-0002", callback)
	reg.expect(reg.do("GET", cb.RequestURI(), nil), 303, "/register")
	if body := html.UnescapeString(reg.do("GET", "/register", nil).Body); !strings.Contains(body, "Данные из банка «Стенд-банк»") {
		t.Fatalf("the registration page does not show the bank's data:\n%.1500s", body)
	}
	reg.expect(reg.do("POST", "/register", url.Values{"by": {"phone"}, "phone": {"+79160000002"}}), 303, "/register/code")
	code, _ := s.devCode(t, "+79160000002", "code.register", 0)
	reg.expect(reg.do("POST", "/register/code", url.Values{"code": {code}}), 303, "/register/profile")
	reg.expect(reg.do("POST", "/register/profile", url.Values{"password": {"Zk7#vLq2!mWp"}, "password_confirm": {"Zk7#vLq2!mWp"},
		"consent": {"yes"}}), 303, "/account/details")
	if l := level(reg); l != "Подтверждённая" {
		t.Fatalf("level %s after registering through the bank", l)
	}
	reg.expect(reg.do("POST", "/logout", url.Values{}), 303, "/login")
	start = reg.do("POST", "/login/bank", url.Values{"bank": {"nb"}})
	cb = bankSignIn(ctx, t, bankBrowser(t), start.Location, "sandbox-0002", callback)
	if p := reg.do("GET", cb.RequestURI(), nil); p.Status != 303 || !strings.HasPrefix(p.Location, "/account") {
		t.Fatalf("sign in with the bank: %d %q\n%.800s", p.Status, p.Location, p.Body)
	}
	if body := html.UnescapeString(reg.do("GET", "/account/banks", nil).Body); !strings.Contains(body, "Стенд-банк") {
		t.Errorf("the account centre does not list the bank link:\n%.1500s", body)
	}

	// A site asks for verified claims: the bank's vouch.
	rig := &oidcRig{node: node, srv: s, redirect: "http://127.0.0.1:9/cb", browser: holder.c}
	site := rig.createClient(t, data, "Сайт банка-партнёра", "--redirect-uri", rig.redirect, "--scopes", "openid fullname birthdate snils")
	site.AuthMethod = "default"
	claims := `{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"family_name":null,"given_name":null,"birthdate":null,"snils":null}}}}`
	tok := rig.consentedFlow(t, site, "openid fullname birthdate snils", map[string]string{"claims": claims}, "подтверждено банком")
	raw, _ := json.Marshal(tok.Userinfo)
	if err := schemas.Response(raw); err != nil {
		t.Errorf("userinfo does not validate: %v\n%s", err, raw)
	}
	var vouched bool
	for _, el := range asList(tok.Userinfo["verified_claims"]) {
		m := el.(map[string]any)
		for _, ev := range asList(m["verification"].(map[string]any)["evidence"]) {
			e := ev.(map[string]any)
			att, _ := e["attestation"].(map[string]any)
			voucher, _ := att["voucher"].(map[string]any)
			if e["type"] == "vouch" && voucher["organization"] == "Стенд-банк" {
				vouched = true
				if c := m["claims"].(map[string]any); c["snils"] != "112-233-445 95" || c["birthdate"] != "1985-03-15" {
					t.Errorf("vouched claims %v", c)
				}
			}
		}
	}
	if !vouched {
		t.Errorf("no vouch evidence in verified_claims: %s", raw)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
