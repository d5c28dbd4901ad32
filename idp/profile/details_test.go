package profile_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	textInputRe = regexp.MustCompile(`<input id="([a-z_]+)" name="[a-z_]+" type="text" autocomplete="[^"]*" value="([^"]*)"`)
	genderRe    = regexp.MustCompile(`<option value="([a-z]*)" selected>`)
)

// shownForm reads the details form as the browser would send it back.
func shownForm(t *testing.T, b *idptest.Browser) url.Values {
	t.Helper()
	p := b.Get(t, "/account/details")
	if p.Status != 200 {
		t.Fatalf("details page: %d", p.Status)
	}
	f := url.Values{}
	for _, m := range textInputRe.FindAllStringSubmatch(p.Body, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	f.Set("gender", "")
	if m := genderRe.FindStringSubmatch(p.Body); m != nil {
		f.Set("gender", m[1])
	}
	return f
}

// TestDetailsShowAndKeep: the details form shows the stored values, with
// SNILS, INN and the passport's series and number masked; sending it back
// with one field edited changes only that field (the patronymic and the
// masked numbers stay), the notice and the activity log name it; sending
// it back untouched changes nothing; a field not sent at all changes
// nothing; clearing the patronymic on purpose removes it.
func TestDetailsShowAndKeep(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		const snils, inn = "112-233-445 95", "500100732259"
		passport := &account.Passport{Series: "4509", Number: "123456", IssueDate: time.Date(2015, 3, 4, 0, 0, 0, 0, time.UTC),
			Issuer: "ОВД Тверского района", DivisionCode: "770-001"}
		a := e.NewAccount(t, account.New{PasswordHash: e.Hash(t, goodPassword), Name: account.Name{Family: "Кузнецова", Given: "Ольга", Middle: "Петровна"},
			BirthDate: time.Date(1985, 6, 7, 0, 0, 0, 0, time.UTC), Gender: "female", SNILS: snils, INN: inn, Passport: passport,
			Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: t0}})
		b := e.browser()
		b.SignIn(t, a.ID)

		f := shownForm(t, b)
		want := map[string]string{"family_name": "Кузнецова", "given_name": "Ольга", "middle_name": "Петровна", "birthdate": "07.06.1985",
			"gender": "female", "snils": "112-***-*** 95", "inn": "********2259", "passport_series": "45 **", "passport_number": "****56",
			"passport_issue_date": "04.03.2015", "passport_issuer": "ОВД Тверского района", "division_code": "770-001"}
		for k, v := range want {
			if f.Get(k) != v {
				t.Errorf("details form shows %s = %q, want %q", k, f.Get(k), v)
			}
		}
		if page := b.Get(t, "/account/details"); page.Has("233-445") || page.Has("123456") || page.Has("500100") {
			t.Fatal("the details page shows a document number unmasked")
		}

		// Untouched: nothing changes, and the notice says so.
		b.Post(t, "/account/details", f).Expect(t, 303, "/account?done=details_unchanged")
		if n := b.Get(t, "/account?done=details_unchanged").Notice(); !strings.Contains(n, "Ничего не изменилось") {
			t.Errorf("unchanged notice %q", n)
		}

		// One field edited: only it changes.
		f.Set("inn", "7707083893")
		p := b.Post(t, "/account/details", f)
		p.ExpectField(t, 422, "inn", "ИНН:")
		f.Set("inn", "771301001878")
		f.Set("given_name", "Ольга ")
		b.Post(t, "/account/details", f).Expect(t, 303, "/account?done=details&fields=inn")
		got := e.Account(t, a.ID)
		if got.INN != "771301001878" || got.Name != a.Name || got.SNILS != snils || got.Gender != "female" || !got.BirthDate.Equal(a.BirthDate) ||
			got.Passport == nil || got.Passport.Series != "4509" || got.Passport.Number != "123456" || got.Passport.Issuer != passport.Issuer {
			t.Fatalf("after changing the INN: %+v %+v", got.Name, got.Passport)
		}
		if n := b.Get(t, "/account?done=details&fields=inn").Notice(); !strings.Contains(n, "Изменено: ИНН.") {
			t.Errorf("notice %q does not name the INN", n)
		}
		if n := b.Get(t, "/account?done=details&fields=inn,passport,bogus&lang=en").Notice(); !strings.Contains(n, "Changed: INN, passport.") {
			t.Errorf("English notice %q", n)
		}
		entries, err := e.Activity.List(ctx, a.ID, time.Time{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != audit.ActionDocumentsUpdated || entries[0].Detail["fields"] != "inn" {
			t.Fatalf("activity after one change: %+v", entries)
		}

		// The passport's issuer edited, its masked series and number kept.
		f = shownForm(t, b)
		f.Set("passport_issuer", "ГУ МВД России по г. Москве")
		b.Post(t, "/account/details", f).Expect(t, 303, "/account?done=details&fields=passport")
		if got := e.Account(t, a.ID); got.Passport.Series != "4509" || got.Passport.Number != "123456" || got.Passport.Issuer != "ГУ МВД России по г. Москве" {
			t.Fatalf("passport after editing the issuer: %+v", got.Passport)
		}

		// A client that posts only what it changes keeps the rest.
		b.Post(t, "/account/details", url.Values{"given_name": {"Ольга"}, "family_name": {"Кузнецова-Орлова"}}).
			Expect(t, 303, "/account?done=details&fields=name")
		if got := e.Account(t, a.ID); got.Name != (account.Name{Family: "Кузнецова-Орлова", Given: "Ольга", Middle: "Петровна"}) || got.INN != "771301001878" {
			t.Fatalf("after a partial post: %+v, INN %s", got.Name, got.INN)
		}
		f = shownForm(t, b)
		f.Set("family_name", "Кузнецова")
		b.Post(t, "/account/details", f).Expect(t, 303, "/account?done=details&fields=name")

		// The patronymic cleared on purpose is removed.
		f = shownForm(t, b)
		f.Set("middle_name", "")
		b.Post(t, "/account/details", f).Expect(t, 303, "/account?done=details&fields=name")
		if got := e.Account(t, a.ID); got.Name != (account.Name{Family: "Кузнецова", Given: "Ольга"}) {
			t.Fatalf("name after clearing the patronymic: %+v", got.Name)
		}
	})
}
