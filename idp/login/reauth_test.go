package login

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var rule = func(e *env) session.Reauth { return session.Reauth{MaxAge: 5 * time.Minute, Now: e.Clock.Now} }

// TestReauthPassword: a stale session re-authenticates with the password
// on the same session (ID kept, amr extended, auth time now) and returns
// to the form; an unsafe return address is not followed; wrong passwords
// count toward the lock-out like at sign-in, which then refuses even the
// right password, here and at /login.
func TestReauthPassword(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		b := e.browser()
		b.SignIn(t, a.ID, "swk", "user")
		e.Clock.Advance(10 * time.Minute)
		before := b.Session(t)
		if rule(e).Fresh(before) {
			t.Fatal("the test session is fresh already")
		}

		p := b.Get(t, "/account/reauth?next="+url.QueryEscape("/account/contacts/phone"))
		if p.Status != 200 || !strings.Contains(p.Body, `name="password"`) || !strings.Contains(p.Body, `name="next" value="/account/contacts/phone"`) ||
			strings.Contains(p.Body, `name="code"`) || strings.Contains(p.Body, ">reauth.") {
			t.Fatalf("reauth page: %d\n%s", p.Status, p.Body)
		}
		if p := b.Get(t, "/account/reauth?next="+url.QueryEscape("/\t/evil.example/")); !strings.Contains(p.Body, `name="next" value="/account"`) {
			t.Fatalf("an unsafe next was kept:\n%s", p.Body)
		}

		if p := b.Post(t, "/account/reauth", url.Values{"next": {"/account/password"}, "password": {"Wrong#Pass1"}}); p.Status != 401 || !strings.Contains(p.Body, "Неверный пароль") {
			t.Fatalf("wrong password: %d", p.Status)
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 1 {
			t.Fatalf("a wrong password here counted %d failures, want 1", got.FailedLogins)
		}
		if rule(e).Fresh(b.Session(t)) {
			t.Fatal("a wrong password refreshed the session")
		}
		p = b.Post(t, "/account/reauth", url.Values{"next": {"/account/password"}, "password": {goodPassword}})
		if p.Status != 303 || p.Location != "/account/password" {
			t.Fatalf("right password: %d → %q", p.Status, p.Location)
		}
		after := b.Session(t)
		if after.ID != before.ID || !rule(e).Fresh(after) || !slices.Equal(after.AMR, []string{"swk", "user", "pwd"}) {
			t.Fatalf("after re-authentication: id %q (was %q) amr %v auth_time %v", after.ID, before.ID, after.AMR, after.AuthTime)
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 {
			t.Fatalf("failures not reset: %d", got.FailedLogins)
		}
		ev, _ := e.Accounts.Events(context.Background(), a.ID, time.Time{}, 10)
		if len(ev) == 0 || ev[0].Kind != EventReauth || ev[0].Method != "pwd" {
			t.Fatalf("history: %+v", ev)
		}

		// Three wrong passwords lock password sign-in, with the notice.
		for i := range 3 {
			p = b.Post(t, "/account/reauth", url.Values{"password": {"Wrong#Pass1"}})
			if want := map[bool]int{true: 401, false: 403}[i < 2]; p.Status != want {
				t.Fatalf("wrong password %d: %d, want %d", i+1, p.Status, want)
			}
		}
		if got := e.Account(t, a.ID); !got.Locked(e.Clock.Now()) || e.Messages.NoticeCount("", notice.KindNoticeLocked) != 1 {
			t.Fatalf("not locked (until %v) or not told (%d notices)", got.LockedUntil, e.Messages.NoticeCount("", notice.KindNoticeLocked))
		}
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}}); p.Status != 403 || !strings.Contains(p.Body, "заблокирован") {
			t.Fatalf("right password while locked: %d", p.Status)
		}
		other := e.browser()
		if p := other.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}}); p.Status != 401 {
			t.Fatalf("sign-in while locked by re-authentication failures: %d", p.Status)
		}

		// Signed out: sign in, which is fresh by itself, and go on.
		if p := e.browser().Get(t, "/account/reauth?next=%2Faccount%2Fdata"); p.Status != 303 || p.Location != "/login?next=%2Faccount%2Fdata" {
			t.Fatalf("signed out: %d → %q", p.Status, p.Location)
		}
	})
}

