package recovery_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

const newPassword = "Hq8&tRe5!nWb"

// citizen is an account with a verified phone, e-mail and SNILS and the
// password goodPassword.
func (r *rig) citizen(t *testing.T) *account.Account {
	t.Helper()
	a := r.NewAccount(t, account.New{PasswordHash: r.Hash(t, goodPassword),
		Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: r.Clock.Now()},
		Email: account.Contact{Value: idptest.NextEmail(), VerifiedAt: r.Clock.Now()}})
	if _, err := r.Accounts.VerifySNILS(context.Background(), a.ID, idptest.NextSNILS(), "registry"); err != nil {
		t.Fatal(err)
	}
	return r.Account(t, a.ID)
}

// passwordIs reports whether pw is the account's password.
func (r *rig) passwordIs(t *testing.T, id, pw string) bool {
	t.Helper()
	ok, _, err := r.Hasher.Verify(context.Background(), r.Account(t, id).PasswordHash, pw)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (r *rig) events(t *testing.T, id string) []string {
	t.Helper()
	evs, err := r.Accounts.Events(context.Background(), id, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// TestRecover: by phone, e-mail or verified SNILS the code goes to the
// right contact, and a new password under the policy replaces the old one,
// is told to the owner and goes to the sign-in history.
func TestRecover(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		for _, tc := range []struct {
			name  string
			login func(*account.Account) string
			to    func(*account.Account) string
		}{
			{"phone", func(a *account.Account) string { return a.Phone.Value }, func(a *account.Account) string { return a.Phone.Value }},
			{"e-mail", func(a *account.Account) string { return strings.ToUpper(a.Email.Value) }, func(a *account.Account) string { return a.Email.Value }},
			{"SNILS", func(a *account.Account) string { return strings.NewReplacer("-", "", " ", "").Replace(a.SNILS) }, func(a *account.Account) string { return a.Phone.Value }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := r.citizen(t)
				b := r.srv.Browser()
				if p := b.Get(t, "/recover"); p.Status != 200 || !p.Has(`name="login"`) {
					t.Fatalf("start page: %d", p.Status)
				}
				b.Post(t, "/recover", url.Values{"login": {tc.login(a)}}).Expect(t, 303, "/recover/code")
				if got := r.Messages.SentTo(t, tc.to(a)); !slices.Equal(got, []string{notice.KindCodeRecover}) {
					t.Fatalf("sent to %s: %v", tc.to(a), got)
				}
				b.Post(t, "/recover/code", url.Values{"code": {r.Messages.Code(t, tc.to(a))}}).Expect(t, 303, "/recover/password")
				if p := b.Get(t, "/recover/password"); p.Status != 200 || !p.Has(`name="password_confirm"`) {
					t.Fatalf("password page: %d", p.Status)
				}
				b.Post(t, "/recover/password", url.Values{"password": {newPassword}, "password_confirm": {newPassword}}).Expect(t, 303, "/login?notice=password_changed")
				if !r.passwordIs(t, a.ID, newPassword) || r.passwordIs(t, a.ID, goodPassword) {
					t.Fatal("the password did not change")
				}
				if n := r.Messages.NoticeCount(a.ID, notice.KindNoticePasswordChanged); n != 1 {
					t.Fatalf("%d password-changed notices", n)
				}
				if ev := r.events(t, a.ID); !slices.Contains(ev, account.EventRecovered) {
					t.Fatalf("sign-in history: %v", ev)
				}
				// The flow is spent: the page starts over.
				b.Get(t, "/recover/password").Expect(t, 303, "/recover?expired=1")
			})
		}
	})
}

