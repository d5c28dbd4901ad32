package recovery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestRecoveryAfterUndo: recovering the password lifts the suspension of
// password sign-in that an undone contact change left, forgets every
// remembered device of the account (and no other account's), ends every
// session, and goes to the activity log.
func TestRecoveryAfterUndo(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		accounts, sessions, devices, c := r.Accounts, r.Sessions, r.devices, r.Clock
		hash := r.Hash(t, "Old#Passw0rd")
		newAccount := func(phone string) *account.Account {
			a, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, PasswordHash: hash,
				Phone: account.Contact{Value: phone, VerifiedAt: c.Now()}})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a, other := newAccount("+79120000001"), newAccount("+79120000002")
		remember := func(id string) *http.Request {
			w := httptest.NewRecorder()
			if err := devices.Remember(ctx, w, id, "203.0.113.7", "test"); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/login", nil)
			r.AddCookie(w.Result().Cookies()[0])
			return r
		}
		mine, others := remember(a.ID), remember(other.ID)
		if _, _, err := sessions.Create(ctx, a.ID, []string{"pwd"}, time.Time{}, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `UPDATE accounts SET password_suspended_at = $2, failed_logins = 2 WHERE id = $1`, a.ID, sqldb.Micros(c.Now())); err != nil {
			t.Fatal(err)
		}

		b := r.srv.Browser()
		post := func(path string, form url.Values, want string) {
			t.Helper()
			b.Post(t, path, form).Expect(t, 303, want)
		}
		post("/recover", url.Values{"login": {a.Phone.Value}}, "/recover/code")
		post("/recover/code", url.Values{"code": {r.Messages.Code(t, a.Phone.Value)}}, "/recover/password")
		const pw = "Hq8&tRe5!nWb"
		post("/recover/password", url.Values{"password": {pw}, "password_confirm": {pw}}, "/login?notice=password_changed")

		got, err := accounts.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordSuspended() || got.FailedLogins != 0 {
			t.Fatalf("after recovery: suspended %v, failures %d", got.PasswordSuspended(), got.FailedLogins)
		}
		if ok, _, _ := r.Hasher.Verify(ctx, got.PasswordHash, pw); !ok {
			t.Fatal("the new password does not verify")
		}
		if devices.Trusted(ctx, mine, a.ID, "203.0.113.7") {
			t.Fatal("a remembered device survived the recovery")
		}
		if !devices.Trusted(ctx, others, other.ID, "203.0.113.7") {
			t.Fatal("the recovery forgot another account's device")
		}
		if live, _ := sessions.List(ctx, a.ID); len(live) != 0 {
			t.Fatalf("%d sessions survived the recovery", len(live))
		}
		entries, err := r.Activity.List(ctx, a.ID, time.Time{}, 0)
		if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionPasswordRecovered || entries[0].Detail["suspension"] != "lifted" ||
			!strings.Contains(entries[0].Detail["method"], "sms") {
			t.Fatalf("activity log: %+v %v", entries, err)
		}
	})
}
