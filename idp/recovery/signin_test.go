package recovery_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSignInDuringLock: an attacker who keeps the account locked with
// wrong passwords cannot keep its owner out: a code to the verified phone
// and the current password sign the owner in and lift the lock.
func TestSignInDuringLock(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		a := r.lockedAccount("+79000000301", "")
		b := r.browser()
		b.throughCode("+79000000301")
		if _, body := b.get("/recover/password"); !strings.Contains(body, `action="/recover/signin"`) {
			t.Fatal("the password step does not offer signing in with the current password")
		}
		st, _, body := b.post("/recover/signin", url.Values{"current_password": {"Wrong#Pass1"}})
		if st != 401 || !strings.Contains(body, "Осталось попыток: 2") {
			t.Fatalf("wrong current password: %d", st)
		}
		st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}})
		if st != 303 || loc != "/account" {
			t.Fatalf("right current password: %d %s", st, loc)
		}
		if _, who := b.get("/account"); who != a.ID+" pwd sms mfa" {
			t.Fatalf("session %q, want %s with pwd sms mfa", who, a.ID)
		}
		if got, _ := r.Accounts.Get(ctx, a.ID); got.Locked(r.Clock.Now()) || got.FailedLogins != 0 {
			t.Fatalf("lock not lifted: locked %v, %d failures", got.Locked(r.Clock.Now()), got.FailedLogins)
		}
		// The flow is spent.
		if st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || !strings.HasPrefix(loc, "/recover?expired") {
			t.Fatalf("the flow used twice: %d %s", st, loc)
		}
	})
}

// TestSignInDuringLockLimits: the current password is checked only after
// the code, three wrong ones end the flow, and an authenticator app is
// still asked for.
func TestSignInDuringLockLimits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		r.lockedAccount("+79000000302", "")
		b := r.browser()
		// Without the code, nothing is checked.
		if st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || !strings.HasPrefix(loc, "/recover?expired") {
			t.Fatalf("sign-in without a code: %d %s", st, loc)
		}
		b.throughCode("+79000000302")
		for i := 0; i < 2; i++ {
			b.post("/recover/signin", url.Values{"current_password": {"Wrong#Pass1"}})
		}
		if st, _, body := b.post("/recover/signin", url.Values{"current_password": {"Wrong#Pass1"}}); st != 401 || !strings.Contains(body, "Запросите новый код") {
			t.Fatalf("third wrong password: %d", st)
		}
		if st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || !strings.HasPrefix(loc, "/recover?expired") {
			t.Fatalf("the right password after three wrong ones: %d %s, want a new code needed", st, loc)
		}

		// An account with an authenticator app: the code covered the phone,
		// not the app, which is asked for next.
		totpAcc := r.lockedAccount("+79000000303", account.MFATOTP)
		c := r.browser()
		c.throughCode("+79000000303")
		if st, loc, _ := c.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || loc != "/login/2fa" {
			t.Fatalf("with an authenticator app: %d %s", st, loc)
		}
		if len(r.secondFactor) != 1 || r.secondFactor[0] != totpAcc.ID {
			t.Fatalf("second factor asked for %v", r.secondFactor)
		}
		if st, _ := c.get("/account"); st != 401 {
			t.Fatal("signed in without the authenticator app")
		}
	})
}

// TestSignInRefusesSuspendedPassword: after «Это был не я» the old
// password may be someone else's too; the code does not revive it, only a
// new password does.
func TestSignInRefusesSuspendedPassword(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.lockedAccount("+79000000304", "")
		if _, err := db.Exec(context.Background(), `UPDATE accounts SET password_suspended_at = $2 WHERE id = $1`, a.ID, sqldb.Micros(r.Clock.Now())); err != nil {
			t.Fatal(err)
		}
		b := r.browser()
		b.throughCode("+79000000304")
		if st, _, body := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 403 || !strings.Contains(body, "задайте новый пароль") {
			t.Fatalf("suspended password: %d", st)
		}
		if st, _ := b.get("/account"); st != 401 {
			t.Fatal("signed in with a suspended password")
		}
	})
}
