package access_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/access"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

const newPassword = "Nov0e-Parol!x"

type rig struct {
	env      *idptest.Env
	srv      *idptest.Server
	staff    *staff.Store
	store    *access.Store
	operator *account.Account
	opB      *idptest.Browser
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	e := idptest.NewEnv(t, db, idptest.Options{})
	ctx := context.Background()
	r := &rig{env: e, staff: staff.NewStore(db, e.Activity, e.Clock.Now), store: access.NewStore(db, e.Activity, e.Crypto, e.Clock.Now)}
	gate, err := staff.NewGate(r.staff, e.Sessions, e.Accounts, e.Log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := access.New(access.Deps{Store: r.store, Gate: gate, Accounts: e.Accounts, Activity: e.Activity, Flows: e.Flows, Codes: e.Codes,
		Passwords: e.Hasher, Policy: password.DefaultPolicy(), EndAll: e.Sessions.EndAll, Notifier: e.Messages, Limiter: e.Limiter,
		Log: e.Log, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = e.Serve(t, h.Routes)
	if err := r.staff.AddOrg(ctx, staff.Org{Code: "mfc-77-001", Kind: staff.KindServiceCentre, NameRU: "МФЦ Тверской", Region: "77"}); err != nil {
		t.Fatal(err)
	}
	r.operator = r.confirmed(t)
	if err := r.staff.Grant(ctx, r.operator.ID, staff.RoleOperator, "mfc-77-001", audit.Actor{Kind: audit.ActorAdmin, ID: "root"}); err != nil {
		t.Fatal(err)
	}
	r.opB = r.srv.Browser()
	r.opB.SignIn(t, r.operator.ID, "swk", "user")
	return r
}

func (r *rig) confirmed(t *testing.T) *account.Account {
	t.Helper()
	a := r.env.Citizen(t, "")
	if err := r.env.Accounts.SetLevel(context.Background(), a.ID, a.Level, assurance.Confirmed); err != nil {
		t.Fatal(err)
	}
	return r.env.Account(t, a.ID)
}

// citizen has a password, a verified phone and e-mail, a birth date and
// a passport confirmed (the account at standard).
func (r *rig) citizen(t *testing.T) *account.Account {
	t.Helper()
	a := r.claimant(t)
	if err := r.env.Accounts.SetLevel(context.Background(), a.ID, a.Level, assurance.Standard); err != nil {
		t.Fatal(err)
	}
	return r.env.Account(t, a.ID)
}

// claimant is citizen with the passport only claimed (simplified).
func (r *rig) claimant(t *testing.T) *account.Account {
	t.Helper()
	return r.env.NewAccount(t, account.New{Name: account.Name{Family: "Смирнова", Given: "Ольга", Middle: "Петровна"},
		PasswordHash: r.env.Hash(t, "Stary-Parol!9"), BirthDate: time.Date(1975, 3, 8, 0, 0, 0, 0, time.UTC),
		Phone:    account.Contact{Value: idptest.NextPhone(), VerifiedAt: r.env.Clock.Now()},
		Email:    account.Contact{Value: idptest.NextEmail(), VerifiedAt: r.env.Clock.Now()},
		Passport: &account.Passport{Series: "4510", Number: "123456", IssueDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}})
}

var codeRE = regexp.MustCompile(`data-code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})<`)

// issue has the operator issue a code for a.
func (r *rig) issue(t *testing.T, a *account.Account) string {
	t.Helper()
	ans := r.opB.Post(t, access.StaffURL(a.ID), url.Values{"passport_checked": {"1"}})
	if ans.Status != http.StatusOK {
		t.Fatalf("issue: %d %s", ans.Status, ans.Body)
	}
	return ans.Find(t, codeRE)
}

func (r *rig) enter(t *testing.T, b *idptest.Browser, login, code string) idptest.Answer {
	t.Helper()
	return b.Post(t, access.PathCitizen, url.Values{"login": {login}, "code": {code}})
}

const refused = "Неверный логин или код доступа"

func expectRefused(t *testing.T, a idptest.Answer) {
	t.Helper()
	if a.Status != http.StatusUnprocessableEntity || !strings.HasPrefix(a.Alert(), refused) {
		t.Fatalf("want the refusal, got %d %q", a.Status, a.Alert())
	}
}

func entries(t *testing.T, env *idptest.Env, accountID, action string) []audit.Entry {
	t.Helper()
	all, err := env.Audit.List(context.Background(), accountID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestStaffPage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		// A passport only claimed: nothing to compare the presented one
		// with, so no code, whatever the operator ticks.
		c := r.claimant(t)
		if page := r.opB.Get(t, access.StaffURL(c.ID)); page.Status != http.StatusConflict || !page.Has("не подтверждены") || page.Has("Паспорт проверен") {
			t.Fatalf("staff page of a claimed passport: %d %s", page.Status, page.Body)
		}
		if ans := r.opB.Post(t, access.StaffURL(c.ID), url.Values{"passport_checked": {"1"}}); ans.Status != http.StatusConflict || codeRE.MatchString(ans.Body) {
			t.Fatalf("code for a claimed passport: %d", ans.Status)
		}
		a := r.citizen(t)
		page := r.opB.Get(t, access.StaffURL(a.ID))
		if page.Status != http.StatusOK || !page.Has("Смирнова Ольга Петровна") || !page.Has("08.03.1975") || !page.Has("45 ** ****56") ||
			page.Has("4510") || page.Has("123456") || !page.Has("Паспорт проверен") {
			t.Fatalf("staff page: %d %s", page.Status, page.Body)
		}
		if page.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", page.Header.Get("Cache-Control"))
		}
		// Not ticked: no code.
		ans := r.opB.Post(t, access.StaffURL(a.ID), url.Values{})
		ans.ExpectField(t, http.StatusUnprocessableEntity, "passport_checked", "Паспорт проверен")
		if n := r.env.Count(t, `SELECT count(*) FROM access_codes WHERE account_id = $1`, a.ID); n != 0 {
			t.Fatalf("a code without the passport checked: %d", n)
		}
		ans = r.opB.Post(t, access.StaffURL(a.ID), url.Values{"passport_checked": {"1"}})
		code := ans.Find(t, codeRE)
		if !ans.Has("(МСК)") || !ans.Has("/static/access-code.css") || !ans.Has("data-print") {
			t.Errorf("issued page: %s", ans.Body)
		}
		hashed := r.env.Count(t, `SELECT count(*) FROM access_codes WHERE account_id = $1 AND failures = 0 AND spent_at IS NULL`, a.ID)
		if hashed != 1 {
			t.Fatalf("stored codes: %d", hashed)
		}
		if n := r.env.Count(t, `SELECT count(*) FROM access_codes WHERE code_hash = $1`, []byte(code)); n != 0 {
			t.Fatal("the code is stored as typed")
		}
		es := entries(t, r.env, a.ID, audit.ActionAccessCodeIssued)
		if len(es) != 1 || es[0].Actor.Kind != audit.ActorOperator || es[0].Actor.ID != "mfc-77-001/"+r.operator.ID || es[0].Detail["org"] != "mfc-77-001" {
			t.Fatalf("activity log: %+v", es)
		}
		if css := r.srv.Browser().Get(t, "/static/access-code.css"); css.Status != 200 || !strings.Contains(css.Body, "@media print") {
			t.Errorf("print style: %d", css.Status)
		}

		// Own account: refused.
		own := r.opB.Post(t, access.StaffURL(r.operator.ID), url.Values{"passport_checked": {"1"}})
		if own.Status != http.StatusForbidden || !own.Has("своей учётной записи") {
			t.Fatalf("own account: %d %s", own.Status, own.Body)
		}
		if n := r.env.Count(t, `SELECT count(*) FROM access_codes WHERE account_id = $1`, r.operator.ID); n != 0 {
			t.Fatal("an operator issued a code for themselves")
		}
		// Unknown account.
		if ans := r.opB.Get(t, access.StaffURL("01a24063-0000-7000-8000-000000000000")); ans.Status != http.StatusNotFound {
			t.Fatalf("unknown account: %d", ans.Status)
		}
		// A supervisor issues too.
		sup := r.confirmed(t)
		if err := r.staff.Grant(context.Background(), sup.ID, staff.RoleSupervisor, "mfc-77-001", audit.Actor{Kind: audit.ActorAdmin, ID: "root"}); err != nil {
			t.Fatal(err)
		}
		sb := r.srv.Browser()
		sb.SignIn(t, sup.ID, "pwd", "otp", "mfa")
		sb.Post(t, access.StaffURL(a.ID), url.Values{"passport_checked": {"1"}}).Find(t, codeRE)
		// Not staff, or a password-only sign-in: the gate.
		b := r.srv.Browser()
		b.SignIn(t, r.confirmed(t).ID, "swk", "user")
		if ans := b.Get(t, access.StaffURL(a.ID)); ans.Status != http.StatusForbidden || ans.Header.Get("X-Gosid-Denied") != staff.DeniedRole {
			t.Fatalf("not staff: %d", ans.Status)
		}
		b.SignIn(t, r.operator.ID, "pwd")
		if ans := b.Post(t, access.StaffURL(a.ID), url.Values{"passport_checked": {"1"}}); ans.Status != http.StatusForbidden || ans.Header.Get("X-Gosid-Denied") != staff.DeniedMFA {
			t.Fatalf("password only: %d", ans.Status)
		}
		// The supervisor's code replaced the operator's.
		expectRefused(t, r.enter(t, r.srv.Browser(), a.Phone.Value, code))
	})
}

func TestUseCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		a := r.citizen(t)
		// Someone's guesses locked password sign-in; the citizen's old
		// session is still open somewhere.
		for range 3 {
			if _, err := r.env.Accounts.RecordLoginFailure(ctx, "phone:"+a.Phone.Value, a.ID, 3, 30*time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		old := r.srv.Browser()
		old.SignIn(t, a.ID, "pwd")
		code := r.issue(t, a)

		b := r.srv.Browser()
		// Unknown login and a wrong code answer alike.
		expectRefused(t, r.enter(t, b, idptest.NextPhone(), code))
		wrong := strings.Replace(code, code[:1], map[bool]string{true: "B", false: "A"}[code[0] == 'A'], 1)
		expectRefused(t, r.enter(t, b, a.Phone.Value, wrong))
		// Format errors are the field's, counted nowhere.
		r.enter(t, b, a.Phone.Value, "ABCD-EFGH-JKM0").ExpectField(t, http.StatusUnprocessableEntity, "code", "Код доступа")

		r.enter(t, b, a.Email.Value, strings.ToLower(code)).Expect(t, http.StatusSeeOther, "/access-code/new")
		ans := b.Post(t, "/access-code/new", url.Values{"password": {"short"}, "password_confirm": {"short"}, "phone": {"123"}})
		if ans.Status != http.StatusUnprocessableEntity || ans.FieldError("password") == "" || ans.FieldError("phone") == "" {
			t.Fatalf("bad password and phone: %d %v", ans.Status, ans.FieldErrors())
		}
		other := r.env.Citizen(t, "")
		ans = b.Post(t, "/access-code/new", url.Values{"password": {newPassword}, "password_confirm": {newPassword}, "phone": {other.Phone.Value}})
		ans.ExpectField(t, http.StatusUnprocessableEntity, "phone", "Телефон: этот номер подтверждён")
		phone := idptest.NextPhone()
		b.Post(t, "/access-code/new", url.Values{"password": {newPassword}, "password_confirm": {newPassword}, "phone": {phone}}).
			Expect(t, http.StatusSeeOther, "/access-code/code")
		sms := r.env.Messages.Code(t, phone)
		b.Post(t, "/access-code/code", url.Values{"code": {idptest.Wrong(sms)}}).ExpectField(t, http.StatusUnprocessableEntity, "code", "")
		b.Post(t, "/access-code/code", url.Values{"code": {sms}}).Expect(t, http.StatusSeeOther, "/login?notice=password_changed")

		got := r.env.Account(t, a.ID)
		if got.Phone.Value != phone || !got.Phone.Verified() {
			t.Fatalf("phone: %+v", got.Phone)
		}
		if ok, _, err := r.env.Hasher.Verify(ctx, got.PasswordHash, newPassword); err != nil || !ok {
			t.Fatalf("new password not set: %v", err)
		}
		if _, err := r.env.Sessions.Lookup(ctx, old.Token); err == nil {
			t.Fatal("the old session lives on")
		}
		if n := r.env.Count(t, `SELECT count(*) FROM login_lockouts WHERE account_id = $1`, a.ID); n != 0 {
			t.Fatalf("lock-out not lifted: %d", n)
		}
		for _, to := range []string{a.Phone.Value, a.Email.Value} {
			if _, ok := r.env.Messages.Last(to, notice.KindNoticePasswordChanged); !ok {
				t.Errorf("the old contact %s was not told", to)
			}
		}
		used := entries(t, r.env, a.ID, audit.ActionAccessCodeUsed)
		if len(used) != 1 || used[0].Actor.Kind != audit.ActorCitizen || used[0].Actor.ID != a.ID {
			t.Fatalf("activity log: %+v", used)
		}
		// Reuse: refused.
		expectRefused(t, r.enter(t, r.srv.Browser(), phone, code))
		expectRefused(t, r.enter(t, r.srv.Browser(), a.Email.Value, code))
	})
}

