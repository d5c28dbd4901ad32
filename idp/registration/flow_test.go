package registration_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/registration"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func (r *rig) accounts(t *testing.T) int {
	t.Helper()
	return r.Count(t, `SELECT count(*) FROM accounts`)
}

// TestRegister: by phone or e-mail, the code confirms the contact, the
// profile step creates the account with the contact verified, the name,
// the password and the consent, signs the citizen in and records it.
func TestRegister(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		for _, tc := range []struct{ by, kind, contact string }{
			{"phone", account.Phone, idptest.NextPhone()},
			{"email", account.Email, idptest.NextEmail()},
		} {
			t.Run(tc.by, func(t *testing.T) {
				b := r.srv.Browser()
				if p := b.Get(t, "/register?by="+tc.by); p.Status != 200 || !p.Has(`name="`+tc.by+`"`) {
					t.Fatalf("start page: %d", p.Status)
				}
				r.throughCode(t, b, tc.by, tc.contact)
				if got := r.Messages.SentTo(t, tc.contact); !slices.Equal(got, []string{notice.KindCodeRegister}) {
					t.Fatalf("sent to the contact: %v", got)
				}
				if p := b.Get(t, "/register/profile"); p.Status != 200 || !p.Has(`name="consent"`) {
					t.Fatalf("profile page: %d", p.Status)
				}
				r.Clock.Advance(time.Minute)
				b.Post(t, "/register/profile", profile()).Expect(t, 303, "/account/details?welcome=1")

				a, err := r.Accounts.FindByLogin(ctx, tc.kind, tc.contact)
				if err != nil {
					t.Fatal(err)
				}
				now := r.Clock.Now()
				c := a.Phone
				if tc.kind == account.Email {
					c = a.Email
				}
				if a.Name != (account.Name{Family: "Петрова", Given: "Анна", Middle: "Сергеевна"}) || !c.VerifiedAt.Equal(now) ||
					a.ConsentVersion != registration.ConsentVersion || !a.ConsentAt.Equal(now) {
					t.Fatalf("account: %+v", a)
				}
				if ok, _, err := r.Hasher.Verify(ctx, a.PasswordHash, goodPassword); !ok || err != nil {
					t.Fatalf("the password does not verify: %v", err)
				}
				if p := b.Get(t, "/whoami"); p.Body != a.ID+" pwd" {
					t.Fatalf("session: %q", p.Body)
				}
				evs, err := r.Accounts.Events(ctx, a.ID, time.Time{}, 10)
				if err != nil || len(evs) != 1 || evs[0].Kind != account.EventRegistered {
					t.Fatalf("sign-in history: %+v %v", evs, err)
				}
				// «Действия» shows the account's opening, by its owner.
				entries, err := r.Activity.List(ctx, a.ID, time.Time{}, 0)
				if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionAccountCreated ||
					entries[0].Actor != (audit.Actor{Kind: audit.ActorCitizen, ID: a.ID}) || entries[0].Detail["via"] != "registration" || entries[0].IP == "" {
					t.Fatalf("activity log after registration: %+v %v", entries, err)
				}
				// The flow is spent.
				b.Get(t, "/register/profile").Expect(t, 303, "/register?expired=1")
			})
		}
	})
}

