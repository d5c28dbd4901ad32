package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDoubleSubmit: a citizen who presses «Зарегистрироваться»
// twice sends one request, not two. Of two, the server lets one register
// (the flow is claimed once) and the browser would show the other's
// answer: «the session has expired, start again» over an account that was
// made. The page counts the submissions that went ahead; the citizen lands
// on the welcome, and the form can be sent again once it is shown anew.
func TestBrowserDoubleSubmit(t *testing.T) {
	requireChromium(t)
	s := startLocalhostServer(t, "--data-dir", t.TempDir())
	b := newBrowser(t, s.Issuer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve output:\n%s", s.out)
		}
	})
	c := registrant{Phone: "+7 913 111-22-44", E164: "+79131112244", Family: "Соколова", Given: "Мария", Password: browserPassword}
	shoot := shooter(b)
	toProfile(b, s, c, func(string) {})
	shoot("double-submit-profile")
	b.do("tick consent", chromedp.Click(chromedp.CSS(`input[name="consent"][value="yes"]`)))

	// Two presses of the button, as a double click makes them: each is a
	// submit event; a listener added after the page's own sees whether
	// the page let it go ahead.
	const twice = `(() => {
		const form = document.querySelector('form[action="/register/profile"]');
		const button = form.querySelector('button[type=submit]');
		let sent = 0;
		window.addEventListener('submit', e => { if (!e.defaultPrevented) sent++; });
		form.requestSubmit(button);
		form.requestSubmit(button);
		return sent;
	})()`
	var sent int
	press := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		n, err := chromedp.Evaluate[int](twice)(ctx, tg)
		sent = n
		return chromedp.Void{}, err
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, press)
	if err != nil {
		b.fatalf("press twice: %v", err)
	}
	if sent != 1 {
		b.fatalf("two presses sent %d submissions, want 1", sent)
	}
	if got, q := b.path(), evalIn[string](b, "read query", `location.search`); got != "/account/details" || q != "?welcome=1" || resp.Status != 200 {
		b.fatalf("after two presses: %s%s (status %v), want /account/details?welcome=1", got, q, status(resp))
	}
	shoot("double-submit-welcome")

	// The guard is the page's, not the form's for ever: on the next page
	// a form goes on the first press.
	b.fill("middle_name", "Ивановна")
	b.submit("/account/details", "/account")
	if text := b.text(); !strings.Contains(text, "Ивановна") {
		b.fatalf("the details saved after the double press do not show the patronymic:\n%s", text)
	}
	if p := b.consoleProblems(); len(p) > 0 {
		b.fatalf("console problems: %v", p)
	}
}