// TestUseCodeSaveFails: when the final save fails without a verdict (here
// the activity log's head is away), nothing is half-written and the SMS
// code is not asked for again: the page offers to save, and the retry
// sets the password and the phone with the one code sent.
func TestUseCodeSaveFails(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t)
		code := r.issue(t, a)
		b := r.srv.Browser()
		r.enter(t, b, a.Phone.Value, code).Expect(t, http.StatusSeeOther, "/access-code/new")
		phone := idptest.NextPhone()
		b.Post(t, "/access-code/new", url.Values{"password": {newPassword}, "password_confirm": {newPassword}, "phone": {phone}}).
			Expect(t, http.StatusSeeOther, "/access-code/code")
		sms := r.env.Messages.Code(t, phone)
		sqldbtest.WithoutTable(t, db, "audit_head", func() {
			ans := b.Post(t, "/access-code/code", url.Values{"code": {sms}})
			if ans.Status < 500 || ans.Location != "" || ans.Has(`name="code"`) || !ans.Has("подтверждён") || ans.Alert() == "" {
				t.Fatalf("the save while the activity log is away: %d → %q\n%s", ans.Status, ans.Location, ans.Body)
			}
		})
		if got := r.env.Account(t, a.ID); got.Phone.Value == phone || got.PasswordHash != a.PasswordHash {
			t.Fatalf("half-written: phone %s", got.Phone.Value)
		}
		if p := b.Get(t, "/access-code/code"); p.Status != http.StatusOK || p.Has(`name="code"`) {
			t.Fatalf("the step after a failed save: %d", p.Status)
		}
		b.Post(t, "/access-code/code", nil).Expect(t, http.StatusSeeOther, "/login?notice=password_changed")
		if got := r.env.Account(t, a.ID); got.Phone.Value != phone || !got.Phone.Verified() {
			t.Fatalf("phone after the retry: %+v", got.Phone)
		}
		if n := len(r.env.Messages.SentTo(t, phone)); n != 1 {
			t.Fatalf("%d SMS codes sent, want 1", n)
		}
		// Done: the flow is over.
		b.Post(t, "/access-code/code", nil).Expect(t, http.StatusSeeOther, "/access-code?expired=1")
	})
}

