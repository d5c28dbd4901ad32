package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestBrowserSessionsTwoContexts: one citizen signed in from two browsers
// (separate Chromium profiles, so separate cookie jars). In browser A the
// sessions page lists both, marks A's own as "this device", and ends B's
// with its button; B's next request is sent to sign in. Once on SQLite, and
// once on PostgreSQL with two `gosid serve` replicas, A on one and B on the
// other: ending a session takes effect at once on every replica.
//
// The SQLite run also grants a site access through the consent page, then
// checks the account centre's pages (account, security, sessions, apps):
// <html lang="ru">, a label for every visible field, and no horizontal
// scrolling at 360 px. With GOSID_E2E_SCREENSHOTS=1 it saves them at 1280
// and 360 px to docs/screenshots/.
func TestBrowserSessionsTwoContexts(t *testing.T) {
	requireChromium(t)
	t.Run("sqlite", func(t *testing.T) {
		start := time.Now()
		dir := t.TempDir()
		s, public := startLocalhost(t, "--data-dir", dir)
		a, b := signInTwice(t, s, public, public)

		site := grantSite(t, a, []string{"--data-dir", dir})
		shots := ""
		if os.Getenv("GOSID_E2E_SCREENSHOTS") == "1" {
			shots = filepath.Join("..", "docs", "screenshots")
			if err := os.MkdirAll(shots, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []struct{ name, path, want string }{
			{"account", "/account", sessionCitizen.Family + " " + sessionCitizen.Given},
			{"security", "/account/security", "Двухэтапная проверка"},
			{"sessions", "/account/sessions", "это устройство"},
			{"apps", "/account/apps", site},
		} {
			a.open(p.path)
			a.expectText(p.want)
			checkPage(a, p.name)
			if shots != "" {
				a.screenshot(1280, filepath.Join(shots, p.name+"-1280.png"))
				a.screenshot(360, filepath.Join(shots, p.name+"-360.png"))
			}
		}

		endOtherSession(a, b)
		for _, br := range []*browser{a, b} {
			for _, p := range br.consoleProblems() {
				t.Errorf("browser console: %s", p)
			}
		}
		t.Logf("flow took %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("postgres, two replicas", func(t *testing.T) {
		start := time.Now()
		dbURL := sqldbtest.EmptyPostgresURL(t)
		dir := t.TempDir()
		// Same database and master key; each replica has its own public
		// URL, so each browser talks to one replica only.
		s1, public1 := startLocalhost(t, "--data-dir", dir, "--database-url", dbURL)
		_, public2 := startLocalhost(t, "--data-dir", dir, "--database-url", dbURL)
		a, b := signInTwice(t, s1, public1, public2)
		endOtherSession(a, b)
		t.Logf("flow took %v", time.Since(start).Round(time.Millisecond))
	})
}

// sessionCitizen is the citizen of TestBrowserSessionsTwoContexts.
var sessionCitizen = registrant{Phone: "+7 916 700-11-22", E164: "+79167001122", Family: "Сеансова", Given: "Мария",
	Password: browserPassword}

// startLocalhost starts `gosid serve` with a public URL on localhost (a
// secure context for the browser, as in registrationAndSignIn) and returns
// it with that URL.
func startLocalhost(t *testing.T, args ...string) (*server, string) {
	t.Helper()
	s := startLocalhostServer(t, args...)
	public := s.Issuer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve on %s output:\n%s", public, s.out)
		}
	})
	return s, public
}

// signInTwice registers sessionCitizen in browser A at publicA (s serves
// it), signs out and in again there, then signs in from browser B at
// publicB. The account then has exactly two live sessions.
func signInTwice(t *testing.T, s *server, publicA, publicB string) (a, b *browser) {
	t.Helper()
	a = newBrowser(t, publicA)
	registerByPhone(a, s, sessionCitizen, func(string) {})
	// The registration's session ends here and must not be listed.
	signOut(a)
	signIn(a, sessionCitizen.Phone, sessionCitizen.Password)
	b = newBrowser(t, publicB)
	signIn(b, sessionCitizen.Phone, sessionCitizen.Password)
	b.expectText(sessionCitizen.Family + " " + sessionCitizen.Given)
	return a, b
}

// sessionRow is a row of /account/sessions as the citizen sees it.
type sessionRow struct {
	Text    string `json:"text"`
	Current string `json:"current"` // the badge's text, if any
	End     int    `json:"end"`     // end buttons in the row
}

func sessionRows(b *browser) []sessionRow {
	b.t.Helper()
	return evalIn[[]sessionRow](b, "read the sessions", `Array.from(document.querySelectorAll('main table tbody tr')).map(tr => ({
		text: tr.innerText,
		current: (tr.querySelector('.badge') || {innerText: ''}).innerText.trim(),
		end: tr.querySelectorAll('form[action="/account/sessions/end"] button[type=submit]').length,
	}))`)
}

