package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestOIDCNodeRPStepUp: a site using openid-client asks for
// acr_values=urn:gosid:ac:mfa; a citizen with an authenticator app and a
// password-only session is asked for the second factor, and the ID token
// openid-client validates carries acr urn:gosid:ac:mfa and amr with pwd,
// otp and mfa.
func TestOIDCNodeRPStepUp(t *testing.T) {
	r := newOIDCRig(t)
	// A password-only session, with consent given.
	r.mustExchange(t, r.conf, r.signIn(t, r.conf, "openid fullname"))

	// Turn on the authenticator app from the security page.
	// The security steps are post/redirect/get: the step's page follows.
	if p := r.post(t, "/account/security/totp", nil); p.Status != 303 {
		t.Fatalf("start TOTP: %d", p.Status)
	}
	p := r.get(t, "/account/security/totp")
	m := regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`).FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("security page: %d\n%.400s", p.Status, p.Body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code, _ := totp.GenerateCode(secret, time.Now())
	if p := r.post(t, "/account/security/totp/confirm", url.Values{"code": {code}}); p.Status != 303 {
		t.Fatalf("confirm TOTP: %d", p.Status)
	}
	if p := r.get(t, "/account/security/codes"); p.Status != 200 || !strings.Contains(p.Body, "<li><code>") {
		t.Fatalf("backup codes: %d", p.Status)
	}

	a := r.authorize(t, r.conf, "openid fullname", map[string]string{"acr_values": "urn:gosid:ac:mfa"})
	p = r.get(t, a.URL)
	asked := false
	for range 10 {
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
			t.Fatalf("step-up after %v: %d\n%.400s", a.Steps, p.Status, p.Body)
		}
		if strings.HasPrefix(p.Location, r.redirect+"?") {
			a.Callback = p.Location
			break
		}
		u, _ := url.Parse(r.abs(t, p.Location))
		a.Steps = append(a.Steps, u.Path)
		if u.Path == "/login/2fa" && u.Query().Get("stepup") == "" {
			asked = true
			// The next 30-second step: the enrolment's code is spent.
			next := time.Now().Add(30 * time.Second)
			code, _ := totp.GenerateCode(secret, next)
			p = r.post(t, "/login/2fa", url.Values{"code": {code}})
			if p.Status == http.StatusUnauthorized {
				code, _ = totp.GenerateCode(secret, time.Now())
				p = r.post(t, "/login/2fa", url.Values{"code": {code}})
			}
			continue
		}
		p = r.get(t, u.String())
	}
	if !asked || a.Callback == "" {
		t.Fatalf("the second factor was not asked for: %v", a.Steps)
	}
	tok := r.mustExchange(t, r.conf, a)
	amr, _ := tok.Claims["amr"].([]any)
	if tok.Claims["acr"] != "urn:gosid:ac:mfa" || !slices.Contains(amr, any("pwd")) || !slices.Contains(amr, any("otp")) || !slices.Contains(amr, any("mfa")) {
		t.Fatalf("ID token acr %v amr %v, want urn:gosid:ac:mfa and pwd, otp, mfa", tok.Claims["acr"], amr)
	}
}
