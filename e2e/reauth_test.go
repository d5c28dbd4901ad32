package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reauthAge is --reauth-max-age for TestBrowserReauth: short, so that the
// test can wait for a session to become stale, yet long enough for the
// few clicks after a re-authentication on a busy machine.
const reauthAge = 8 * time.Second

// TestBrowserReauth: in headless Chromium, with --reauth-max-age 8s, a
// citizen whose sign-in has grown stale removes a passkey: the form sends
// them to /account/reauth, where the passkey button (the page's script,
// under the CSP) confirms it is them and returns them to the passkeys page,
// where the removal now goes through. Then the password page: opened
// stale, it asks the password first, returns to the form, and the new
// password is saved.
func TestBrowserReauth(t *testing.T) {
	s, public := startLocalhost(t, "--data-dir", t.TempDir(), "--reauth-max-age", reauthAge.String())
	b := newBrowser(t, public)
	authenticator := addVirtualAuthenticator(b)
	r := registrant{Phone: "+7 916 700-33-44", E164: "+79167003344", Family: "Повторова", Given: "Анна", Password: browserPassword}
	registerByPhone(b, s, r, func(string) {})

	b.open("/account/passkeys")
	b.do("add a passkey", chromedp.Click(chromedp.CSS(`[data-passkey-register] [data-passkey-button]:not([disabled])`)))
	waitLocation(b, "/account/passkeys", "?done=added")
	if n := len(virtualCredentials(b, authenticator)); n != 1 {
		b.fatalf("the authenticator holds %d credentials, want 1", n)
	}

	// Stale: the removal goes to the re-authentication page first.
	time.Sleep(reauthAge + time.Second)
	b.open("/account/passkeys")
	b.click(`form[action="/account/passkeys/remove"][method=get] button[type=submit]`, "/account/reauth", 200)
	b.expectText("Подтвердите, что это вы")
	button := `[data-passkey-assert] [data-passkey-actions]:not([hidden]) [data-passkey-button]:not([disabled])`
	b.do("confirm with the passkey", chromedp.WaitVisible(chromedp.CSS(button)), chromedp.Click(chromedp.CSS(button)))
	waitLocation(b, "/account/passkeys", "")
	// Removing asks first (a page: it works without JavaScript).
	// Cancelling keeps the passkey; confirming removes it.
	b.click(`form[action="/account/passkeys/remove"][method=get] button[type=submit]`, "/account/passkeys/remove", 200)
	b.expectText("Удалить ключ доступа «", "Войти этим ключом больше не получится")
	b.click(`[data-cancel-remove]`, "/account/passkeys", 200)
	if n := evalIn[int](b, "count passkeys", `document.querySelectorAll('section[data-passkey]').length`); n != 1 {
		b.fatalf("after cancelling, %d passkeys listed, want 1", n)
	}
	if n := len(virtualCredentials(b, authenticator)); n != 1 {
		b.fatalf("after cancelling, the authenticator holds %d credentials, want 1", n)
	}
	b.click(`form[action="/account/passkeys/remove"][method=get] button[type=submit]`, "/account/passkeys/remove", 200)
	b.click(`form[data-confirm-remove] button[type=submit]`, "/account/passkeys", 200)
	b.expectText("Ключ доступа удалён")
	if n := evalIn[int](b, "count passkeys", `document.querySelectorAll('section[data-passkey]').length`); n != 0 {
		b.fatalf("after confirming, %d passkeys listed, want 0", n)
	}

	// Stale again: the password page asks first, then shows the form.
	time.Sleep(reauthAge + time.Second)
	b.open("/account/password")
	if b.path() != "/account/reauth" {
		b.fatalf("a stale session opened the password form at %s", b.path())
	}
	b.fill("password", r.Password)
	b.submit("/account/reauth", "/account/password")
	const newPassword = "Nw7#pLq3!xRt"
	b.fill("current_password", r.Password)
	b.fill("password", newPassword)
	b.fill("password_confirm", newPassword)
	b.submit("/account/password", "/account/password")
	b.expectText("Пароль изменён")

	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
}
