package login

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSecondFactorLockedOut: a second-factor step begun before the
// account was locked tries no more codes once it is: the right code does
// not sign in while the lock lasts, and the flow is gone. (The lock-out
// is what ends such a flow; it must not hang on deleting it.)
func TestSecondFactorLockedOut(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a, enr, owner := e.atSecondFactor(t)
		// Meanwhile someone else locks the account with wrong passwords.
		attacker := e.browser()
		for range 3 {
			attacker.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {"Wrong#Pass1"}})
		}
		if !e.Account(t, a.ID).Locked(e.Clock.Now()) {
			t.Fatal("not locked")
		}
		e.Clock.Advance(30 * time.Second)
		code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
		owner.Post(t, "/login/2fa", url.Values{"code": {code}}).Expect(t, 303, "/login")
		if owner.Cookie("gosid_session") != "" {
			t.Fatal("signed in during the lock")
		}
		if n := e.Count(t, `SELECT count(*) FROM flows WHERE kind = 'mfa'`); n != 0 {
			t.Fatalf("%d second-factor flows left", n)
		}
		if p := owner.PostJSON(t, "/login/2fa/passkey/finish", "uv"); p.Status != 400 {
			t.Fatalf("a passkey in the ended flow: %d", p.Status)
		}
		// After the lock the owner signs in as usual.
		e.Clock.Advance(31 * time.Minute)
		owner.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}}).Expect(t, 303, "/login/2fa")
		code, _ = pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
		if p := owner.Post(t, "/login/2fa", url.Values{"code": {code}}); p.Status != 303 || p.Location == "/login" || owner.Cookie("gosid_session") == "" {
			t.Fatalf("after the lock: %d → %q", p.Status, p.Location)
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 {
			t.Fatalf("%d failures counted after a full sign-in", got.FailedLogins)
		}
	})
}

// TestSecondFactorOutageIsNoVerdict: while the authenticator's store
// cannot be reached, a right code is not called wrong and counts toward
// no lock-out: the answer is 503 with Retry-After, the flow stays, and
// the same code signs in once the store is back.
func TestSecondFactorOutageIsNoVerdict(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a, enr, b := e.atSecondFactor(t)
		e.Clock.Advance(30 * time.Second)
		code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
		e.totpDown.Store(true)
		for range 4 {
			p := b.Post(t, "/login/2fa", url.Values{"code": {code}})
			if p.Status != 503 || p.Header.Get("Retry-After") == "" || strings.Contains(p.Body, "Неверный код") {
				t.Fatalf("a right code during an outage: %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
			}
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 || got.Locked(e.Clock.Now()) {
			t.Fatalf("during the outage: %d failures counted, locked %v", got.FailedLogins, got.Locked(e.Clock.Now()))
		}
		e.totpDown.Store(false)
		if p := b.Post(t, "/login/2fa", url.Values{"code": {code}}); p.Status != 303 || p.Location == "/login" || b.Cookie("gosid_session") == "" {
			t.Fatalf("the same code after the outage: %d → %q", p.Status, p.Location)
		}
	})
}

