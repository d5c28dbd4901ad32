package profile_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// sensitive lists every sensitive request of the package with the form's
// page a stale session must come back to.
var sensitive = []struct {
	method, path string
	form         url.Values
	back         string
}{
	{"GET", "/account/contacts/phone", nil, "/account/contacts/phone"},
	{"POST", "/account/contacts/phone", url.Values{"value": {"+79161234567"}}, "/account/contacts/phone"},
	{"GET", "/account/contacts/email/code", nil, "/account/contacts/email/code"},
	{"POST", "/account/contacts/email/code", url.Values{"code": {"123456"}}, "/account/contacts/email/code"},
	{"POST", "/account/contacts/email/resend", nil, "/account/contacts/email/code"},
	{"GET", "/account/password", nil, "/account/password"},
	{"POST", "/account/password", url.Values{"current_password": {goodPassword}, "password": {"Hq8&tRe5!nWb"}, "password_confirm": {"Hq8&tRe5!nWb"}}, "/account/password"},
	{"POST", "/account/security/totp", nil, "/account/security"},
	{"POST", "/account/security/totp/confirm", url.Values{"code": {"123456"}}, "/account/security"},
	{"POST", "/account/security/sms", nil, "/account/security"},
	{"POST", "/account/security/sms/confirm", url.Values{"code": {"123456"}, "challenge": {"x"}}, "/account/security"},
	{"POST", "/account/security/send", nil, "/account/security"},
	{"POST", "/account/security/disable", url.Values{"backup_code": {"abcde-fghij"}}, "/account/security"},
	{"POST", "/account/security/backup", url.Values{"backup_code": {"abcde-fghij"}}, "/account/security"},
	{"POST", "/account/delete/start", nil, "/account/data"},
	{"POST", "/account/delete", url.Values{"code": {"123456"}, "challenge": {"x"}}, "/account/data"},
}