// TestReauthSecondFactor: an account with a second factor is asked the
// password and the factor's code (or a backup code), as at sign-in.
func TestReauthSecondFactor(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		enr := e.enrolTOTP(t, a.ID)
		backups, err := e.backups.Generate(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.SignIn(t, a.ID, "pwd", "otp", "mfa")
		e.Clock.Advance(10 * time.Minute)

		if p := b.Get(t, "/account/reauth"); !strings.Contains(p.Body, `name="password"`) || !strings.Contains(p.Body, `name="code"`) || !strings.Contains(p.Body, `name="backup_code"`) {
			t.Fatalf("the page does not ask password and code:\n%s", p.Body)
		}
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}}); p.Status != 422 || rule(e).Fresh(b.Session(t)) {
			t.Fatalf("the password alone: %d", p.Status)
		}
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "code": {"000000"}}); p.Status != 401 || e.Account(t, a.ID).FailedLogins != 1 {
			t.Fatalf("a wrong code: %d, failures %d", p.Status, e.Account(t, a.ID).FailedLogins)
		}
		code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
		// The authenticator's store down: no verdict, nothing counted.
		e.totpDown.Store(true)
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "code": {code}}); p.Status != 503 || p.Header.Get("Retry-After") == "" || e.Account(t, a.ID).FailedLogins != 1 {
			t.Fatalf("a right code during an outage: %d, failures %d", p.Status, e.Account(t, a.ID).FailedLogins)
		}
		e.totpDown.Store(false)
		if p := b.Post(t, "/account/reauth", url.Values{"password": {"Wrong#Pass1"}, "code": {code}}); p.Status != 401 {
			t.Fatalf("a wrong password with a right code: %d", p.Status)
		}
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "code": {code}, "next": {"/account/security"}}); p.Status != 303 || p.Location != "/account/security" {
			t.Fatalf("password and code: %d %q", p.Status, p.Location)
		}
		if s := b.Session(t); !rule(e).Fresh(s) || !slices.Equal(s.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("session after: amr %v", s.AMR)
		}
		e.Clock.Advance(10 * time.Minute)
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "backup_code": {backups[0]}}); p.Status != 303 {
			t.Fatalf("password and backup code: %d", p.Status)
		}
		if e.Messages.NoticeCount("", notice.KindNoticeBackupCodeUsed) != 1 {
			t.Fatal("no notice of the used backup code")
		}
	})
}

// TestReauthWithoutPassword: an account without a password (or whose
// password sign-in is suspended) confirms with a code sent to its phone.
func TestReauthWithoutPassword(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		for _, tc := range []struct {
			name     string
			password string
			suspend  bool
		}{{"no password", "", false}, {"suspended", goodPassword, true}} {
			a := e.newAccount(t, tc.password)
			if tc.suspend {
				if _, err := db.Exec(context.Background(), `UPDATE accounts SET password_suspended_at = 1 WHERE id = $1`, a.ID); err != nil {
					t.Fatal(err)
				}
			}
			b := e.browser()
			b.SignIn(t, a.ID, "swk", "user")
			e.Clock.Advance(10 * time.Minute)
			p := b.Get(t, "/account/reauth?next=%2Faccount%2Fdata")
			if strings.Contains(p.Body, `name="password"`) || !strings.Contains(p.Body, `action="/account/reauth/send"`) {
				t.Fatalf("%s: the page asks a password or offers no code:\n%s", tc.name, p.Body)
			}
			if p := b.Post(t, "/account/reauth", url.Values{"code": {"123456"}, "next": {"/account/data"}}); p.Status != 422 || !strings.Contains(p.Body, "Сначала получите код") {
				t.Fatalf("%s: a code before one was sent: %d", tc.name, p.Status)
			}
			if tc.suspend {
				if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "next": {"/account/data"}}); p.Status == 303 {
					t.Fatal("a suspended password re-authenticated")
				}
			}
			p = b.Post(t, "/account/reauth/send", url.Values{"next": {"/account/data"}})
			ch := p.Find(t, challengeRe)
			code := e.Messages.Code(t, a.Phone.Value)
			if p := b.Post(t, "/account/reauth", url.Values{"challenge": {ch}, "code": {code}, "next": {"/account/data"}}); p.Status != 303 || p.Location != "/account/data" {
				t.Fatalf("%s: the code: %d %q", tc.name, p.Status, p.Location)
			}
			if s := b.Session(t); !rule(e).Fresh(s) || !slices.Contains(s.AMR, "sms") {
				t.Fatalf("%s: session amr %v", tc.name, s.AMR)
			}
		}
	})
}