// TestRegisterBadInput: each field's mistake is reported under that
// field, in the citizen's language, keeps what was typed, and writes
// nothing; the same flow goes on once the form is right.
func TestRegisterBadInput(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		b := r.srv.Browser()
		for _, tc := range []struct{ by, value, lang, want string }{
			{"phone", "", "", "Мобильный телефон: укажите"},
			{"phone", "12345", "", "Мобильный телефон: введите"},
			{"phone", "+1 202 555 0100", "", "Мобильный телефон: укажите российский"},
			{"phone", "+7 495 123-45-67", "", "Мобильный телефон: укажите номер мобильного"},
			{"phone", "12345", "en", "Mobile phone: enter"},
			{"email", "", "", "Электронная почта: укажите"},
			{"email", "anna.example.ru", "", "Электронная почта: введите"},
			{"email", "anna@", "en", "E-mail: enter the address"},
		} {
			b.Lang = tc.lang
			b.Post(t, "/register", url.Values{"by": {tc.by}, tc.by: {tc.value}}).ExpectField(t, 422, tc.by, tc.want)
		}
		b.Lang = ""
		if n := r.Messages.Sent(); n != 0 {
			t.Fatalf("%d messages sent for bad contacts", n)
		}

		phone := idptest.NextPhone()
		b.Post(t, "/register", url.Values{"by": {"phone"}, "phone": {phone}}).Expect(t, 303, "/register/code")
		code := r.Messages.Code(t, phone)
		idptest.CodeTypos(t, b, "/register/code")
		b.Post(t, "/register/code", url.Values{"code": {code}}).Expect(t, 303, "/register/profile")

		for _, tc := range []struct {
			field, value, lang, want string
		}{
			{"family_name", "", "", "Фамилия: укажите"},
			{"family_name", "Smith", "", "Фамилия: используйте только русские буквы"},
			{"given_name", "", "", "Имя: укажите"},
			{"given_name", "Анна1", "", "Имя: допустимы только"},
			{"middle_name", "-Сергеевна", "", "Отчество: первым и последним"},
			{"password", "Sh1!", "", "Пароль: не менее 8"},
			{"password", "lowercase1!x", "", "Пароль: нужна хотя бы одна заглавная"},
			{"password_confirm", goodPassword + "x", "", "Пароль ещё раз: пароли не совпадают"},
			{"consent", "", "", "Согласие: без согласия"},
			{"consent", "", "en", "Consent: the account cannot be created"},
		} {
			form := profile()
			form.Set(tc.field, tc.value)
			if tc.field == "password" {
				form.Set("password_confirm", tc.value)
			}
			b.Lang = tc.lang
			p := b.Post(t, "/register/profile", form)
			p.ExpectField(t, 422, tc.field, tc.want)
			if tc.field != "family_name" && !p.Has(`value="Петрова"`) {
				t.Fatalf("%s %q: the page lost what was typed", tc.field, tc.value)
			}
			if n := r.accounts(t); n != 0 {
				t.Fatalf("%s %q: %d accounts written", tc.field, tc.value, n)
			}
			if b.Cookie("gosid_session") != "" {
				t.Fatalf("%s %q: signed in", tc.field, tc.value)
			}
		}
		b.Lang = ""
		// Several broken rules: one message, the list marks them.
		form := profile()
		form.Set("password", "zqxwvu")
		form.Set("password_confirm", "zqxwvu")
		p := b.Post(t, "/register/profile", form)
		p.ExpectField(t, 422, "password", "Пароль: выполните требования, отмеченные в списке ниже")
		p.ExpectRulesMarked(t, "не выполнено", password.CodeMinLength, password.CodeUpper, password.CodeDigit, password.CodeSpecial)
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/account/details?welcome=1")
		if n := r.accounts(t); n != 1 || !r.taken(t, account.Phone, phone) {
			t.Fatalf("%d accounts after the right form", n)
		}
	})
}

// TestRegisterWrongCode: wrong codes count down and kill the challenge,
// an expired code is refused as expired, a new code after the cool-down
// works, the profile step waits for the code, and the flow itself
// expires; no account appears on the way.
func TestRegisterWrongCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		phone := idptest.NextPhone()
		b := r.srv.Browser()
		b.Post(t, "/register", url.Values{"by": {"phone"}, "phone": {phone}}).Expect(t, 303, "/register/code")
		b.Get(t, "/register/profile").Expect(t, 303, "/register/code")
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/register/code")
		code := r.Messages.Code(t, phone)
		idptest.WrongCodes(t, b, "/register/code", code)
		r.Clock.Advance(61 * time.Second)
		b.Post(t, "/register/resend", nil).Expect(t, 303, "/register/code?resent=1")
		if p := b.Get(t, "/register/code?resent=1"); !strings.HasPrefix(p.Notice(), "Мы отправили новый код") {
			t.Fatalf("resent notice: %q", p.Notice())
		}
		fresh := r.Messages.Code(t, phone)
		r.Clock.Advance(5*time.Minute + time.Second)
		b.Post(t, "/register/code", url.Values{"code": {fresh}}).ExpectField(t, 422, "code", "Срок действия кода истёк")
		// The flow lives 30 minutes.
		r.Clock.Advance(25 * time.Minute)
		b.Get(t, "/register/code").Expect(t, 303, "/register?expired=1")
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/register?expired=1")
		if n := r.accounts(t); n != 0 {
			t.Fatalf("%d accounts without a right code", n)
		}
	})
}

