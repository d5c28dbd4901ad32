package profile_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestAppsRevokeAsksFirst: «Отозвать доступ» leads to a confirmation
// (a page, no script needed) naming the site; its cancel link changes
// nothing; a revoke posted without the confirmation only asks; the
// confirmed one revokes and is in the activity log. A site allowed both
// "profile" and "fullname" lists the name once.
func TestAppsRevokeAsksFirst(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.newAccount(t)
		e.grants.add(a.ID, oidc.SiteGrant{ClientID: "library", ClientName: "Городская библиотека", Scopes: []string{"openid", "profile", "fullname", "email"},
			GrantedAt: t0})
		b := e.browser()
		b.SignIn(t, a.ID)

		p := b.Get(t, "/account/apps")
		if p.Status != 200 || !p.Has("Городская библиотека") || !p.Has(`href="/account/apps?revoke=library"`) {
			t.Fatalf("apps page: %d\n%s", p.Status, p.Body)
		}
		if n := strings.Count(p.Body, "фамилия, имя и отчество"); n != 1 {
			t.Errorf("the apps page names the full name %d times, want once\n%s", n, p.Body)
		}
		if en := b.Get(t, "/account/apps?lang=en"); strings.Count(en.Body, "your name") != 1 || strings.Contains(en.Body, "Full name") {
			t.Errorf("the English apps page lists the name twice\n%s", en.Body)
		}

		// Without the confirmation, a post only asks.
		b.Post(t, "/account/apps/revoke", url.Values{"client_id": {"library"}}).Expect(t, 303, "/account/apps?revoke=library")
		p = b.Get(t, "/account/apps?revoke=library")
		if !p.Has("Отозвать доступ сайта «Городская библиотека»?") || !p.Has(`name="confirm" value="yes"`) || !p.Has(`<a href="/account/apps">Отмена</a>`) {
			t.Fatalf("confirmation page:\n%s", p.Body)
		}
		if gs, _ := e.grants.Grants(ctx, a.ID); len(gs) != 1 {
			t.Fatal("asking revoked the access")
		}
		if en := b.Get(t, "/account/apps?revoke=library&lang=en"); !en.Has("Revoke access for “Городская библиотека”?") || !en.Has(">Cancel</a>") {
			t.Errorf("English confirmation:\n%s", en.Body)
		}

		b.Post(t, "/account/apps/revoke", url.Values{"client_id": {"library"}, "confirm": {"yes"}}).Expect(t, 303, "/account/apps?done=1")
		if gs, _ := e.grants.Grants(ctx, a.ID); len(gs) != 0 {
			t.Fatal("the confirmed revoke did not revoke")
		}
		entries, err := e.Activity.List(ctx, a.ID, time.Time{}, 10)
		if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionGrantRevoked {
			t.Fatalf("activity: %+v %v", entries, err)
		}
	})
}

// TestAccountWording: «Электронная почта» and «Дата рождения» agree in
// gender with what they say of them.
func TestAccountWording(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		a := e.newAccount(t)
		b := e.browser()
		b.SignIn(t, a.ID)
		p := b.Get(t, "/account")
		if !p.Has("Электронная почта</dt><dd>"+a.Email.Value+` <span class="state-ok">(подтверждена)</span>`) ||
			!p.Has("Дата рождения</dt><dd>не указана</dd>") {
			t.Errorf("account page wording:\n%s", p.Body)
		}
		c := e.Citizen(t, goodPassword)
		b = e.browser()
		b.SignIn(t, c.ID)
		if p := b.Get(t, "/account"); c.Email.Value != "" || !p.Has("Электронная почта</dt><dd>не указана") {
			t.Errorf("account page without e-mail:\n%s", p.Body)
		}
	})
}
