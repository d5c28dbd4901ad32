package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/help"
)

// TestPortalHelp: the help as gosid serve wires it. A visitor reads it
// without signing in — the sections, a search that forgives an inflection
// and a typo, an answer with the identity provider's pages linked at the
// provider's own URL, and the way to support; an unknown answer is the
// portal's 404. A signed-in citizen gets the same pages, and the
// catalogue's search shows the help's answers beside the services. The
// help reads no table, so one dialect suffices.
func TestPortalHelp(t *testing.T) {
	db := sqldbtest.SQLite(t)
	c := sqldbtest.NewClock(time.Now())
	op, _, parts := startOPParts(t, db, c)
	portalURL, _ := startEmbeddedPortal(t, parts)
	visitor := newBrowser(t, op)
	get := func(b *browser, path string, status int, want ...string) page {
		t.Helper()
		p := b.abs("GET", portalURL+path, nil)
		if p.Status != status {
			t.Fatalf("GET %s: %d, want %d\n%.1500s", path, p.Status, status, p.Body)
		}
		for _, w := range want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("GET %s lacks %q", path, w)
			}
		}
		return p
	}
	q := func(s string) string { return url.QueryEscape(s) }

	get(visitor, "/", 200, `href="/help"`)
	get(visitor, "/help", 200, "Регистрация и учётная запись", "Начисления и оплата", `href="/help/locked-out"`, `href="/support/new"`)
	get(visitor, "/help?q="+q("пароля"), 200, "Найдено ответов", `href="/help/forgot-password"`)
	get(visitor, "/help?q="+q("пасворд"), 200, "Найдено ответов: 1", `href="/help/forgot-password"`)
	get(visitor, "/help?q="+q("оплата не прошла"), 200, `href="/help/payment-failed"`)
	get(visitor, "/help?q="+q("космодром"), 200, "Ничего не нашлось", `href="/help/register"`)
	get(visitor, "/help?lang=en&q="+q("forgot password"), 200, "Answers found", "Forgot your password")
	get(visitor, "/help/confirm-bank", 200, "Подтвердить личность через банк", `href="`+op.URL+`/account/confirm"`, "Напишите в поддержку")
	get(visitor, "/help/book-appointment", 200, `href="/appointments/new"`, "<li>Подтвердите запись.")
	get(visitor, "/help/no-such-answer", 404, "Страница не найдена")
	if p := get(visitor, "/help?q="+q(`<img src=x onerror=alert(1)>`), 200); strings.Contains(p.Body, "<img src=x") {
		t.Error("the query is echoed unescaped")
	}

	// Every related link of every answer leads somewhere: the identity
	// provider's pages at the provider, the portal's at the portal (a
	// visitor may be sent to sign in first, never to a 404). /support/new
	// is the support requests' page, built apart from the help.
	hp, err := help.Load()
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, s := range hp.Sections() {
		for _, a := range s.Articles {
			for _, l := range a.Links {
				u := portalURL + l.Href
				if l.IdP {
					u = op.URL + l.Href
				}
				if checked[u] || l.Href == "/support/new" {
					continue
				}
				checked[u] = true
				if p := visitor.abs("GET", u, nil); p.Status == 404 || p.Status >= 500 {
					t.Errorf("%s links %s: %d", a.ID, u, p.Status)
				}
			}
		}
	}
	if len(checked) < 15 {
		t.Errorf("only %d links checked", len(checked))
	}

	citizen := newBrowser(t, op)
	citizen.register("phone", "+79161117788", "+79161117788", "Справкин", "Иван")
	if p, at := citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil)); p.Status != 200 {
		t.Fatalf("sign-in: %d at %s", p.Status, at)
	}
	get(citizen, "/help/forgot-password", 200, "Забыли пароль", `action="/logout"`, `href="`+op.URL+`/recover"`)
	get(citizen, "/services?q="+q("загранпаспорт"), 200, `href="/services/foreign-passport"`)
	get(citizen, "/services?q="+q("пароль"), 200, "Ответы из справки", `href="/help/forgot-password"`)
}