// TestReauthPasskey: a passkey that verified the user re-authenticates
// alone (JSON, as the page's script calls it); one that did not is
// refused and counted.
// TestReauthCodeRetriedAfterOutage: the authenticator code was right and
// its step used, but the session could not be stepped up (a database
// blip, 503): the citizen's retry with the same code is that attempt's
// own, accepted — not a replay counted toward the lock-out; a spent
// backup code retried is asked to be replaced, not counted.
func TestReauthCodeRetriedAfterOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		enr := e.enrolTOTP(t, a.ID)
		b := e.browser()
		b.SignIn(t, a.ID, "pwd", "otp", "mfa")
		e.Clock.Advance(10 * time.Minute)
		code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
		e.stepUpDown.Store(true)
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "code": {code}}); p.Status != 503 || p.Header.Get("Retry-After") == "" {
			t.Fatalf("the step-up during an outage: %d", p.Status)
		}
		e.stepUpDown.Store(false)
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "code": {code}, "next": {"/account/security"}}); p.Status != 303 || p.Location != "/account/security" {
			t.Fatalf("the same code retried: %d %q", p.Status, p.Location)
		}
		if got := e.Account(t, a.ID); got.FailedLogins != 0 || !rule(e).Fresh(b.Session(t)) {
			t.Fatalf("after the retry: %d failures, fresh %v", got.FailedLogins, rule(e).Fresh(b.Session(t)))
		}
		// A backup code spent by an attempt whose answer was lost: retried,
		// it is asked to be replaced, not counted as a guess.
		backups, err := e.backups.Generate(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(10 * time.Minute)
		e.stepUpDown.Store(true)
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "backup_code": {backups[0]}}); p.Status != 503 {
			t.Fatalf("the backup code's step-up during an outage: %d", p.Status)
		}
		e.stepUpDown.Store(false)
		p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "backup_code": {backups[0]}})
		if p.Status != 422 || !strings.HasPrefix(p.FieldError("backup_code"), "Этот код уже использован") || e.Account(t, a.ID).FailedLogins != 0 {
			t.Fatalf("the spent backup code retried: %d %q, %d failures", p.Status, p.FieldError("backup_code"), e.Account(t, a.ID).FailedLogins)
		}
		if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "backup_code": {backups[1]}}); p.Status != 303 {
			t.Fatalf("another backup code: %d", p.Status)
		}
		// The code stays used for anyone else.
		other := e.browser()
		other.SignIn(t, a.ID, "pwd", "otp", "mfa")
		if p := other.Post(t, "/account/reauth", url.Values{"password": {goodPassword}, "code": {code}}); p.Status != 401 {
			t.Fatalf("the code reused by another session: %d, want 401", p.Status)
		}
	})
}

// TestReauthSessionOutage: while the sessions cannot be read, the
// re-authentication page and the step-up are not «sign in again»: an
// error page (503 when the database cannot be reached), and afterwards
// the same pages work.
func TestReauthSessionOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		b := e.browser()
		b.SignIn(t, a.ID, "pwd")
		sqldbtest.WithoutTable(t, db, "sessions", func() {
			for _, p := range []idptest.Answer{b.Get(t, "/account/reauth"), b.Get(t, "/login/2fa?stepup=1"),
				b.Do(t, "POST", "/account/reauth/passkey/begin", "application/json", "{}")} {
				if p.Status < 500 || p.Location != "" {
					t.Errorf("during the outage: %d → %q", p.Status, p.Location)
				}
			}
		})
		if p := b.Get(t, "/account/reauth"); p.Status != 200 {
			t.Fatalf("after the outage: %d → %q", p.Status, p.Location)
		}
	})
}