func TestCodeLimits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		b := r.srv.Browser()

		t.Run("three wrong tries spend it", func(t *testing.T) {
			a := r.citizen(t)
			code := r.issue(t, a)
			for range access.MaxTries {
				expectRefused(t, r.enter(t, b, a.Phone.Value, "ABCD-EFGH-JKMN"))
			}
			expectRefused(t, r.enter(t, b, a.Phone.Value, code))
		})
		t.Run("24 hours", func(t *testing.T) {
			a := r.citizen(t)
			code := r.issue(t, a)
			r.env.Clock.Advance(access.TTL + time.Second)
			expectRefused(t, r.enter(t, b, a.Phone.Value, code))
			// A new one replaces it and works.
			r.opB.SignIn(t, r.operator.ID, "swk", "user")
			code = r.issue(t, a)
			r.enter(t, r.srv.Browser(), a.Phone.Value, code).Expect(t, http.StatusSeeOther, "/access-code/new")
		})
		t.Run("issuing again replaces", func(t *testing.T) {
			a := r.citizen(t)
			first := r.issue(t, a)
			second := r.issue(t, a)
			expectRefused(t, r.enter(t, r.srv.Browser(), a.Phone.Value, first))
			r.enter(t, r.srv.Browser(), a.Phone.Value, second).Expect(t, http.StatusSeeOther, "/access-code/new")
		})
		t.Run("spent while a flow was open", func(t *testing.T) {
			// Two browsers past the code: only the first to finish uses it.
			a := r.citizen(t)
			code := r.issue(t, a)
			var phones []string
			var browsers []*idptest.Browser
			for range 2 {
				b := r.srv.Browser()
				r.enter(t, b, a.Phone.Value, code).Expect(t, http.StatusSeeOther, "/access-code/new")
				p := idptest.NextPhone()
				b.Post(t, "/access-code/new", url.Values{"password": {newPassword}, "password_confirm": {newPassword}, "phone": {p}}).
					Expect(t, http.StatusSeeOther, "/access-code/code")
				phones, browsers = append(phones, p), append(browsers, b)
			}
			browsers[0].Post(t, "/access-code/code", url.Values{"code": {r.env.Messages.Code(t, phones[0])}}).Expect(t, http.StatusSeeOther, "/login?notice=password_changed")
			ans := browsers[1].Post(t, "/access-code/code", url.Values{"code": {r.env.Messages.Code(t, phones[1])}})
			if ans.Status != http.StatusConflict || !strings.HasPrefix(ans.Alert(), refused) {
				t.Fatalf("second flow: %d %q", ans.Status, ans.Alert())
			}
			if got := r.env.Account(t, a.ID); got.Phone.Value != phones[0] {
				t.Fatalf("phone %s, want the first flow's", got.Phone.Value)
			}
		})
		t.Run("per-IP limit", func(t *testing.T) {
			b := r.srv.Browser()
			var last idptest.Answer
			for range 12 {
				last = r.enter(t, b, idptest.NextPhone(), "ABCD-EFGH-JKMN")
			}
			if last.Status != http.StatusTooManyRequests {
				t.Fatalf("after 12 tries from one IP: %d", last.Status)
			}
		})
		t.Run("cross-site form refused", func(t *testing.T) {
			a := r.citizen(t)
			code := r.issue(t, a)
			ans := r.srv.Browser().CrossSite("https://evil.example").Post(t, access.PathCitizen, url.Values{"login": {a.Phone.Value}, "code": {code}})
			if ans.Status != http.StatusForbidden {
				t.Fatalf("cross-site: %d", ans.Status)
			}
		})
	})
}
