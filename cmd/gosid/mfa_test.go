package main

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	secretRe = regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`)
	backupRe = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

// TestTOTPSecondFactor: enrol an authenticator app from the security page,
// sign in with a code computed from the shown secret, refuse the same code
// again, step up for a site asking urn:gosid:ac:mfa, and recover with a
// backup code.
func TestTOTPSecondFactor(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		idp, _ := startOP(t, db, c)
		b := newBrowser(t, idp)
		b.register("phone", "+79101112233", "+79101112233", "Двухфакторов", "Иван")

		p := b.postStep("/account/security/totp", nil)
		m := secretRe.FindStringSubmatch(p.Body)
		if p.Status != 200 || m == nil {
			t.Fatalf("TOTP enrolment page: %d", p.Status)
		}
		secret := strings.ReplaceAll(m[1], " ", "")
		code, _ := totp.GenerateCode(secret, c.Now())
		p = b.postStep("/account/security/totp/confirm", url.Values{"code": {code}})
		codes := backupRe.FindAllStringSubmatch(p.Body, -1)
		if p.Status != 200 || len(codes) != 10 {
			t.Fatalf("confirm: %d, %d backup codes", p.Status, len(codes))
		}
		b.post("/logout", nil).expectRedirect(t, "/login")

		// Password, then the second factor.
		b.post("/login", url.Values{"login": {"+79101112233"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		if p := b.get("/account"); p.Status/100 != 3 {
			t.Fatal("signed in before the second factor")
		}
		c.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, c.Now())
		b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")
		b.post("/logout", nil).expectRedirect(t, "/login")
		// The same code again (same step), even through another browser: refused.
		other := newBrowser(t, idp)
		other.post("/login", url.Values{"login": {"+79101112233"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		if p := other.post("/login/2fa", url.Values{"code": {code}}); p.Status != 401 {
			t.Fatalf("replayed TOTP code: %d", p.Status)
		}

		// A site asks for a second factor: a password-only session is stepped up.
		cl, secretCl, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Scopes: []string{"openid"}, GrantTypes: []string{"authorization_code"}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, c.Now())
		b.post("/login", url.Values{"login": {"+79101112233"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")
		verifier, challenge := pkce()
		q := url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "scope": {"openid"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "acr_values": {"urn:gosid:ac:mfa"}}
		cb := authorize(t, b, q)
		tr := tokenRequest(t, idp.URL, cl.ID, secretCl, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
			"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
		tok, err := jwt.ParseInsecure([]byte(tr.IDToken))
		if err != nil {
			t.Fatal(err)
		}
		var acr string
		var amr []any
		_ = tok.Get("acr", &acr)
		_ = tok.Get("amr", &amr)
		if acr != "urn:gosid:ac:mfa" || !slices.Contains(amr, any("pwd")) || !slices.Contains(amr, any("otp")) || !slices.Contains(amr, any("mfa")) {
			t.Fatalf("ID token acr %q amr %v", acr, amr)
		}

		// Lost the app: a backup code signs in once, and a new app can be enrolled.
		lost := newBrowser(t, idp)
		lost.post("/login", url.Values{"login": {"+79101112233"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		lost.post("/login/2fa", url.Values{"backup_code": {strings.ToUpper(codes[0][1])}}).expectRedirect(t, "/account")
		// The newest messages: the backup-code notice and, this browser
		// being new to the account, the new-device notice.
		msgs := lost.messages("+79101112233")
		if len(msgs) < 2 || !slices.ContainsFunc(msgs[:2], func(m devMessage) bool { return m.Kind == "notice.backup_code_used" }) ||
			!slices.ContainsFunc(msgs[:2], func(m devMessage) bool { return m.Kind == "notice.new_device" }) {
			t.Fatalf("owner not told a backup code was used from a new device: %+v", msgs)
		}
		if p := lost.postStep("/account/security/totp", nil); p.Status != 200 || !secretRe.MatchString(p.Body) {
			t.Fatalf("re-enrolment: %d", p.Status)
		}
		again := newBrowser(t, idp)
		again.post("/login", url.Values{"login": {"+79101112233"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		// Spent: refused, said so, and no guess counted.
		if p := again.post("/login/2fa", url.Values{"backup_code": {codes[0][1]}}); p.Status != 422 || !strings.Contains(p.Body, "Этот код уже использован") {
			t.Fatalf("a used backup code worked again: %d", p.Status)
		}
		if p := again.get("/account"); p.Status/100 != 3 {
			t.Fatalf("signed in with a used backup code: %d", p.Status)
		}
	})
}