func TestReauthPasskey(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		b := e.browser()
		b.SignIn(t, a.ID, "pwd")
		e.Clock.Advance(10 * time.Minute)
		if p := b.Get(t, "/account/reauth"); !strings.Contains(p.Body, `data-begin="/account/reauth/passkey/begin"`) {
			t.Fatalf("no passkey on the page:\n%s", p.Body)
		}
		if p := b.Do(t, "POST", "/account/reauth/passkey/begin", "application/json", "{}"); p.Status != 200 || !strings.Contains(p.Body, "publicKey") {
			t.Fatalf("begin: %d %s", p.Status, p.Body)
		}
		p := b.Do(t, "POST", "/account/reauth/passkey/finish?next=%2Faccount%2Fpasskeys", "application/json", "nouv")
		if p.Status != 400 || !strings.Contains(p.Body, "не подтвердил, что это вы") || rule(e).Fresh(b.Session(t)) {
			t.Fatalf("without user verification: %d %s", p.Status, p.Body)
		}
		if e.Account(t, a.ID).FailedLogins != 1 {
			t.Fatal("a refused passkey was not counted")
		}
		p = b.Do(t, "POST", "/account/reauth/passkey/finish?next=%2Faccount%2Fpasskeys", "application/json", "uv")
		if p.Status != 200 || !strings.Contains(p.Body, `"redirect":"/account/passkeys"`) {
			t.Fatalf("with user verification: %d %s", p.Status, p.Body)
		}
		if s := b.Session(t); !rule(e).Fresh(s) || !slices.Equal(s.AMR, []string{"pwd", "swk", "user"}) {
			t.Fatalf("session amr %v", s.AMR)
		}
		if p := e.browser().Do(t, "POST", "/account/reauth/passkey/finish", "application/json", "uv"); p.Status != 401 {
			t.Fatalf("without a session: %d", p.Status)
		}
	})
}

// TestReauthRateLimited: the page shares sign-in's failure limit per
// account; over it, even the right password waits.
func TestReauthRateLimited(t *testing.T) {
	e := newEnv(t, sqldbtest.SQLite(t), func(c *Config) { c.PerLogin.Limit, c.MaxFailures = 2, 100 })
	a := e.newAccount(t, goodPassword)
	b := e.browser()
	b.SignIn(t, a.ID, "pwd")
	e.Clock.Advance(10 * time.Minute)
	for range 2 {
		b.Post(t, "/account/reauth", url.Values{"password": {"Wrong#Pass1"}})
	}
	if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}}); p.Status != 429 || rule(e).Fresh(b.Session(t)) {
		t.Fatalf("over the limit: %d", p.Status)
	}
	// The hour's window passes; the session stays in use meanwhile.
	for range 3 {
		e.Clock.Advance(21 * time.Minute)
		b.Get(t, "/account/reauth")
	}
	if p := b.Post(t, "/account/reauth", url.Values{"password": {goodPassword}}); p.Status != 303 {
		t.Fatalf("after the window: %d", p.Status)
	}
}

// TestSuspendedPasswordSignIn: an account whose password sign-in is
// suspended (a contact change undone) is refused with the right password
// and pointed to recovery; a wrong password answers as ever.
func TestSuspendedPasswordSignIn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		if _, err := db.Exec(context.Background(), `UPDATE accounts SET password_suspended_at = 1 WHERE id = $1`, a.ID); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		p := b.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}})
		if p.Status != 403 || !strings.Contains(p.Body, "Восстановите пароль") {
			t.Fatalf("right password of a suspended account: %d", p.Status)
		}
		if p := b.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {"Wrong#Pass1"}}); p.Status != 401 || strings.Contains(p.Body, "Восстановите пароль") {
			t.Fatalf("wrong password of a suspended account: %d", p.Status)
		}
		if err := e.Accounts.SetPassword(context.Background(), a.ID, e.Account(t, a.ID).PasswordHash); err != nil {
			t.Fatal(err)
		}
		if p := b.Post(t, "/login", url.Values{"login": {a.Phone.Value}, "password": {goodPassword}}); p.Status != 303 {
			t.Fatalf("after a new password: %d", p.Status)
		}
	})
}

// TestReauthSendOutage: a code that cannot be issued because its store
// does not answer is 503, not 429 «too many requests»: the citizen did
// nothing too often. Afterwards the code goes out at once.
func TestReauthSendOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, nil)
		a := e.newAccount(t, "")
		b := e.browser()
		b.SignIn(t, a.ID, "swk", "user")
		e.Clock.Advance(10 * time.Minute)
		sqldbtest.WithoutTable(t, db, "otp_challenges", func() {
			if p := b.Post(t, "/account/reauth/send", url.Values{"next": {"/account/data"}}); p.Status != 503 {
				t.Fatalf("a code while its store is away: %d", p.Status)
			}
		})
		if p := b.Post(t, "/account/reauth/send", url.Values{"next": {"/account/data"}}); p.Status != 200 || p.Find(t, challengeRe) == "" {
			t.Fatalf("a code after the outage: %d", p.Status)
		}
	})
}