// TestStaleSessionChangesNothing: a session whose latest authentication is
// older than the maximum age can still see the account centre, but every
// sensitive change answers 303 to the re-authentication page with the
// form's page to come back to, and nothing changes: no code is sent, no
// factor enrolled, the password, contacts and deletion untouched.
func TestStaleSessionChangesNothing(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.newAccount(t)
		b := e.browser()
		b.SignIn(t, a.ID)
		e.Clock.Advance(5*time.Minute + time.Second)
		sent := e.Messages.Sent()
		for _, tc := range sensitive {
			p := b.Form(t, tc.method, tc.path, tc.form)
			if want := "/account/reauth?next=" + url.QueryEscape(tc.back); p.Status != 303 || p.Location != want {
				t.Errorf("%s %s with a stale session: %d → %q, want 303 → %q", tc.method, tc.path, p.Status, p.Location, want)
			}
		}
		got := e.Account(t, a.ID)
		if got.PasswordHash != a.PasswordHash || got.MFA != "" || !got.DeleteAfter.IsZero() || got.Phone != a.Phone || got.Email != a.Email {
			t.Fatalf("a stale session changed the account: %+v", got)
		}
		if n := e.Messages.Sent(); n != sent {
			t.Fatalf("a stale session had %d messages sent", n-sent)
		}
		var enrolled int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM totp_secrets`).Scan(&enrolled); err != nil || enrolled != 0 {
			t.Fatalf("a stale session began an authenticator enrolment: %d %v", enrolled, err)
		}
		// Reading and harmless settings need no re-authentication.
		for _, path := range []string{"/account", "/account/security", "/account/data", "/account/sessions"} {
			if p := b.Get(t, path); p.Status != 200 {
				t.Errorf("GET %s with a stale session: %d", path, p.Status)
			}
		}
		if p := b.Post(t, "/account/security/settings", url.Values{"idle": {"15"}}); p.Status != 200 {
			t.Errorf("settings with a stale session: %d", p.Status)
		}
	})
}

// TestFormsAfterReauth: after the re-authentication the citizen is back on
// the form and each change goes through: the password (remembered devices
// are forgotten, other sessions end), a contact (the old one gets the undo
// link), an authenticator app, and the deletion.
func TestFormsAfterReauth(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.newAccount(t)
		b, other := e.browser(), e.browser()
		b.SignIn(t, a.ID)
		other.SignIn(t, a.ID)
		w := httptest.NewRecorder()
		if err := e.devices.Remember(ctx, w, a.ID, "203.0.113.7", "test"); err != nil {
			t.Fatal(err)
		}
		device := httptest.NewRequest("GET", "/login", nil)
		device.AddCookie(w.Result().Cookies()[0])
		e.Clock.Advance(10 * time.Minute)

		const newPassword = "Hq8&tRe5!nWb"
		form := url.Values{"current_password": {goodPassword}, "password": {newPassword}, "password_confirm": {newPassword}}
		p := b.Post(t, "/account/password", form)
		p.Expect(t, 303, "/account/reauth?next=%2Faccount%2Fpassword")
		reauthenticate(t, e, b)
		if p := b.Get(t, "/account/password"); p.Status != 200 || !strings.Contains(p.Body, `name="current_password"`) {
			t.Fatalf("back on the form: %d", p.Status)
		}
		if p := b.Post(t, "/account/password", form); p.Status != 200 || !strings.Contains(p.Body, "Пароль изменён") {
			t.Fatalf("change after re-authentication: %d", p.Status)
		}
		if ok, _, _ := e.Hasher.Verify(ctx, e.Account(t, a.ID).PasswordHash, newPassword); !ok {
			t.Fatal("password not changed")
		}
		if e.devices.Trusted(ctx, device, a.ID, "203.0.113.7") {
			t.Fatal("a remembered device survived the password change")
		}
		if p := other.Get(t, "/account"); p.Status != 302 {
			t.Fatalf("the other session survived: %d", p.Status)
		}

		b.Post(t, "/account/contacts/email", url.Values{"value": {"new@example.ru"}}).Expect(t, 303, "/account/contacts/email/code")
		m, ok := e.Messages.Last("new@example.ru", notice.KindCodeContact)
		if !ok {
			t.Fatal("no code to the new e-mail")
		}
		b.Post(t, "/account/contacts/email/code", url.Values{"code": {m.Data["code"]}}).Expect(t, 303, "/account?done=contact_email")
		n, ok := e.Messages.Last(a.Email.Value, notice.KindNoticeContactChanged)
		if !ok || !strings.HasPrefix(n.Data["link"], "https://id.gosid.test/account/undo?token=") || n.Data["days"] != "7" || n.Data["value"] == "new@example.ru" {
			t.Fatalf("notice to the old e-mail: %+v (found %v)", n.Data, ok)
		}

		p = postStep(t, b, "/account/security/totp", nil, "/account/security/totp")
		secret := strings.ReplaceAll(p.Find(t, secretRe), " ", "")
		code, _ := pqtotp.GenerateCode(secret, e.Clock.Now())
		if p := b.Post(t, "/account/security/totp/confirm", url.Values{"code": {code}}); p.Status != 303 || e.Account(t, a.ID).MFA != account.MFATOTP {
			t.Fatalf("authenticator after re-authentication: %d", p.Status)
		}

		e.Clock.Advance(5*time.Minute + time.Second)
		b.Post(t, "/account/delete/start", nil).Expect(t, 303, "/account/reauth?next=%2Faccount%2Fdata")
		reauthenticate(t, e, b)
		e.Clock.Advance(30 * time.Second) // the next TOTP step
		if p := postStep(t, b, "/account/delete/start", nil, "/account/delete/start"); !strings.Contains(p.Body, "приложения-аутентификатора") {
			t.Fatalf("deletion start after re-authentication: %d", p.Status)
		}
		code, _ = pqtotp.GenerateCode(secret, e.Clock.Now())
		b.Post(t, "/account/delete", url.Values{"code": {code}}).Expect(t, 303, "/account/deleted?date=22.12.2026")
		if e.Account(t, a.ID).DeleteAfter.IsZero() {
			t.Fatal("deletion not requested")
		}
	})
}
