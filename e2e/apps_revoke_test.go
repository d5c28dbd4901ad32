package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// appsCitizen is the citizen of TestBrowserRevokeAsksFirst.
var appsCitizen = registrant{Phone: "+7 916 700-55-66", E164: "+79167005566", Family: "Отзывова", Given: "Нина", Password: browserPassword}

// TestBrowserRevokeAsksFirst: with scripts off in the page, «Отозвать
// доступ» on /account/apps leads to a confirmation naming the site; its
// cancel link goes back with the access kept; pressed again and confirmed,
// the access is revoked and the site is no longer listed.
func TestBrowserRevokeAsksFirst(t *testing.T) {
	requireChromium(t)
	start := time.Now()
	dir := t.TempDir()
	s, public := startLocalhost(t, "--data-dir", dir)
	b := newBrowser(t, public)
	registerByPhone(b, s, appsCitizen, func(string) {})
	site := grantSite(t, b, []string{"--data-dir", dir})

	b.do("turn scripts off", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	b.open("/account/apps")
	b.expectText(site)
	revoke := `main a[href^="/account/apps?revoke="]`
	b.click(revoke, "/account/apps", 200)
	b.expectText("Отозвать доступ сайта «"+site+"»?", "Да, отозвать доступ", "Отмена")

	b.click(`form[action="/account/apps/revoke"] a[href="/account/apps"]`, "/account/apps", 200)
	b.expectText(site, "Отозвать доступ")
	if q := evalIn[string](b, "read query", `location.search`); q != "" {
		b.fatalf("cancel landed on /account/apps%s, want the plain list", q)
	}

	b.click(revoke, "/account/apps", 200)
	b.submit("/account/apps/revoke", "/account/apps")
	b.expectText("Доступ отозван")
	if text := b.text(); strings.Contains(text, site) {
		b.fatalf("the revoked site is still listed:\n%s", text)
	}
	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("flow took %v", time.Since(start).Round(time.Millisecond))
}
