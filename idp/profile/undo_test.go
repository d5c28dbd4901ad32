package profile_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// changePhone changes a's phone through the pages of b (a fresh session)
// and returns the undo link's path sent to the previous phone.
func changePhone(t *testing.T, e *env, b *idptest.Browser, a *account.Account, to string) string {
	t.Helper()
	b.Post(t, "/account/contacts/phone", url.Values{"value": {to}}).Expect(t, 303, "/account/contacts/phone/code")
	m, ok := e.Messages.Last(to, notice.KindCodeContact)
	if !ok {
		t.Fatal("no code to the new phone")
	}
	b.Post(t, "/account/contacts/phone/code", url.Values{"code": {m.Data["code"]}}).Expect(t, 303, "/account?done=contact_phone")
	n, ok := e.Messages.Last(a.Phone.Value, notice.KindNoticeContactChanged)
	if !ok {
		t.Fatal("no notice to the previous phone")
	}
	link, err := url.Parse(n.Data["link"])
	if err != nil || link.Host != "id.gosid.test" || link.Path != "/account/undo" || len(link.Query().Get("token")) != 43 {
		t.Fatalf("undo link %q: %v", n.Data["link"], err)
	}
	return link.RequestURI()
}

// TestUndoContactChange: the link's page changes nothing (a mail scanner
// may open it); its button restores the previous phone, ends every session
// of the account (and tells the sites), forgets remembered devices and
// suspends password sign-in, each step in the activity log; the link works
// once.
func TestUndoContactChange(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.newAccount(t)
		intruder, owner := e.browser(), e.browser()
		intruder.SignIn(t, a.ID)
		owner.SignIn(t, a.ID)
		ids := []string{intruder.Session(t).ID, owner.Session(t).ID}
		w := httptest.NewRecorder()
		if err := e.devices.Remember(ctx, w, a.ID, "203.0.113.7", "test"); err != nil {
			t.Fatal(err)
		}
		device := httptest.NewRequest("GET", "/login", nil)
		device.AddCookie(w.Result().Cookies()[0])
		link := changePhone(t, e, intruder, a, "+79990001122")

		mail := e.browser() // the owner's mail client, signed in nowhere
		p := mail.Get(t, link)
		if p.Status != 200 || !strings.Contains(p.Body, `action="/account/undo"`) || !strings.Contains(p.Body, "***-**-") {
			t.Fatalf("the link's page: %d\n%s", p.Status, p.Body)
		}
		if got := e.Account(t, a.ID); got.Phone.Value != "+79990001122" || got.PasswordSuspended() || intruder.Get(t, "/account").Status != 200 {
			t.Fatal("opening the link changed something")
		}

		token, _ := url.ParseQuery(strings.TrimPrefix(link, "/account/undo?"))
		p = mail.Post(t, "/account/undo", url.Values{"token": {token.Get("token")}})
		if p.Status != 200 || !strings.Contains(p.Body, "Изменение отменено") || !strings.Contains(p.Body, `href="/recover"`) {
			t.Fatalf("undo: %d\n%s", p.Status, p.Body)
		}
		got := e.Account(t, a.ID)
		if got.Phone.Value != a.Phone.Value || !got.Phone.Verified() || !got.PasswordSuspended() {
			t.Fatalf("after the undo: phone %q suspended %v", got.Phone.Value, got.PasswordSuspended())
		}
		for _, b := range []*idptest.Browser{intruder, owner} {
			if p := b.Get(t, "/account"); p.Status != 302 {
				t.Fatalf("a session survived the undo: %d", p.Status)
			}
		}
		e.endedMu.Lock()
		for _, id := range ids {
			if !slices.Contains(e.ended, id) {
				t.Errorf("the sites were not told of session %s (told %v)", id, e.ended)
			}
		}
		e.endedMu.Unlock()
		if e.devices.Trusted(ctx, device, a.ID, "203.0.113.7") {
			t.Error("a remembered device survived the undo")
		}
		entries, err := e.Audit.List(ctx, a.ID, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var undone, ended int
		for _, x := range entries {
			switch {
			case x.Action == audit.ActionContactChangeUndone && x.Detail["restored"] == "yes" && x.Detail["password"] == "suspended" && x.Detail["field"] == "phone":
				undone++
			case x.Action == audit.ActionSessionEnded && x.Detail["reason"] == "undo":
				ended++
			case x.Action == audit.ActionContactChanged && x.Detail["undo"] != "offered":
				t.Errorf("the change's entry does not say an undo link went out: %+v", x.Detail)
			}
		}
		if undone != 1 || ended != 2 {
			t.Fatalf("activity log: %d undo entries, %d ended sessions:\n%+v", undone, ended, entries)
		}

		// Once only.
		if p := mail.Post(t, "/account/undo", url.Values{"token": {token.Get("token")}}); p.Status != 404 || !strings.Contains(p.Body, "уже использована") {
			t.Fatalf("second use: %d", p.Status)
		}
		if p := mail.Get(t, link); p.Status != 404 {
			t.Fatalf("the used link's page: %d", p.Status)
		}
	})
}