// endOtherSession: in A, /account/sessions lists two sessions, A's own
// marked; A ends the other one with its button; the page confirms and
// lists one; B's next request lands on the sign-in page.
func endOtherSession(a, b *browser) {
	a.t.Helper()
	a.open("/account/sessions")
	rows := sessionRows(a)
	if len(rows) != 2 {
		a.fatalf("/account/sessions lists %d sessions, want 2 (A and B): %+v", len(rows), rows)
	}
	current := 0
	for _, r := range rows {
		// Both browsers are headless Chromium on Linux, on loopback.
		for _, want := range []string{"Chrome", "Linux", "127.0.0.1", "МСК"} {
			if !strings.Contains(r.Text, want) {
				a.t.Errorf("session row %q does not show %q", r.Text, want)
			}
		}
		switch {
		case r.Current == "это устройство" && r.End == 0:
			current++
		case r.Current == "" && r.End == 1:
		default:
			a.t.Errorf("session row %+v: want either the \"это устройство\" badge and no end button, or an end button and no badge", r)
		}
	}
	if current != 1 {
		a.fatalf("%d sessions marked \"это устройство\", want 1: %+v", current, rows)
	}

	a.click(`main table form[action="/account/sessions/end"] button[type=submit]`, "/account/sessions", 200)
	a.expectText("Сеансы завершены.")
	if rows := sessionRows(a); len(rows) != 1 || rows[0].Current != "это устройство" {
		a.fatalf("after ending the other session the page lists %+v, want this device only", rows)
	}
	// A is still signed in.
	a.open("/account")
	a.expectText(sessionCitizen.Family + " " + sessionCitizen.Given)

	// B is not: its next request is sent to sign in.
	b.open("/account")
	if p := b.path(); p != "/login" {
		b.fatalf("B's session was ended, yet GET /account landed on %s, want /login", p)
	}
	if n := evalIn[int](b, "look for the sign-out button", `document.querySelectorAll('form[action="/logout"]').length`); n != 0 {
		b.fatalf("B still shows a sign-out button after its session was ended")
	}
}

// grantSite registers a site (a relying party on a test server) with
// `gosid clients create` and allows it on the consent page in the browser,
// so that /account/apps lists it. It returns the site's name.
func grantSite(t *testing.T, b *browser, data []string) string {
	t.Helper()
	const name = "Городская библиотека"
	rp := newCallbackRP(t)
	// createClient uses no state of the rig.
	c := new(oidcRig).createClient(t, data, name, "--redirect-uri", rp.redirect, "--scopes", "openid fullname mobile",
		"--grant-types", "authorization_code")
	verifier := "apps-verifier-" + strings.Repeat("v", 40)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {c.ID}, "redirect_uri": {rp.redirect}, "response_type": {"code"}, "scope": {"openid fullname mobile"},
		"state": {"st-apps"}, "nonce": {"n-apps"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	b.open("/authorize?" + q.Encode())
	if p := b.path(); p != "/authorize/consent" {
		b.fatalf("authorization by a new site landed on %s, want the consent page", p)
	}
	b.expectText(name)
	// Not b.click: when the browser does not reach the site, the grant is
	// still stored and the rest of the test can go on.
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/authorize/consent"] button[value="allow"]`)))
	cancel()
	if rp.code() == "" {
		// The console's explanation arrives a moment after the failure.
		var csp []string
		for deadline := time.Now().Add(2 * time.Second); len(csp) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, m := range b.consoleProblems() {
				if strings.Contains(m, "Content Security Policy") {
					csp = append(csp, m)
				}
			}
		}
		t.Errorf("after consent the browser did not reach the site's redirect URI (%v); browser console: %q", err, csp)
	}
	return name
}

// checkPage checks what every account-centre page owes a citizen: Russian
// declared as the page's language, a label for every visible field, and no
// horizontal scrolling on a 360-pixel-wide phone. Failures name the page.
func checkPage(b *browser, name string) {
	b.t.Helper()
	if lang := evalIn[string](b, "read the page language", `document.documentElement.getAttribute('lang') || ''`); lang != "ru" {
		b.t.Errorf("%s page: <html lang=%q>, want ru", name, lang)
	}
	unlabelled := func(width string) {
		for _, f := range evalIn[[]string](b, "look for unlabelled fields", unlabelledFields) {
			b.t.Errorf("%s page at %s: field %s has no <label> and no aria-label", name, width, f)
		}
	}
	unlabelled("1280 px")

	settle := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)(ctx, t)
		return err
	})
	b.do("phone viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulatePortrait), settle)
	width := evalIn[int](b, "measure the page", `document.documentElement.scrollWidth`)
	unlabelled("360 px")
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 900), settle)
	if width > 360 {
		b.t.Errorf("%s page at 360 px: the page is %d px wide, so a phone scrolls sideways", name, width)
	}
}

// unlabelledFields names the visible inputs, selects and text areas that
// have no label with text, no aria-label and no aria-labelledby pointing at
// text.
const unlabelledFields = `Array.from(document.querySelectorAll('input, select, textarea')).filter(e => {
	if (e.type === 'hidden' || e.getClientRects().length === 0) return false;
	if (Array.from(e.labels || []).some(l => l.innerText.trim() !== '')) return false;
	if ((e.getAttribute('aria-label') || '').trim() !== '') return false;
	const ids = (e.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
	if (ids.some(id => { const l = document.getElementById(id); return l && l.innerText.trim() !== ''; })) return false;
	return true;
}).map(e => e.name || e.id || e.outerHTML.slice(0, 120))`
