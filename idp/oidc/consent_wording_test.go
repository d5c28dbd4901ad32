package oidc

import (
	"html"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestConsentListsNameOnce: a site asking for both "profile" and
// "fullname" (and "birthdate", which profile covers) gets a consent page
// that lists the name once, says that the basic profile holds the date of
// birth too, and shows it, in Russian and in English.
func TestConsentListsNameOnce(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		a := o.citizen()
		site, _ := o.client(func(c *client.Client) {
			c.FirstParty, c.Name = false, "Сайт с профилем"
			c.Scopes = []string{"openid", "profile", "fullname", "birthdate", "email"}
		})
		b := o.browser()
		b.signIn(a)
		for _, lang := range []struct{ code, profile, email string }{
			{"ru", "Основные сведения: фамилия, имя и отчество, дата рождения и пол", "Адрес электронной почты"},
			{"en", "Basic profile: your name, date of birth and sex", "E-mail address"},
		} {
			q, _ := codeRequest(site, "openid profile fullname birthdate email")
			q.Set("ui_locales", lang.code)
			p := b.get("/authorize?" + q.Encode())
			for p.Status == 302 || p.Status == 303 {
				if strings.HasPrefix(p.Location, "/authorize/consent") {
					p = b.get(p.Location + "&lang=" + lang.code)
					break
				}
				p = b.get(p.Location)
			}
			body := html.UnescapeString(p.Body)
			if p.Status != 200 || !strings.Contains(body, `class="grants"`) {
				t.Fatalf("%s: no consent page: %d\n%s", lang.code, p.Status, body)
			}
			if n := strings.Count(body, "Иванов Иван Иванович"); n != 1 {
				t.Errorf("%s: the consent page lists the full name %d times, want once\n%s", lang.code, n, body)
			}
			if !strings.Contains(body, lang.profile+"</strong>: <span class=\"muted\">Иванов Иван Иванович, 17.05.1980</span>") ||
				!strings.Contains(body, lang.email) {
				t.Errorf("%s: the consent page does not list the profile with its date of birth, or the e-mail\n%s", lang.code, body)
			}
			if n := strings.Count(body, "<li>"); n != 2 {
				t.Errorf("%s: %d items on the consent page, want 2 (profile, e-mail)", lang.code, n)
			}
		}
	})
}