// TestUndoExpires: after 7 days (the injected clock) the link is refused
// and changes nothing.
func TestUndoExpires(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		a := e.newAccount(t)
		b := e.browser()
		b.SignIn(t, a.ID)
		link := changePhone(t, e, b, a, "+79990001123")
		mail := e.browser()
		e.Clock.Advance(7*24*time.Hour - time.Second)
		if p := mail.Get(t, link); p.Status != 200 {
			t.Fatalf("a link a second before its expiry: %d", p.Status)
		}
		e.Clock.Advance(time.Second)
		token, _ := url.ParseQuery(strings.TrimPrefix(link, "/account/undo?"))
		if p := mail.Get(t, link); p.Status != 410 || !strings.Contains(p.Body, "истёк") {
			t.Fatalf("an expired link's page: %d", p.Status)
		}
		if p := mail.Post(t, "/account/undo", url.Values{"token": {token.Get("token")}}); p.Status != 410 {
			t.Fatalf("an expired link: %d", p.Status)
		}
		if got := e.Account(t, a.ID); got.Phone.Value != "+79990001123" || got.PasswordSuspended() {
			t.Fatal("an expired link changed the account")
		}
	})
}

// TestUndoWhenTaken: if another account has verified the previous phone
// meanwhile, it stays that account's; the rest of the undo still applies
// and the page says so.
func TestUndoWhenTaken(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.newAccount(t)
		b := e.browser()
		b.SignIn(t, a.ID)
		link := changePhone(t, e, b, a, "+79990001124")
		other, err := e.Accounts.Create(ctx, account.New{Name: account.Name{Family: "Петров", Given: "Пётр"},
			Phone: account.Contact{Value: a.Phone.Value, VerifiedAt: e.Clock.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		mail := e.browser()
		if p := mail.Get(t, link); p.Status != 200 || !strings.Contains(p.Body, "вернуть нельзя") {
			t.Fatalf("the link's page does not say the phone cannot come back: %d", p.Status)
		}
		token, _ := url.ParseQuery(strings.TrimPrefix(link, "/account/undo?"))
		p := mail.Post(t, "/account/undo", url.Values{"token": {token.Get("token")}})
		if p.Status != 200 || !strings.Contains(p.Body, "вернуть не удалось") {
			t.Fatalf("undo of a taken phone: %d", p.Status)
		}
		if got := e.Account(t, a.ID); got.Phone.Value != "+79990001124" || !got.PasswordSuspended() {
			t.Fatalf("after the undo: phone %q suspended %v", got.Phone.Value, got.PasswordSuspended())
		}
		if owner, err := e.Accounts.FindByLogin(ctx, account.Phone, a.Phone.Value); err != nil || owner.ID != other.ID {
			t.Fatalf("the other account lost the phone: %v", err)
		}
		if p := b.Get(t, "/account"); p.Status != 302 {
			t.Fatalf("the session survived: %d", p.Status)
		}
	})
}
