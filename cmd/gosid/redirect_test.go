package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// evilNext are return addresses that Go's url package reads as paths but a
// browser follows to another host (it drops tabs and line breaks and reads
// a backslash as a slash).
var evilNext = []string{"/\t/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "/\\evil.example/", "//evil.example/", "/ /evil.example/"}

// TestNoOpenRedirectAfterSignIn: a hostile ?next= never leaves the site
// after a password sign-in, after the second factor, or from the
// e-signature page.
func TestNoOpenRedirectAfterSignIn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now())
		idp, _, _ := startOPWith(t, db, c, func(o *idpOptions) {
			o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLTimeout: time.Second}
		})
		b := newBrowser(t, idp)
		b.register("phone", "+79101110301", "+79101110301", "Перенаправлов", "Иван")
		b.post("/logout", nil).expectRedirect(t, "/login")

		for _, next := range evilNext {
			if p := b.get("/login?next=" + url.QueryEscape(next)); strings.Contains(p.Body, "evil.example") {
				t.Errorf("the sign-in page keeps next=%q", next)
			}
			p := b.post("/login", url.Values{"login": {"+79101110301"}, "password": {goodPassword}, "next": {next}})
			p.expectRedirect(t, "/account")
			b.post("/logout", nil).expectRedirect(t, "/login")
			if p := b.get("/login/esign?next=" + url.QueryEscape(next)); p.Status != 200 || strings.Contains(p.Body, "evil.example") {
				t.Errorf("the e-signature page keeps next=%q (%d)", next, p.Status)
			}
		}

		// With a second factor: the target survives the password step in
		// the flow and must still be refused after the code.
		b.post("/login", url.Values{"login": {"+79101110301"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		m := secretRe.FindStringSubmatch(b.postStep("/account/security/totp", nil).Body)
		if m == nil {
			t.Fatal("no TOTP secret shown")
		}
		secret := strings.ReplaceAll(m[1], " ", "")
		code, _ := totp.GenerateCode(secret, c.Now())
		if p := b.postStep("/account/security/totp/confirm", url.Values{"code": {code}}); p.Status != 200 {
			t.Fatalf("confirm TOTP: %d", p.Status)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		for _, next := range evilNext {
			c.Advance(30 * time.Second)
			b.post("/login", url.Values{"login": {"+79101110301"}, "password": {goodPassword}, "next": {next}}).expectRedirect(t, "/login/2fa")
			code, _ := totp.GenerateCode(secret, c.Now())
			b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")
			b.post("/logout", nil).expectRedirect(t, "/login")
		}
		// A step-up's target is checked alike.
		c.Advance(30 * time.Second)
		b.post("/login", url.Values{"login": {"+79101110301"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		code, _ = totp.GenerateCode(secret, c.Now())
		b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")
		c.Advance(30 * time.Second)
		b.get("/login/2fa?stepup=1&next="+url.QueryEscape(evilNext[0])).expectRedirect(t, "/login/2fa")
		code, _ = totp.GenerateCode(secret, c.Now())
		b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")
	})
}
