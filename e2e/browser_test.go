package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestBrowserRegistrationAndSignIn drives the sign-up and sign-in pages in
// headless Chromium as a person would: registration by phone with the SMS
// code read from the dev sink, sign-out, sign-in with the phone written
// another way, registration by e-mail and sign-in with the address in
// another case, and a wrong password. Once on the embedded SQLite database
// and once on PostgreSQL.
//
// With GOSID_E2E_SCREENSHOTS=1 the SQLite run also saves screenshots of the
// sign-in and registration pages at 1280 and 360 px to docs/screenshots/.
func TestBrowserRegistrationAndSignIn(t *testing.T) {
	requireChromium(t)
	t.Run("sqlite", func(t *testing.T) {
		registrationAndSignIn(t, os.Getenv("GOSID_E2E_SCREENSHOTS") == "1")
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.EmptyPostgresURL(t)
		registrationAndSignIn(t, false, "--database-url", url)
	})
}

const (
	browserPassword  = "Zk7#vLq2!mWp"
	browserPassword2 = "Rt5$hNw8@cXe"
)

func registrationAndSignIn(t *testing.T, screenshots bool, args ...string) {
	start := time.Now()
	// localhost, not 127.0.0.1, is a secure context for the browser
	// (WebAuthn needs one).
	s := startLocalhostServer(t, append([]string{"--data-dir", t.TempDir()}, args...)...)
	public := s.Issuer
	b := newBrowser(t, public)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve output:\n%s", s.out)
		}
	})

	var shots string
	if screenshots {
		shots = filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shoot := func(name string) {
		if shots == "" {
			return
		}
		b.screenshot(1280, filepath.Join(shots, name+"-1280.png"))
		b.screenshot(360, filepath.Join(shots, name+"-360.png"))
	}

	b.open("/login")
	shoot("login")

	// 1. Registration by phone.
	registerByPhone(b, s, registrant{Phone: "+7 912 345-67-89", E164: "+79123456789", Family: "Иванов", Given: "Иван",
		Middle: "Иванович", Password: browserPassword}, shoot)
	b.open("/account")
	b.expectText("Иванов Иван Иванович", "+7")

	// 2. Sign-out with the header button.
	signOut(b)

	// 3. Sign-in with the phone written the Russian way.
	signIn(b, "8 (912) 345-67-89", browserPassword)
	b.expectText("Иванов Иван Иванович")
	signOut(b)

	// 4. Registration by e-mail; sign-in with the address in lower case.
	b.open("/register?by=email")
	b.fill("email", "Petrova.Anna@Example.RU")
	b.submit("/register", "/register/code")
	code, _ := s.devCode(t, "Petrova.Anna@example.ru", "code.register", 0)
	b.fill("code", code)
	b.submit("/register/code", "/register/profile")
	b.fill("family_name", "Петрова")
	b.fill("given_name", "Анна")
	b.fill("password", browserPassword2)
	b.fill("password_confirm", browserPassword2)
	b.do("tick consent", chromedp.Click(chromedp.CSS(`input[name="consent"][value="yes"]`)))
	b.submit("/register/profile", "/account/details")
	b.open("/account")
	b.expectText("Петрова Анна")
	signOut(b)
	signIn(b, "petrova.anna@example.ru", browserPassword2)
	b.expectText("Петрова Анна")
	signOut(b)

	// 5. A wrong password.
	b.fill("login", "petrova.anna@example.ru")
	b.fill("password", browserPassword)
	b.submitStatus("/login", "/login", 0) // the form again, with 401 or 200
	b.expectText("Неверный логин или пароль")
	if n := evalIn[int](b, "look for the sign-out button", `document.querySelectorAll('form[action="/logout"]').length`); n != 0 {
		b.fatalf("a wrong password signed in (the page has a sign-out button)")
	}

	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("flow took %v", time.Since(start).Round(time.Millisecond))
}

// registrant is a citizen to register in the browser.
type registrant struct {
	Phone, E164           string // as typed, and as the dev sink addresses it
	Family, Given, Middle string
	Password              string
}

// registerByPhone registers by phone on /register, with the SMS code from
// the dev sink, and expects the welcome on /account/details: the browser
// is then signed in. shoot is called on the pages worth a screenshot.
func registerByPhone(b *browser, s *server, r registrant, shoot func(page string)) {
	b.t.Helper()
	toProfile(b, s, r, shoot)
	b.do("tick consent", chromedp.Click(chromedp.CSS(`input[name="consent"][value="yes"]`)))
	b.submit("/register/profile", "/account/details")
	if q := evalIn[string](b, "read query", `location.search`); q != "?welcome=1" {
		b.t.Errorf("after registration the query is %q, want ?welcome=1", q)
	}
}

// toProfile takes b through /register by phone, with the SMS code from
// the dev sink, and fills the profile form but for the consent. shoot is
// called on the pages worth a screenshot.
func toProfile(b *browser, s *server, r registrant, shoot func(page string)) {
	b.t.Helper()
	b.open("/register")
	shoot("register")
	b.fill("phone", r.Phone)
	b.submit("/register", "/register/code")
	code, _ := s.devCode(b.t, r.E164, "code.register", 0)
	b.fill("code", code)
	b.submit("/register/code", "/register/profile")
	shoot("register-profile")
	b.fill("family_name", r.Family)
	b.fill("given_name", r.Given)
	if r.Middle != "" {
		b.fill("middle_name", r.Middle)
	}
	b.fill("password", r.Password)
	b.fill("password_confirm", r.Password)
}

// signOut presses the header's sign-out button and expects the sign-in page.
func signOut(b *browser) {
	b.t.Helper()
	b.click(`header form[action="/logout"] button[type=submit]`, "/login", 200)
	if q := evalIn[string](b, "read query", `location.search`); q != "?notice=signed_out" {
		b.fatalf("after sign-out the query is %q, want ?notice=signed_out", q)
	}
	if n := evalIn[int](b, "look for the sign-out button", `document.querySelectorAll('form[action="/logout"]').length`); n != 0 {
		b.fatalf("still signed in after sign-out")
	}
}

// signIn signs in on /login and expects the account page.
func signIn(b *browser, login, password string) {
	b.t.Helper()
	if b.path() != "/login" {
		b.open("/login")
	}
	b.fill("login", login)
	b.fill("password", password)
	b.submit("/login", "/account")
}
