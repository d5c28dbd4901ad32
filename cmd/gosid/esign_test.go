package main

import (
	"bytes"
	"context"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// The OpenSSL-made fixtures of keys/cert (see keys/cert/testdata/gen.sh).
const certFixtures = "../../keys/cert/testdata"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(certFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signAs signs content as the fixture citizen name (its key and
// certificate, with the intermediate CA in the signature).
func signAs(t *testing.T, name string, content []byte) []byte {
	t.Helper()
	signer, _, err := cms.LoadSigner(fixture(t, name+".key"), "")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := cert.ParseCertificates(fixture(t, name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := cert.ParseCertificates(fixture(t, "intermediate.pem"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.SignDetached(content, signer, leaf[0], inter, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return cms.PEM(der)
}

func fixtureSNILS(t *testing.T, name string) string {
	t.Helper()
	c, err := cert.ParseCertificates(fixture(t, name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	return cert.SubjectOf(c[0]).SNILS
}

var challengeRe = regexp.MustCompile(`<textarea id="challenge" readonly rows="3">([^<]+)</textarea>`)

// esignChallenge opens the e-signature page and returns its challenge.
func esignChallenge(t *testing.T, b *browser, path string) []byte {
	t.Helper()
	p := b.get(path)
	m := challengeRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("%s: %d, no challenge\n%.1500s", path, p.Status, p.Body)
	}
	return []byte(html.UnescapeString(m[1]))
}

// TestESignatureSignIn: a relying party's sign-in completed with a
// qualified certificate carrying the account's SNILS gives an ID token with
// amr ["sc","mfa"] and acr confirmed; every bad certificate or signature is
// refused with a clear message and binds nothing.
func TestESignatureSignIn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		crls := []string{filepath.Join(certFixtures, "ca.crl"), filepath.Join(certFixtures, "root.crl")}
		idp, _, parts := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
			o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLFiles: crls, CRLTimeout: time.Second}
		})
		owner := newBrowser(t, idp)
		owner.register("phone", "+79121110051", "+79121110051", "Иванов", "Иван")

		const redirect = "http://127.0.0.1:9/cb"
		cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Портал «Пример»", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{redirect}, Scopes: []string{"openid", "fullname"}, GrantTypes: []string{"authorization_code"}, IDTokenAlg: "ES256"})
		if err != nil {
			t.Fatal(err)
		}
		bound := func() int {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM account_certificates`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// Refusals: each with its message, nothing bound, no session.
		b := newBrowser(t, idp)
		if p := b.get("/login"); !strings.Contains(p.Body, "Войти с электронной подписью") {
			t.Fatal("sign-in page lacks the e-signature button")
		}
		other := esignChallenge(t, b, "/login/esign")
		for _, tc := range []struct {
			name, want string
			sig        func(challenge []byte) []byte
		}{
			{"expired", "истёк", func(c []byte) []byte { return signAs(t, "expired", c) }},
			{"revoked", "отозван", func(c []byte) []byte { return signAs(t, "revoked", c) }},
			{"untrusted CA", "аккредитованных", func(c []byte) []byte { return signAs(t, "untrusted", c) }},
			{"no digitalSignature", "не предназначен", func(c []byte) []byte { return signAs(t, "nodigsig", c) }},
			{"broken chain", "Цепочка", func(c []byte) []byte { return signAs(t, "broken", c) }},
			{"another challenge", "не соответствует запросу", func(c []byte) []byte { return signAs(t, "citizen256", other) }},
			{"garbage", "не распознана", func(c []byte) []byte { return []byte("-----BEGIN CMS-----\nAAAA\n-----END CMS-----") }},
			{"empty", "загрузите файл", func(c []byte) []byte { return nil }},
		} {
			ch := esignChallenge(t, b, "/login/esign")
			p := b.post("/login/esign", url.Values{"signature": {string(tc.sig(ch))}})
			if p.Status/100 != 4 || !strings.Contains(p.Body, tc.want) {
				t.Errorf("%s: %d, want a 4xx saying %q; got %q", tc.name, p.Status, tc.want, firstError(p.Body))
			}
		}
		if n := bound(); n != 0 {
			t.Fatalf("%d certificates bound by refused attempts", n)
		}
		// The owner binds the certificate in the account centre: it is
		// issued to the account's name, and verifies its SNILS.
		ch := esignChallenge(t, owner, "/account/certificates")
		if p := owner.post("/account/certificates", url.Values{"signature": {string(signAs(t, "citizen256", ch))}}); p.Status != 200 || bound() != 1 {
			t.Fatalf("binding from the account centre: %d, %d bound\n%s", p.Status, bound(), firstError(p.Body))
		}
		if p := b.get("/account"); p.Status != 302 {
			t.Fatalf("a refused attempt signed in: %d", p.Status)
		}

		// A reused challenge: the first use (even a successful one) spends it.
		verifier, challenge := pkce()
		q := url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname"},
			"state": {"s"}, "nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		rp := newBrowser(t, idp)
		p := rp.get("/authorize?" + q.Encode())
		p = rp.get(p.Location) // /authorize/continue → /login?next=…
		p.expectRedirect(t, "/login")
		next, _ := url.Parse(p.Location)
		ch = esignChallenge(t, rp, "/login/esign?next="+url.QueryEscape(next.Query().Get("next")))
		sig := signAs(t, "citizen256", ch)
		p = rp.post("/login/esign", url.Values{"signature": {string(sig)}})
		p.expectRedirect(t, "/authorize/continue")
		if n := bound(); n != 1 {
			t.Fatalf("%d certificates bound after sign-in, want 1", n)
		}
		if p := rp.post("/login/esign", url.Values{"signature": {string(sig)}}); p.Status != 422 || !strings.Contains(p.Body, "уже использован") {
			t.Errorf("reused challenge: %d %q", p.Status, firstError(p.Body))
		}
		// The relying party gets amr ["sc","mfa"] and acr confirmed.
		for i := 0; i < 5 && p.Status/100 == 3 && strings.HasPrefix(p.Location, "/"); i++ {
			if strings.HasPrefix(p.Location, "/authorize/consent") {
				id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
				p = rp.post("/authorize/consent", url.Values{"id": {id}, "decision": {"allow"}})
				continue
			}
			p = rp.get(p.Location)
		}
		cb, err := url.Parse(p.Location)
		if err != nil || cb.Query().Get("code") == "" {
			t.Fatalf("no code for the relying party: %d %q", p.Status, p.Location)
		}
		tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
			"redirect_uri": {redirect}, "code_verifier": {verifier}})
		set, err := jwk.Fetch(ctx, idp.URL+"/keys")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Parse([]byte(tr.IDToken), jwt.WithKeySet(set), jwt.WithIssuer(idp.URL), jwt.WithAudience(cl.ID), jwt.WithValidate(true))
		if err != nil {
			t.Fatalf("ID token: %v (%+v)", err, tr)
		}
		var acr string
		var amr []any
		_ = tok.Get("acr", &acr)
		_ = tok.Get("amr", &amr)
		if acr != "urn:gosid:loa:confirmed" || !slices.Equal(amr, []any{"sc", "mfa"}) {
			t.Fatalf("ID token acr %q amr %v, want urn:gosid:loa:confirmed and [sc mfa]", acr, amr)
		}

		// The certificate is listed in the account centre and can be removed.
		c := rp.get("/account/certificates")
		if c.Status != 200 || !strings.Contains(c.Body, "Иванов Иван Иванович") || !strings.Contains(c.Body, "ГОСТ Р 34.10-2012 (256 бит)") {
			t.Fatalf("certificates page: %d\n%.2000s", c.Status, c.Body)
		}
		fp := regexp.MustCompile(`name="fingerprint" value="([0-9a-f]+)"`).FindStringSubmatch(c.Body)
		if fp == nil {
			t.Fatal("no remove button")
		}
		if p := rp.post("/account/certificates/remove", url.Values{"fingerprint": {fp[1]}}); p.Status != 200 || bound() != 0 {
			t.Fatalf("remove: %d, %d bound", p.Status, bound())
		}
		// Binding from the settings: a certificate with another SNILS is refused.
		ch = esignChallenge(t, rp, "/account/certificates")
		if p := rp.post("/account/certificates", url.Values{"signature": {string(signAs(t, "citizen512", ch))}}); p.Status != 409 || bound() != 0 {
			t.Errorf("a certificate with another SNILS: %d, %d bound", p.Status, bound())
		}
		ch = esignChallenge(t, rp, "/account/certificates")
		if p := rp.post("/account/certificates", url.Values{"signature": {string(signAs(t, "citizen256", ch))}}); p.Status != 200 || bound() != 1 {
			t.Errorf("binding from the settings: %d, %d bound", p.Status, bound())
		}

		// No account with that SNILS: registration is offered, pre-filled
		// from the certificate, which verifies the SNILS of the new account.
		n := newBrowser(t, idp)
		ch = esignChallenge(t, n, "/login/esign")
		p = n.post("/login/esign", url.Values{"signature": {string(signAs(t, "citizen512", ch))}})
		link := regexp.MustCompile(`href="(/register\?[^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 404 || link == nil || !strings.Contains(p.Body, "Сидорова") {
			t.Fatalf("unknown SNILS: %d\n%.1500s", p.Status, p.Body)
		}
		if strings.Contains(link[1], "snils") {
			t.Fatalf("the registration link carries the SNILS: %s", link[1])
		}
		if start := n.get(html.UnescapeString(link[1])); !strings.Contains(start.Body, "подтверждён сертификатом") {
			t.Fatalf("registration start does not announce the certificate's data:\n%.1500s", start.Body)
		}
		n.post("/register", url.Values{"by": {"phone"}, "phone": {"+79121110052"}}).expectRedirect(t, "/register/code")
		n.post("/register/code", url.Values{"code": {n.latestCode("+79121110052", "code.register")}}).expectRedirect(t, "/register/profile")
		if p := n.get("/register/profile"); !strings.Contains(p.Body, `value="Сидорова"`) || !strings.Contains(p.Body, `value="Анна"`) || !strings.Contains(p.Body, `value="Сергеевна"`) {
			t.Fatalf("profile step not pre-filled:\n%.2500s", p.Body)
		}
		n.post("/register/profile", url.Values{"family_name": {"Сидорова"}, "given_name": {"Анна"}, "middle_name": {"Сергеевна"},
			"password": {goodPassword}, "password_confirm": {goodPassword}, "consent": {"yes"}}).expectRedirect(t, "/account/details")
		a, err := parts.Accounts.FindByLogin(ctx, "snils", formatSNILSForTest(t, fixtureSNILS(t, "citizen512")))
		if err != nil || a.Name.Family != "Сидорова" || !a.SNILSVerified() || a.Level != assurance.Confirmed {
			t.Fatalf("registered account by the certificate's SNILS: %v %v", a, err)
		}
		if n := bound(); n != 2 {
			t.Fatalf("%d certificates bound, want the registration's too", n)
		}
	})
}

// TestCertsVerifyAndSign: `gosid sign` makes a signature that `gosid certs
// verify` accepts with the signer's details; a revoked one exits 1 naming
// the reason.
func TestCertsVerifyAndSign(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "challenge.txt")
	if err := os.WriteFile(content, []byte("Gosid: вход с электронной подписью"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	sigFile := filepath.Join(dir, "sig.pem")
	chain := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(chain, append(fixture(t, "citizen512.pem"), fixture(t, "intermediate.pem")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"sign", "--key", filepath.Join(certFixtures, "citizen512.key"), "--cert", chain,
		"--in", content, "--out", sigFile}, nil, &out, &errOut); code != 0 {
		t.Fatalf("gosid sign: %d %s", code, errOut.String())
	}
	verify := func(sig string) (int, string) {
		out.Reset()
		errOut.Reset()
		code := run(context.Background(), []string{"certs", "verify", "--trust-dir", filepath.Join(certFixtures, "trust"),
			"--crl-file", filepath.Join(certFixtures, "ca.crl"), "--crl-file", filepath.Join(certFixtures, "root.crl"), "--content", content, "--signature", sig}, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, text := verify(sigFile)
	if code != 0 || !strings.Contains(text, "signature: valid") || !strings.Contains(text, fixtureSNILS(t, "citizen512")) {
		t.Fatalf("certs verify: %d\n%s", code, text)
	}
	revoked := filepath.Join(dir, "revoked.pem")
	body, _ := os.ReadFile(content)
	if err := os.WriteFile(revoked, signAs(t, "revoked", body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, text = verify(revoked)
	if code != 1 || !strings.Contains(text, "REFUSED") || !strings.Contains(strings.ToLower(text), "revoked") || !strings.Contains(text, "Волков") {
		t.Fatalf("revoked: %d\n%s", code, text)
	}
}

func formatSNILSForTest(t *testing.T, digits string) string {
	t.Helper()
	s, err := validate.SNILS(digits)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestESignatureRateLimit: signature checks from one address are bounded.
func TestESignatureRateLimit(t *testing.T) {
	db := sqldbtest.SQLite(t)
	idp, _, _ := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
		o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLTimeout: time.Second}
	})
	b := newBrowser(t, idp)
	for i := 0; i < 60; i++ {
		if p := b.post("/login/esign", url.Values{"signature": {"x"}}); strings.Contains(p.Body, "Слишком много попыток") {
			t.Fatalf("limited after %d attempts", i)
		}
	}
	if p := b.post("/login/esign", url.Values{"signature": {"x"}}); !strings.Contains(p.Body, "Слишком много попыток") {
		t.Fatalf("attempt 61 not limited: %d %q", p.Status, firstError(p.Body))
	}
}