// TestRegisterFlowOutage: while the flows cannot be read, the code step
// is not called expired (which would send the citizen back to the start
// and spend the code sent): 503 with Retry-After; afterwards the same
// flow and code go on.
func TestRegisterFlowOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		phone := idptest.NextPhone()
		b := r.srv.Browser()
		b.Post(t, "/register", url.Values{"by": {"phone"}, "phone": {phone}}).Expect(t, 303, "/register/code")
		code := r.Messages.Code(t, phone)
		sqldbtest.WithoutTable(t, db, "flows", func() {
			for _, p := range []idptest.Answer{b.Get(t, "/register/code"), b.Post(t, "/register/code", url.Values{"code": {code}})} {
				if p.Status != 503 || p.Header.Get("Retry-After") == "" || p.Location != "" {
					t.Errorf("the code step during the outage: %d → %q", p.Status, p.Location)
				}
			}
		})
		b.Post(t, "/register/code", url.Values{"code": {code}}).Expect(t, 303, "/register/profile")
	})
}

// TestRegisterCodeOutage: a flow that cannot be stored costs no code. The
// start page fails while the flows are away, and the retry sends the code
// at once, not «a new code in 60 s» for a code nobody can type; a new
// code asked for in an outage leaves the code already sent working.
func TestRegisterCodeOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		phone := idptest.NextPhone()
		b := r.srv.Browser()
		start := url.Values{"by": {"phone"}, "phone": {phone}}
		sqldbtest.WithoutTable(t, db, "flows", func() {
			if p := b.Post(t, "/register", start); p.Status < 500 || p.Location != "" {
				t.Fatalf("the start page while the flows are away: %d → %q", p.Status, p.Location)
			}
		})
		if n := r.Messages.Sent(); n != 0 {
			t.Fatalf("%d messages sent for a flow that was not stored", n)
		}
		b.Post(t, "/register", start).Expect(t, 303, "/register/code")
		code := r.Messages.Code(t, phone)

		r.Clock.Advance(2 * time.Minute) // past the cool-down
		sqldbtest.ReadOnlyTable(t, db, "flows", func() {
			if p := b.Post(t, "/register/resend", nil); p.Status < 500 || p.Location != "" {
				t.Fatalf("a new code while the flows are away: %d → %q", p.Status, p.Location)
			}
		})
		b.Post(t, "/register/code", url.Values{"code": {code}}).Expect(t, 303, "/register/profile")
	})
}

// TestRegisterGatewayRefuses: a code the SMS gateway refuses is said to be
// not sent (429), and costs no cool-down: the citizen asks again at once,
// from the start page and from the step, and the code that arrives works.
func TestRegisterGatewayRefuses(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		phone := idptest.NextPhone()
		b := r.srv.Browser()
		start := url.Values{"by": {"phone"}, "phone": {phone}}
		r.Messages.Refuse(errors.New("gateway: 503"))
		b.Post(t, "/register", start).ExpectAlert(t, 429, "Не удалось отправить код. Запросите код ещё раз.")
		r.Messages.Refuse(nil)
		b.Post(t, "/register", start).Expect(t, 303, "/register/code")
		first := r.Messages.Code(t, phone)

		r.Clock.Advance(2 * time.Minute) // past the cool-down of the code sent
		r.Messages.Refuse(errors.New("gateway: 503"))
		b.Post(t, "/register/resend", nil).ExpectAlert(t, 429, "Не удалось отправить код")
		r.Messages.Refuse(nil)
		b.Post(t, "/register/resend", nil).Expect(t, 303, "/register/code?resent=1")
		second := r.Messages.Code(t, phone)
		if n := len(r.Messages.SentTo(t, phone)); n != 2 {
			t.Fatalf("%d codes reached the phone, want 2", n)
		}
		if first != second {
			b.Post(t, "/register/code", url.Values{"code": {first}}).ExpectField(t, 422, "code", "Неверный код")
		}
		b.Post(t, "/register/code", url.Values{"code": {second}}).Expect(t, 303, "/register/profile")
	})
}

// TestRegisterCreateFails: when the account cannot be written (here the
// activity log's head is away), the profile step fails without spending
// the flow: the same browser sends the form again and is registered, not
// sent back to the start as if the flow had expired.
func TestRegisterCreateFails(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		phone := idptest.NextPhone()
		b := r.srv.Browser()
		r.throughCode(t, b, "phone", phone)
		sqldbtest.WithoutTable(t, db, "audit_head", func() {
			p := b.Post(t, "/register/profile", profile())
			if p.Status < 500 || p.Location != "" || !p.Has(`value="Петрова"`) {
				t.Fatalf("the profile step while the account cannot be written: %d → %q", p.Status, p.Location)
			}
		})
		if n := r.accounts(t); n != 0 {
			t.Fatalf("%d accounts after the failed write", n)
		}
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/account/details?welcome=1")
		if n := r.accounts(t); n != 1 {
			t.Fatalf("%d accounts after the retry", n)
		}
		// The flow is over now.
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/register?expired=1")
	})
}