// TestRecoverBadInput: each field's mistake is reported under that field
// in the citizen's language, and changes nothing: no message for a bad
// login, no attempt spent on a code typo, no password half-set; the same
// flow goes on once the input is right.
func TestRecoverBadInput(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t)
		b := r.srv.Browser()
		for _, tc := range []struct{ login, lang, want string }{
			{"", "", "Логин: укажите"},
			{"abc", "", "Логин: введите"},
			{"123-456-789 00", "", "СНИЛС:"},
			{"abc", "en", "Login: enter"},
		} {
			b.Lang = tc.lang
			b.Post(t, "/recover", url.Values{"login": {tc.login}}).ExpectField(t, 422, "login", tc.want)
		}
		b.Lang = ""
		if n := r.Messages.Sent(); n != 0 {
			t.Fatalf("%d messages sent for bad logins", n)
		}
		b.Post(t, "/recover", url.Values{"login": {a.Phone.Value}}).Expect(t, 303, "/recover/code")
		code := r.Messages.Code(t, a.Phone.Value)
		idptest.CodeTypos(t, b, "/recover/code")
		// Four typos spent none of the three attempts.
		b.Post(t, "/recover/code", url.Values{"code": {code}}).Expect(t, 303, "/recover/password")

		for _, tc := range []struct {
			pw, confirm, field, want string
		}{
			{"", "", "password", "Пароль:"},
			{"Sh1!", "Sh1!", "password", "Пароль: не менее 8"},
			{"lowercase1!x", "lowercase1!x", "password", "Пароль: нужна хотя бы одна заглавная"},
			{newPassword, newPassword + "x", "password_confirm", "Пароль ещё раз: пароли не совпадают"},
		} {
			b.Post(t, "/recover/password", url.Values{"password": {tc.pw}, "password_confirm": {tc.confirm}}).ExpectField(t, 422, tc.field, tc.want)
		}
		// Several broken rules: one message, the list marks them.
		p := b.Post(t, "/recover/password", url.Values{"password": {"zqxwvu"}, "password_confirm": {"zqxwvu"}})
		p.ExpectField(t, 422, "password", "Пароль: выполните требования, отмеченные в списке ниже")
		p.ExpectRulesMarked(t, "не выполнено", password.CodeMinLength, password.CodeUpper, password.CodeDigit, password.CodeSpecial)
		if !r.passwordIs(t, a.ID, goodPassword) || len(r.Messages.Notices(a.ID)) != 0 || slices.Contains(r.events(t, a.ID), account.EventRecovered) {
			t.Fatal("a refused password changed something")
		}
		if entries, err := r.Activity.List(context.Background(), a.ID, time.Time{}, 0); err != nil || len(entries) != 0 {
			t.Fatalf("activity log after refused passwords: %v %v", entries, err)
		}
		b.Post(t, "/recover/password", url.Values{"password": {newPassword}, "password_confirm": {newPassword}}).Expect(t, 303, "/login?notice=password_changed")
		if !r.passwordIs(t, a.ID, newPassword) {
			t.Fatal("the right password after mistakes was not set")
		}
	})
}

// TestRecoverSetFails: when the new password cannot be written (here the
// activity log's head is away), the step fails without spending the
// flow: the same browser sends the form again and the password changes,
// not sent back to the start as if the flow had expired.
func TestRecoverSetFails(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t)
		b := r.browser()
		b.throughCode(a.Phone.Value)
		form := url.Values{"password": {newPassword}, "password_confirm": {newPassword}}
		sqldbtest.WithoutTable(t, db, "audit_head", func() {
			if p := b.Post(t, "/recover/password", form); p.Status < 500 || p.Location != "" {
				t.Fatalf("the password step while it cannot be written: %d → %q", p.Status, p.Location)
			}
		})
		if r.passwordIs(t, a.ID, newPassword) {
			t.Fatal("the password changed in the failed step")
		}
		b.Post(t, "/recover/password", form).Expect(t, 303, "/login?notice=password_changed")
		if !r.passwordIs(t, a.ID, newPassword) {
			t.Fatal("the retry did not change the password")
		}
		b.Post(t, "/recover/password", form).Expect(t, 303, "/recover?expired=1")
	})
}

// TestRecoverWrongCode: wrong codes count down and kill the challenge
// (the right code is refused after that), an expired code is refused as
// expired, a new code after the cool-down works, and the flow itself
// expires; the password never changes on the way.
func TestRecoverWrongCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t)
		b := r.srv.Browser()
		b.Post(t, "/recover", url.Values{"login": {a.Phone.Value}}).Expect(t, 303, "/recover/code")
		code := r.Messages.Code(t, a.Phone.Value)
		idptest.WrongCodes(t, b, "/recover/code", code)
		// A new code after the cool-down; it expires after five minutes.
		r.Clock.Advance(61 * time.Second)
		b.Post(t, "/recover/resend", nil).Expect(t, 303, "/recover/code?resent=1")
		fresh := r.Messages.Code(t, a.Phone.Value)
		if fresh == code {
			t.Fatal("the resent code is the old one")
		}
		r.Clock.Advance(5*time.Minute + time.Second)
		b.Post(t, "/recover/code", url.Values{"code": {fresh}}).ExpectField(t, 422, "code", "Срок действия кода истёк")
		// The flow lives 20 minutes.
		r.Clock.Advance(15 * time.Minute)
		b.Get(t, "/recover/code").Expect(t, 303, "/recover?expired=1")
		b.Post(t, "/recover/password", url.Values{"password": {newPassword}, "password_confirm": {newPassword}}).Expect(t, 303, "/recover?expired=1")
		if p := b.Get(t, "/recover?expired=1"); !strings.HasPrefix(p.Notice(), "Время на восстановление истекло") {
			t.Fatalf("expired notice: %q", p.Notice())
		}
		if !r.passwordIs(t, a.ID, goodPassword) {
			t.Fatal("the password changed without a right code")
		}
	})
}