// TestPasskeyOutageIsNoVerdict: a passkey checked while its store cannot
// be reached is neither refused nor counted toward the lock-out, at the
// second factor and on the re-authentication page: 503 with Retry-After,
// and the same step works once the store is back.
func TestPasskeyOutageIsNoVerdict(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a, _, b := e.atSecondFactor(t)
		for range 4 {
			p := b.PostJSON(t, "/login/2fa/passkey/finish", "down")
			if p.Status != 503 || p.Header.Get("Retry-After") == "" || strings.Contains(p.Body, "Не удалось проверить ключ") {
				t.Fatalf("a passkey during an outage: %d Retry-After %q %s", p.Status, p.Header.Get("Retry-After"), p.Body)
			}
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 || got.Locked(e.Clock.Now()) {
			t.Fatalf("during the outage: %d failures counted, locked %v", got.FailedLogins, got.Locked(e.Clock.Now()))
		}
		// A refused assertion still counts.
		if p := b.PostJSON(t, "/login/2fa/passkey/finish", "forged"); p.Status != 400 || e.Account(t, a.ID).FailedLogins != 1 {
			t.Fatalf("a refused passkey: %d, %d failures", p.Status, e.Account(t, a.ID).FailedLogins)
		}
		if p := b.PostJSON(t, "/login/2fa/passkey/finish", "uv"); p.Status != 200 || b.Cookie("gosid_session") == "" {
			t.Fatalf("the passkey after the outage: %d %s", p.Status, p.Body)
		}

		b = e.browser()
		b.SignIn(t, a.ID, "pwd")
		e.Clock.Advance(10 * time.Minute)
		for range 4 {
			p := b.Do(t, "POST", "/account/reauth/passkey/finish", "application/json", "down")
			if p.Status != 503 || p.Header.Get("Retry-After") == "" || rule(e).Fresh(b.Session(t)) {
				t.Fatalf("re-authenticating during an outage: %d %s", p.Status, p.Body)
			}
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 {
			t.Fatalf("re-authentication during the outage: %d failures counted", got.FailedLogins)
		}
		if p := b.Do(t, "POST", "/account/reauth/passkey/finish", "application/json", "uv"); p.Status != 200 || !rule(e).Fresh(b.Session(t)) {
			t.Fatalf("re-authenticating after the outage: %d %s", p.Status, p.Body)
		}
	})
}

// TestSecondFactorFlowOutage: while the flows cannot be read, the second
// factor's step is not called expired (which sends the citizen back to
// the password): 503; afterwards the same step goes on.
func TestSecondFactorFlowOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		_, enr, b := e.atSecondFactor(t)
		sqldbtest.WithoutTable(t, db, "flows", func() {
			for _, p := range []idptest.Answer{b.Get(t, "/login/2fa"), b.PostJSON(t, "/login/2fa/passkey/begin", "{}"), b.PostJSON(t, "/login/2fa/passkey/finish", "uv")} {
				if p.Status < 500 || p.Location == "/login" {
					t.Errorf("the second factor during the outage: %d → %q", p.Status, p.Location)
				}
			}
		})
		e.Clock.Advance(30 * time.Second)
		code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
		if p := b.Post(t, "/login/2fa", url.Values{"code": {code}}); p.Status != 303 || p.Location == "/login" || b.Cookie("gosid_session") == "" {
			t.Fatalf("the step after the outage: %d → %q", p.Status, p.Location)
		}
	})
}

// TestSpentCodeIsNoGuess: a backup code already spent — by this sign-in
// whose answer a database blip lost, most likely — is asked to be
// replaced and counts toward no lock-out; a wrong one still counts.
func TestSpentCodeIsNoGuess(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil)
		a, _, b := e.atSecondFactor(t)
		backups, err := e.backups.Generate(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.backups.Use(ctx, a.ID, backups[0]); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			p := b.Post(t, "/login/2fa", url.Values{"backup_code": {backups[0]}})
			if p.Status != 422 || !strings.HasPrefix(p.FieldError("backup_code"), "Этот код уже использован") {
				t.Fatalf("a spent backup code: %d %q", p.Status, p.FieldError("backup_code"))
			}
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 || got.Locked(e.Clock.Now()) {
			t.Fatalf("spent codes counted: %d failures, locked %v", got.FailedLogins, got.Locked(e.Clock.Now()))
		}
		if p := b.Post(t, "/login/2fa", url.Values{"backup_code": {"abcde-fghjk"}}); p.Status != 401 || e.Account(t, a.ID).FailedLogins != 1 {
			t.Fatalf("a wrong backup code: %d, %d failures", p.Status, e.Account(t, a.ID).FailedLogins)
		}
		if p := b.Post(t, "/login/2fa", url.Values{"backup_code": {backups[1]}}); p.Status != 303 || b.Cookie("gosid_session") == "" {
			t.Fatalf("an unspent backup code: %d", p.Status)
		}
	})
}

