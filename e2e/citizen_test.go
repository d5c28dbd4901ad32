package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserConsentLockoutAndLanguage drives three of the defects a
// citizen hit (issue 13) in Chromium:
//
//   - registration without consent: the error is styled as every field
//     error (the error colour, not plain black), and the checkbox links to
//     the user agreement and the personal-data policy, which open;
//   - the language link on /login keeps next: switching to English and
//     signing in lands on the page the sign-in was for;
//   - three wrong passwords: the page says password sign-in is blocked for
//     30 minutes and offers recovery by code, for the right password too,
//     and an unknown login gets the very same text after three failures.
//
// With GOSID_E2E_SCREENSHOTS=1 it saves the locked sign-in at 1280 and
// 360 px to docs/screenshots/.
func TestBrowserConsentLockoutAndLanguage(t *testing.T) {
	requireChromium(t)
	s := startLocalhostServer(t, "--data-dir", t.TempDir())
	b := newBrowser(t, s.Issuer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve output:\n%s", s.out)
		}
	})
	c := registrant{Phone: "+7 913 111-22-33", E164: "+79131112233", Family: "Соколова", Given: "Мария", Password: browserPassword}

	// Registration up to the profile form, submitted without consent.
	toProfile(b, s, c, func(string) {})
	b.submitStatus("/register/profile", "/register/profile", 0)
	b.expectText("без согласия на обработку персональных данных регистрация невозможна")
	if color := evalIn[string](b, "read the consent error's colour", `getComputedStyle(document.getElementById('consent-err')).color`); color != "rgb(179, 38, 38)" && color != "rgb(179, 38, 30)" {
		b.fatalf("the consent error is %s, want the error colour rgb(179, 38, 30)", color)
	}
	for _, doc := range []struct{ href, title string }{{"/terms", "Пользовательское соглашение"}, {"/privacy", "Политика обработки персональных данных"}} {
		sel := `#consent-docs a[href="` + doc.href + `"]`
		if n := evalIn[int](b, "find the link to "+doc.href, `document.querySelectorAll('`+sel+`').length`); n != 1 {
			b.fatalf("the consent checkbox has %d links to %s", n, doc.href)
		}
		if desc := evalIn[string](b, "read the checkbox's description", `document.querySelector('input[name=consent]').getAttribute('aria-describedby')`); !strings.Contains(desc, "consent-docs") {
			b.fatalf("the checkbox is not described by the documents' links: %q", desc)
		}
	}
	// The documents open (in this tab here; the page opens them in a new one).
	docs := newBrowser(t, s.Issuer)
	docs.open("/terms")
	docs.expectText("Пользовательское соглашение", "Учётная запись")
	docs.open("/privacy?lang=en")
	docs.expectText("Personal data processing policy", "152-FZ")
	// Consent given, the password typed again: the account is made.
	b.fill("password", c.Password)
	b.fill("password_confirm", c.Password)
	b.do("tick consent", chromedp.Click(chromedp.CSS(`input[name="consent"][value="yes"]`)))
	b.submit("/register/profile", "/account/details")
	signOut(b)

	// The language link keeps next.
	b.open("/login?next=%2Faccount%2Fsessions")
	b.click(`a.lang`, "/login", 200)
	if q := evalIn[string](b, "read query", `location.search`); !strings.Contains(q, "next=%2Faccount%2Fsessions") || !strings.Contains(q, "lang=en") {
		b.fatalf("after the language link the query is %q, want next kept and lang=en", q)
	}
	b.expectText("Sign in")
	b.fill("login", c.Phone)
	b.fill("password", c.Password)
	b.submit("/login", "/account/sessions")
	signOut(b)
	b.open("/login?lang=ru") // the choice of English is remembered until changed

	// A return address Chromium would read as another site's (a tab
	// after the first slash) lands in the account centre, on our origin.
	b.open("/login?next=%2F%09%2Fevil.example%2F")
	b.fill("login", c.Phone)
	b.fill("password", c.Password)
	b.submit("/login", "/account")
	if origin := evalIn[string](b, "read origin", `location.origin`); origin != s.Issuer {
		b.fatalf("after sign-in with a hostile return address the browser is at %s, want %s", origin, s.Issuer)
	}
	signOut(b)

	// Three wrong passwords, then the right one.
	lockMsg := "Вход по паролю временно заблокирован на 30 минут"
	wrong := func(login string, i int) {
		b.fill("login", login)
		b.fill("password", "Wrong#Pass"+string(rune('1'+i)))
		b.submitStatus("/login", "/login", 401)
	}
	for i := range 3 {
		wrong(c.Phone, i)
	}
	b.expectText(lockMsg, "Восстановить доступ по коду")
	b.fill("login", c.Phone)
	b.fill("password", c.Password)
	b.submitStatus("/login", "/login", 401)
	b.expectText(lockMsg)
	known := b.text()
	if os.Getenv("GOSID_E2E_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "docs", "screenshots")
		b.screenshot(1280, filepath.Join(dir, "login-locked-1280.png"))
		b.screenshot(360, filepath.Join(dir, "login-locked-360.png"))
	}
	b.click(`main a[href="/recover"].button`, "/recover", 200)

	// An unknown login: the same answers.
	b.open("/login")
	for i := range 3 {
		wrong("+7 900 000-00-07", i)
	}
	if unknown := b.text(); unknown != known {
		b.fatalf("an unknown login's lock-out reads\n%s\nwant, as for a known one,\n%s", unknown, known)
	}
}