// TestRecoverRateLimit: a new code waits out the cool-down, and a
// destination gets at most ten codes a day — an unknown login the same,
// so that the limits reveal nothing.
func TestRecoverRateLimit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t)
		b := r.srv.Browser()
		b.Post(t, "/recover", url.Values{"login": {a.Phone.Value}}).Expect(t, 303, "/recover/code")
		b.Post(t, "/recover/resend", nil).ExpectAlert(t, 429, "Новый код можно запросить через")
		if p := b.Post(t, "/recover", url.Values{"login": {a.Phone.Value}}); p.Status != 429 {
			t.Fatalf("a new recovery at once: %d", p.Status)
		}
		// One code went out above; nine more, then the cap. A phone of no
		// account gets the same answers, ten times and then the cap.
		unknown := idptest.NextPhone()
		for _, tc := range []struct {
			login string
			more  int
		}{{a.Phone.Value, 9}, {unknown, 10}} {
			c := r.srv.Browser()
			for i := range tc.more + 1 {
				r.Clock.Advance(61 * time.Second)
				p := c.Post(t, "/recover", url.Values{"login": {tc.login}})
				if i < tc.more && p.Status != 303 {
					t.Fatalf("%s: code %d refused: %d %q", tc.login, i+1, p.Status, p.Alert())
				}
				if i == tc.more {
					p.ExpectAlert(t, 429, "Превышено число кодов на сегодня")
				}
			}
		}
		if n := len(r.Messages.SentTo(t, a.Phone.Value)); n != 10 {
			t.Fatalf("%d codes to one phone in a day", n)
		}
		if n := len(r.Messages.SentTo(t, unknown)); n != 0 {
			t.Fatalf("%d messages to a phone of no account", n)
		}
		// The next day the owner can recover again.
		r.Clock.Advance(24 * time.Hour)
		r.srv.Browser().Post(t, "/recover", url.Values{"login": {a.Phone.Value}}).Expect(t, 303, "/recover/code")
	})
}

// TestRecoverClaimedSNILS: a SNILS merely typed into an account is no
// login: recovery by it sends nothing to that account and accepts no code,
// with the same pages as for any login; once another account verifies it,
// the code goes to that account.
func TestRecoverClaimedSNILS(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		snils := idptest.NextSNILS()
		claimant := r.NewAccount(t, account.New{PasswordHash: r.Hash(t, goodPassword)})
		if err := r.Accounts.UpdateDocuments(ctx, claimant.ID, account.Documents{SNILS: snils}); err != nil {
			t.Fatal(err)
		}
		b := r.srv.Browser()
		b.Post(t, "/recover", url.Values{"login": {snils}}).Expect(t, 303, "/recover/code")
		if p := b.Get(t, "/recover/code"); !p.Has("телефон или почту, указанные в учётной записи") {
			t.Fatalf("code page for a claimed SNILS: %d", p.Status)
		}
		if got := r.Messages.SentTo(t, claimant.Phone.Value); len(got) != 0 {
			t.Fatalf("the claimant got %v", got)
		}
		if p := b.Post(t, "/recover/code", url.Values{"code": {"123456"}}); p.Status != 422 {
			t.Fatalf("a code in a flow of no account: %d", p.Status)
		}
		b.Post(t, "/recover/password", url.Values{"password": {newPassword}, "password_confirm": {newPassword}}).Expect(t, 303, "/recover/code")
		if !r.passwordIs(t, claimant.ID, goodPassword) {
			t.Fatal("the claimant's password changed")
		}

		holder := r.NewAccount(t, account.New{PasswordHash: r.Hash(t, goodPassword)})
		if _, err := r.Accounts.VerifySNILS(ctx, holder.ID, snils, "registry"); err != nil {
			t.Fatal(err)
		}
		r.Clock.Advance(61 * time.Second)
		c := r.srv.Browser()
		c.Post(t, "/recover", url.Values{"login": {snils}}).Expect(t, 303, "/recover/code")
		c.Post(t, "/recover/code", url.Values{"code": {r.Messages.Code(t, holder.Phone.Value)}}).Expect(t, 303, "/recover/password")
		if got := r.Messages.SentTo(t, claimant.Phone.Value); len(got) != 0 {
			t.Fatalf("the claimant got %v", got)
		}
	})
}

// TestRecoverCrossSite: another site's form cannot start a recovery (and
// spend the owner's daily codes).
func TestRecoverCrossSite(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t)
		if p := r.srv.Browser().CrossSite("https://evil.example").Post(t, "/recover", url.Values{"login": {a.Phone.Value}}); p.Status != 403 {
			t.Fatalf("cross-site recovery: %d", p.Status)
		}
		if n := r.Messages.Sent(); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})
}