// atSecondFactor is a citizen with an authenticator app whose browser has
// given the right password and is asked for the code.
func (e *env) atSecondFactor(t *testing.T) (*account.Account, totp.Enrolment, *idptest.Browser) {
	t.Helper()
	a := e.newAccount(t, goodPassword)
	enr := e.enrolTOTP(t, a.ID)
	b := e.browser()
	b.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}}).Expect(t, 303, "/login/2fa")
	return a, enr, b
}

// TestSecondFactorSMSFlowOutage: the SMS second factor names its code in
// the flow before it is sent. While the flow cannot be saved the page is
// 503 and no SMS goes out; afterwards the page sends the code at once,
// not «a new code in 60 s» for a code the flow never named, and it signs
// in.
func TestSecondFactorSMSFlowOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		if err := e.Accounts.SetMFA(t.Context(), a.ID, account.MFASMS); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}}).Expect(t, 303, "/login/2fa")
		sent := e.Messages.Sent()
		sqldbtest.ReadOnlyTable(t, db, "flows", func() {
			if p := b.Get(t, "/login/2fa"); p.Status < 500 || p.Location != "" {
				t.Fatalf("the SMS step while the flow cannot be saved: %d → %q", p.Status, p.Location)
			}
		})
		if n := e.Messages.Sent() - sent; n != 0 {
			t.Fatalf("%d SMS sent for a code the flow does not name", n)
		}
		if p := b.Get(t, "/login/2fa"); p.Status != 200 || p.Has("Новый код можно запросить") {
			t.Fatalf("the SMS step after the outage: %d %q", p.Status, p.Body)
		}
		b.Post(t, "/login/2fa", url.Values{"code": {e.Messages.Code(t, a.Phone.Value)}})
		if b.Cookie("gosid_session") == "" {
			t.Fatal("not signed in with the code sent after the outage")
		}
	})
}

// TestSecondFactorSessionOutage: when the database fails after the code
// was right but before the session is open (or stepped up), the answer is
// 503 and the flow and its cookie stay: the same code sent again signs in
// and goes on to where the sign-in was going, not back to the password.
func TestSecondFactorSessionOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		enr := e.enrolTOTP(t, a.ID)
		retried := func(t *testing.T, b *idptest.Browser, next string, outage func(func())) {
			t.Helper()
			e.Clock.Advance(30 * time.Second)
			code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
			outage(func() {
				p := b.Post(t, "/login/2fa", url.Values{"code": {code}})
				if p.Status != 503 || p.Header.Get("Retry-After") == "" {
					t.Fatalf("the second factor while the session cannot be written: %d → %q", p.Status, p.Location)
				}
				if b.Cookie("gosid_flow_mfa") == "" {
					t.Fatal("the 503 dropped the second factor's flow cookie")
				}
			})
			if p := b.Post(t, "/login/2fa", url.Values{"code": {code}}); p.Status != 303 || p.Location != next {
				t.Fatalf("the same code after the outage: %d → %q, want %q", p.Status, p.Location, next)
			}
			b.Token = b.Cookie(session.DefaultCookieName)
			if b.Cookie("gosid_flow_mfa") != "" || !slices.Contains(b.Session(t).AMR, "mfa") {
				t.Fatalf("after the retry: flow cookie %q, session %v", b.Cookie("gosid_flow_mfa"), b.Session(t).AMR)
			}
		}
		t.Run("sign-in", func(t *testing.T) {
			b := e.browser()
			b.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}, "next": {"/account/security"}}).Expect(t, 303, "/login/2fa")
			retried(t, b, "/account/security", func(fn func()) { sqldbtest.WithoutTable(t, db, "sessions", fn) })
			if n := e.Count(t, `SELECT count(*) FROM sessions WHERE account_id = $1`, a.ID); n != 1 {
				t.Errorf("%d sessions, want the retry's one", n)
			}
		})
		t.Run("step-up", func(t *testing.T) {
			b := e.browser()
			b.SignIn(t, a.ID, "pwd")
			b.Get(t, "/login/2fa?stepup=1&next=%2Faccount%2Fdata").Expect(t, 303, "/login/2fa")
			retried(t, b, "/account/data", func(fn func()) {
				e.stepUpDown.Store(true)
				defer e.stepUpDown.Store(false)
				fn()
			})
		})
	})
}