// TestRegisterRateLimit: a new code waits out the cool-down, and a
// contact gets at most ten codes a day — a contact with an account the
// same, so that the limits reveal nothing.
func TestRegisterRateLimit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		owner := r.Citizen(t, goodPassword)
		for _, phone := range []string{idptest.NextPhone(), owner.Phone.Value} {
			b := r.srv.Browser()
			b.Post(t, "/register", url.Values{"by": {"phone"}, "phone": {phone}}).Expect(t, 303, "/register/code")
			b.Post(t, "/register/resend", nil).ExpectAlert(t, 429, "Новый код можно запросить через")
			for i := range 10 {
				r.Clock.Advance(61 * time.Second)
				p := b.Post(t, "/register/resend", nil)
				if i < 9 && p.Status != 303 {
					t.Fatalf("%s: code %d refused: %d %q", phone, i+2, p.Status, p.Alert())
				}
				if i == 9 {
					p.ExpectAlert(t, 429, "Превышено число кодов на сегодня")
				}
			}
			if n := len(r.Messages.SentTo(t, phone)); n != 10 {
				t.Fatalf("%s: %d messages in a day", phone, n)
			}
		}
	})
}

// TestRegisterExisting: a contact that has an account is not revealed:
// the pages look the same, the owner is told instead of sent a code, a
// guess is answered as any wrong code, and the profile step stays shut; no
// second account appears.
func TestRegisterExisting(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		owner := r.Citizen(t, goodPassword)
		b := r.srv.Browser()
		b.Post(t, "/register", url.Values{"by": {"phone"}, "phone": {owner.Phone.Value}}).Expect(t, 303, "/register/code")
		if got := r.Messages.SentTo(t, owner.Phone.Value); !slices.Equal(got, []string{notice.KindNoticeRegisterExisting}) {
			t.Fatalf("sent to the owner: %v", got)
		}
		if p := b.Get(t, "/register/code"); p.Status != 200 || !p.Has("Мы отправили код подтверждения") {
			t.Fatalf("code page: %d", p.Status)
		}
		// A guess is answered as for any contact.
		b.Post(t, "/register/code", url.Values{"code": {"123456"}}).ExpectField(t, 422, "code", "Неверный код. Осталось попыток: 2")
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/register/code")
		if n := r.accounts(t); n != 1 {
			t.Fatalf("%d accounts", n)
		}
	})
}

// TestRegisterClaimedContact: an e-mail merely typed into another account
// (never confirmed) is no key: it neither blocks registration nor turns
// the code into a notice; the registrant who proves it gets it.
func TestRegisterClaimedContact(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		email := idptest.NextEmail()
		claimant := r.NewAccount(t, account.New{Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: r.Clock.Now()},
			Email: account.Contact{Value: email}})
		b := r.srv.Browser()
		r.throughCode(t, b, "email", email)
		b.Post(t, "/register/profile", profile()).Expect(t, 303, "/account/details?welcome=1")
		a, err := r.Accounts.FindByLogin(ctx, account.Email, email)
		if err != nil || a.ID == claimant.ID {
			t.Fatalf("the e-mail signs in to %v (%v), want the new account", a, err)
		}
	})
}

// TestRegisterRace: two browsers prove the same phone; the first to send
// the profile gets the account, the second is told the contact is taken,
// and exactly one account exists.
func TestRegisterRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		phone := idptest.NextPhone()
		first, second := r.srv.Browser(), r.srv.Browser()
		r.throughCode(t, first, "phone", phone)
		r.Clock.Advance(61 * time.Second)
		r.throughCode(t, second, "phone", phone)
		first.Post(t, "/register/profile", profile()).Expect(t, 303, "/account/details?welcome=1")
		second.Post(t, "/register/profile", profile()).ExpectAlert(t, 409, "Этот телефон или почта уже используется")
		if n := r.accounts(t); n != 1 {
			t.Fatalf("%d accounts", n)
		}
	})
}

// TestRegisterCrossSite: another site's form cannot start a registration
// (and send codes to someone's phone).
func TestRegisterCrossSite(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		if p := r.srv.Browser().CrossSite("https://evil.example").Post(t, "/register", url.Values{"by": {"phone"}, "phone": {idptest.NextPhone()}}); p.Status != 403 {
			t.Fatalf("cross-site registration: %d", p.Status)
		}
		if n := r.Messages.Sent(); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})
}
