package desk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/access"
	"github.com/gosid/gosid/verification/check"
	"github.com/gosid/gosid/verification/desk"
	"github.com/gosid/gosid/verification/registry"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// notes records the notices sent: the edge of the world.
type notes struct {
	mu   sync.Mutex
	sent map[string][]map[string]string // account → data with "kind"
}

func (n *notes) Account(_ context.Context, a *account.Account, kind, _ string, data map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d := map[string]string{"kind": kind}
	for k, v := range data {
		d[k] = v
	}
	n.sent[a.ID] = append(n.sent[a.ID], d)
}

func (n *notes) of(id string) []map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent[id])
}

type rig struct {
	env      *idptest.Env
	srv      *idptest.Server
	verifier *assurance.Service
	checks   *check.Service
	staff    *staff.Store
	notes    *notes
	h        *desk.Handler
	office   staff.Org
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	e := idptest.NewEnv(t, db, idptest.Options{Keys: true})
	r := &rig{env: e, notes: &notes{sent: map[string][]map[string]string{}}}
	r.verifier = assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return e.Accounts.With(q) }, e.Audit, e.Keys, e.Clock.Now)
	queue, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewSimulator(registry.SimulatorConfig{NoLatency: true, Now: e.Clock.Now})
	if r.checks, err = check.New(check.Config{}, check.Deps{DB: db, Jobs: queue, Accounts: e.Accounts, Registry: reg, Verifier: r.verifier,
		Notifier: r.notes, Sealer: e.Keys, Log: e.Log, Now: e.Clock.Now}); err != nil {
		t.Fatal(err)
	}
	r.staff = staff.NewStore(db, e.Activity, e.Clock.Now)
	gate, err := staff.NewGate(r.staff, e.Sessions, e.Accounts, e.Log)
	if err != nil {
		t.Fatal(err)
	}
	if r.h, err = desk.New(desk.Deps{DB: db, Keys: e.Keys, Accounts: e.Accounts, Activity: e.Activity, Verifier: r.verifier, Checks: r.checks,
		Notifier: r.notes, Offices: r.staff, Gate: gate, Sessions: e.Sessions, Log: e.Log, Now: e.Clock.Now}); err != nil {
		t.Fatal(err)
	}
	r.srv = e.Serve(t, r.h.Routes)
	r.office = staff.Org{Code: "mfc-77-001", Kind: staff.KindServiceCentre, NameRU: "МФЦ района Хамовники", NameEN: "Khamovniki service centre",
		Region: "77", Address: "Москва, Комсомольский проспект, 28", Hours: "пн–вс 8:00–20:00"}
	ctx := context.Background()
	for _, o := range []staff.Org{r.office,
		{Code: "post-50-001", Kind: staff.KindPostOffice, NameRU: "Отделение Почты России 141400", Region: "50", Address: "Химки, ул. Ленина, 1", Hours: "пн–пт 9:00–18:00"},
		{Code: "agency-1", Kind: staff.KindAgency, NameRU: "Ведомство", Region: "77"}} {
		if err := r.staff.AddOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// citizen opens an account with the simulator identity key's data and,
// when standard, has the registries confirm them (the real check).
func (r *rig) citizen(t *testing.T, key string, standard bool) *account.Account {
	t.Helper()
	ctx := context.Background()
	var id registry.Identity
	for _, x := range registry.Identities() {
		if x.Key == key {
			id = x
		}
	}
	p, pp := id.Person, id.Passport
	a, err := r.env.Accounts.Create(ctx, account.New{Name: account.Name{Family: p.FamilyName, Given: p.GivenName, Middle: p.MiddleName},
		Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: r.env.Clock.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.env.Accounts.UpdateDocuments(ctx, a.ID, account.Documents{BirthDate: p.BirthDate, SNILS: id.SNILS,
		Passport: &account.Passport{Series: pp.Series, Number: pp.Number, IssueDate: pp.IssueDate, Issuer: pp.Issuer, DivisionCode: pp.DivisionCode}}); err != nil {
		t.Fatal(err)
	}
	if standard {
		r.runCheck(t, a.ID)
	}
	a, err = r.env.Accounts.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if standard && a.Level != assurance.Standard {
		t.Fatalf("%s: level %s after the registry check", key, a.Level)
	}
	return a
}

func (r *rig) runCheck(t *testing.T, accountID string) {
	t.Helper()
	ctx := context.Background()
	c, err := r.checks.Latest(ctx, accountID)
	if err != nil || c.Status != check.Pending {
		id, err := r.checks.Start(ctx, accountID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		c, _ = r.checks.Get(ctx, id)
	}
	for range 5 {
		_ = r.checks.Run(ctx, c.ID)
		if c, _ = r.checks.Get(ctx, c.ID); c.Status != check.Pending {
			return
		}
	}
}

// operator opens a confirmed account (a bank's evidence, as a bank would
// record it) holding role at the office.
func (r *rig) operator(t *testing.T, roles ...staff.Role) *account.Account {
	t.Helper()
	ctx := context.Background()
	a, err := r.env.Accounts.Create(ctx, account.New{Name: account.Name{Family: "Операторова", Given: "Ольга"},
		Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: r.env.Clock.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.verifier.Verify(ctx, assurance.Verification{Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodBank,
		Verifier: assurance.Verifier{Kind: "bank", ID: "sandbox"}, Claims: []string{"family_name"}, Level: assurance.Confirmed}}); err != nil {
		t.Fatal(err)
	}
	for _, role := range roles {
		if err := r.staff.Grant(ctx, a.ID, role, r.office.Code, audit.Actor{Kind: audit.ActorAdmin, ID: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func (r *rig) issue(t *testing.T, a *account.Account) string {
	t.Helper()
	b := r.srv.Browser()
	b.SignIn(t, a.ID)
	b.Post(t, "/account/confirm/desk", url.Values{"region": {"77"}}).Expect(t, http.StatusSeeOther, "/account/confirm/desk")
	page := b.Get(t, "/account/confirm/desk")
	return page.Find(t, regexp.MustCompile(`id="desk-code">([A-Z0-9-]{9})<`))
}

func entries(t *testing.T, r *rig, accountID, action string) []audit.Entry {
	t.Helper()
	all, err := r.env.Activity.List(context.Background(), accountID, time.Time{}, 100)
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

// TestCitizenCode: the regions with offices, the offices of one, a code
// of the alphabet in two groups with a QR code that decodes to it, one
// live code, cancellation; a confirmed account gets none.
func TestCitizenCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t, "passes", false)
		b := r.srv.Browser()
		b.SignIn(t, a.ID)
		page := b.Get(t, "/account/confirm/desk")
		if page.Status != http.StatusOK || !page.Has("Москва (1)") || !page.Has("Московская область (1)") || page.Has("Ведомство") {
			t.Fatalf("regions: %d %s", page.Status, page.Body)
		}
		page = b.Get(t, "/account/confirm/desk?region=77")
		if !page.Has("МФЦ района Хамовники") || !page.Has("Комсомольский проспект, 28") || !page.Has("пн–вс 8:00–20:00") || page.Has("141400") {
			t.Fatalf("offices of 77: %s", page.Body)
		}
		b.Post(t, "/account/confirm/desk", url.Values{"region": {"99"}}).Expect(t, http.StatusSeeOther, "/account/confirm/desk?error=region")
		code := r.issue(t, a)
		if !regexp.MustCompile(`^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`).MatchString(code) {
			t.Fatalf("code %q", code)
		}
		page = b.Get(t, "/account/confirm/desk")
		src := page.Find(t, regexp.MustCompile(`class="qr" src="data:image/png;base64,([^"]+)"`))
		raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(src))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err != nil || res.GetText() != strings.ReplaceAll(code, "-", "") {
			t.Fatalf("QR holds %v (%v), want %s", res, err, code)
		}
		if !page.Has("Код действует до 22.12.2026.") {
			t.Errorf("no expiry 30 days on: %s", page.Body)
		}
		// A second request keeps the live code.
		if again := r.issue(t, a); again != code {
			t.Fatalf("second code %s, want the live %s", again, code)
		}
		b.Post(t, "/account/confirm/desk/cancel", url.Values{}).Expect(t, http.StatusSeeOther, "/account/confirm/desk?done=cancelled")
		if _, err := r.h.Store().Find(context.Background(), strings.ReplaceAll(code, "-", "")); err == nil {
			t.Fatal("a cancelled code is still found")
		}
		if next := r.issue(t, a); next == code {
			t.Fatal("the new code is the cancelled one")
		}
		if len(entries(t, r, a.ID, audit.ActionDeskCodeIssued)) != 2 || len(entries(t, r, a.ID, audit.ActionDeskCodeCancelled)) != 1 {
			t.Error("issuing and cancelling are not in the activity log")
		}
		// 30 days on, the code is gone.
		r.env.Clock.Advance(desk.CodeTTL)
		if _, err := r.h.Store().Live(context.Background(), a.ID); err == nil {
			t.Fatal("a code lives past 30 days")
		}
		if n, err := r.h.SweepExpired(context.Background()); err != nil || n != 1 {
			t.Fatalf("SweepExpired = %d, %v; want the one expired code", n, err)
		}
	})
}

// TestDeskConfirm: an operator finds the citizen by the code typed in
// lower case with spaces, the view is logged with the operator and office,
// confirming without the passport ticked is refused, then the account is
// confirmed with operator evidence naming the office and the citizen told.
func TestDeskConfirm(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		a := r.citizen(t, "passes", true)
		code := r.issue(t, a)
		op := r.operator(t, staff.RoleOperator)
		b := r.srv.Browser()
		b.SignIn(t, op.ID, "pwd", "otp", "mfa")
		page := b.Get(t, "/desk")
		if page.Status != http.StatusOK || !page.Has("Поиск заявителя") || page.Header.Get("Permissions-Policy") != "camera=(self), microphone=(), geolocation=()" {
			t.Fatalf("desk: %d %v %s", page.Status, page.Header, page.Body)
		}
		b.Post(t, "/desk/find", url.Values{"by": {"code"}, "code": {"ABCD-EFGO"}}).ExpectField(t, http.StatusUnprocessableEntity, "code", "Код — 8 символов")
		typed := strings.ToLower(code[:2] + " " + code[2:])
		find := b.Post(t, "/desk/find", url.Values{"by": {"code"}, "code": {typed}, "org": {r.office.Code}})
		want := "/desk/citizen/" + a.ID + "?org=" + r.office.Code
		find.Expect(t, http.StatusSeeOther, want)
		page = b.Get(t, want)
		for _, s := range []string{"Иванов Иван Иванович", "15.03.1985", "4505 123456", "02.04.2005", "ОВД района Хамовники г. Москвы", "772-093", "112-233-445 95"} {
			if !page.Has(s) {
				t.Errorf("the citizen's page lacks %q", s)
			}
		}
		views := entries(t, r, a.ID, audit.ActionDeskViewed)
		if len(views) != 1 || views[0].Actor != (audit.Actor{Kind: audit.ActorOperator, ID: r.office.Code + "/" + op.ID}) || views[0].Detail["office"] != r.office.Code {
			t.Fatalf("views logged: %+v", views)
		}
		confirm := "/desk/citizen/" + a.ID + "/confirm"
		b.Post(t, confirm, url.Values{"org": {r.office.Code}, "doc_snils": {"on"}}).ExpectField(t, http.StatusUnprocessableEntity, "doc_passport", "Отметьте")
		b.Post(t, confirm, url.Values{"org": {r.office.Code}, "doc_passport": {"on"}, "doc_snils": {"on"}}).
			Expect(t, http.StatusSeeOther, "/desk/citizen/"+a.ID+"?org="+r.office.Code+"&done=confirmed")
		got, _ := r.env.Accounts.Get(ctx, a.ID)
		if got.Level != assurance.Confirmed {
			t.Fatalf("level %s", got.Level)
		}
		evs, _ := r.verifier.Evidence(ctx, a.ID)
		var e assurance.Evidence
		for _, x := range evs {
			if x.Method == assurance.MethodOperator {
				e = x
			}
		}
		if e.Method != assurance.MethodOperator || e.Verifier.ID != r.office.Code+"/"+op.ID || e.Document.Type != "passport" ||
			e.Document.Number != "4505 123456" || e.Document.Issuer != "ОВД района Хамовники г. Москвы" || e.Level != assurance.Confirmed ||
			e.Values["_verifier_organization"] != r.office.NameRU || slices.Contains(e.Claims, "_verifier_organization") || !slices.Contains(e.Claims, "snils") {
			t.Fatalf("evidence %+v", e)
		}
		if n := r.notes.of(a.ID); len(n) == 0 || n[len(n)-1]["kind"] != notice.KindNoticeDeskConfirmed || n[len(n)-1]["office"] != r.office.NameRU {
			t.Fatalf("notices %v", n)
		}
		if _, err := r.h.Store().Live(ctx, a.ID); err == nil {
			t.Error("the code lives on after the confirmation")
		}
		if c := entries(t, r, a.ID, audit.ActionDeskConfirmed); len(c) != 1 || c[0].Actor.Kind != audit.ActorOperator || c[0].Detail["operation"] != e.ID {
			t.Errorf("desk.confirmed entries %+v", c)
		}
		ops, _ := r.h.Store().Operations(ctx, r.office.Code, time.Time{}, r.env.Clock.Now().Add(time.Hour))
		i := slices.IndexFunc(ops, func(o desk.Operation) bool { return o.Action == desk.ActionConfirmed })
		// The view, the page shown again with the unticked passport (a view
		// too), the confirmation.
		if len(ops) != 3 || i < 0 || ops[i].ID != e.ID || ops[i].Documents != "passport,snils" || ops[i].OperatorID != op.ID {
			t.Errorf("operations %+v", ops)
		}
		// Confirmed: the page offers nothing more, a second confirmation
		// is refused.
		b.Post(t, confirm, url.Values{"org": {r.office.Code}, "doc_passport": {"on"}}).ExpectAlert(t, http.StatusConflict, "Это действие сейчас недоступно")
	})
}

// TestDeskRules: an operator cannot open or confirm their own account; a
// session without a second factor is stopped; a revoked operator loses
// the desk at the next request; an unverified account is not confirmed
// before the registries' check; find by SNILS and birth date; a refusal
// reaches the citizen; a correction starts a check.
func TestDeskRules(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		op := r.operator(t, staff.RoleOperator)
		b := r.srv.Browser()
		b.SignIn(t, op.ID, "pwd", "otp", "mfa")
		own := b.Get(t, "/desk/citizen/"+op.ID)
		if own.Status != http.StatusForbidden || own.Header.Get("X-Gosid-Denied") != "own" || own.Has("Операторова Ольга") {
			t.Fatalf("own account: %d %s", own.Status, own.Body)
		}
		b.Post(t, "/desk/citizen/"+op.ID+"/confirm", url.Values{"doc_passport": {"on"}}).Expect(t, http.StatusForbidden, "")
		if len(entries(t, r, op.ID, audit.ActionDeskViewed)) != 0 {
			t.Error("the operator's own account was shown")
		}
		weak := r.srv.Browser()
		weak.SignIn(t, op.ID, "pwd")
		if p := weak.Get(t, "/desk"); p.Status != http.StatusForbidden || p.Header.Get("X-Gosid-Denied") != staff.DeniedMFA {
			t.Fatalf("password-only session: %d %v", p.Status, p.Header)
		}

		// Unverified data: the check first.
		a := r.citizen(t, "passes", false)
		page := b.Get(t, "/desk/citizen/"+a.ID)
		if !page.Has("ещё не подтверждены реестрами") || page.Has(`action="/desk/citizen/`+a.ID+`/confirm"`) {
			t.Fatalf("unverified: %s", page.Body)
		}
		b.Post(t, "/desk/citizen/"+a.ID+"/confirm", url.Values{"doc_passport": {"on"}}).ExpectAlert(t, http.StatusConflict, "Это действие")
		// A correction from the original: the issuer, then a check.
		b.Post(t, "/desk/citizen/"+a.ID+"/correct", url.Values{"division_code": {"77"}}).ExpectField(t, http.StatusUnprocessableEntity, "division_code", "")
		b.Post(t, "/desk/citizen/"+a.ID+"/correct", url.Values{"passport_issuer": {"ОВД района Хамовники г. Москвы"}}).
			Expect(t, http.StatusSeeOther, "/desk/citizen/"+a.ID+"?org="+r.office.Code+"&done=corrected")
		if c, err := r.checks.Latest(ctx, a.ID); err != nil || c.Status != check.Pending {
			t.Fatalf("no check started: %v %v", c, err)
		}
		if page := b.Get(t, "/desk/citizen/"+a.ID); !page.Has("Данные проверяются в реестрах") {
			t.Fatalf("pending: %s", page.Body)
		}
		r.runCheck(t, a.ID)
		if page := b.Get(t, "/desk/citizen/"+a.ID); !page.Has(`action="/desk/citizen/` + a.ID + `/confirm"`) {
			t.Fatalf("after the check: %s", page.Body)
		}
		// Find by SNILS and birth date (no code).
		b.Post(t, "/desk/find", url.Values{"by": {"snils"}, "snils": {"11223344595"}, "birthdate": {"16.03.1985"}}).ExpectAlert(t, http.StatusNotFound, "Учётная запись с таким")
		b.Post(t, "/desk/find", url.Values{"by": {"snils"}, "snils": {"112-233-445 95"}, "birthdate": {"15.03.1985"}}).
			Expect(t, http.StatusSeeOther, "/desk/citizen/"+a.ID+"?org="+r.office.Code)
		if page := b.Get(t, "/desk/citizen/"+a.ID); !page.Has("/desk/access-code?account=" + a.ID) {
			t.Error("no temporary access code link")
		}
		// Refusal: other needs a note; the citizen is told and sees it.
		refuse := "/desk/citizen/" + a.ID + "/refuse"
		b.Post(t, refuse, url.Values{"reason": {"other"}}).ExpectField(t, http.StatusUnprocessableEntity, "note", "Опишите")
		b.Post(t, refuse, url.Values{"reason": {"mismatch"}, "note": {"Фамилия в паспорте другая"}}).Expect(t, http.StatusSeeOther,
			"/desk/citizen/"+a.ID+"?org="+r.office.Code+"&done=refused")
		n := r.notes.of(a.ID)
		if last := n[len(n)-1]; last["kind"] != notice.KindNoticeDeskRefused || last["reason"] != "данные не совпадают с документами: Фамилия в паспорте другая" {
			t.Fatalf("refusal notice %v", last)
		}
		cb := r.srv.Browser()
		cb.SignIn(t, a.ID)
		if p := cb.Get(t, "/account/confirm/desk"); !p.Has("данные не совпадают с документами") || !p.Has("Фамилия в паспорте другая") || !p.Has("МФЦ района Хамовники") {
			t.Fatalf("the citizen does not see the refusal: %s", p.Body)
		}
		if w, err := r.h.Ways(ctx, a, "ru"); err != nil || !strings.Contains(w[0].Status, "В подтверждении отказано") {
			t.Fatalf("ways %v %v", w, err)
		}

		// Revoked: the open session loses the desk at its next request.
		if err := r.staff.Revoke(ctx, op.ID, staff.RoleOperator, r.office.Code, audit.Actor{Kind: audit.ActorAdmin, ID: "test"}); err != nil {
			t.Fatal(err)
		}
		if p := b.Get(t, "/desk"); p.Status != http.StatusForbidden || p.Header.Get("X-Gosid-Denied") != staff.DeniedRole {
			t.Fatalf("revoked: %d", p.Status)
		}
	})
}

// TestReports: a supervisor sees the office's operations per operator and
// day and downloads them as CSV for Excel; an operator does not.
func TestReports(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		a := r.citizen(t, "passes", true)
		op := r.operator(t, staff.RoleOperator)
		sup := r.operator(t, staff.RoleSupervisor)
		b := r.srv.Browser()
		b.SignIn(t, op.ID, "pwd", "otp", "mfa")
		b.Get(t, "/desk/citizen/"+a.ID)
		b.Get(t, "/desk/citizen/"+a.ID)
		b.Post(t, "/desk/citizen/"+a.ID+"/refuse", url.Values{"reason": {"no_documents"}})
		// A temporary access code issued (verification/access records it
		// among the office's operations).
		codes := access.NewStore(db, r.env.Activity, r.env.Crypto, r.env.Clock.Now)
		codes.Reports = r.h.Store()
		if _, err := codes.Issue(ctx, a.ID, op.ID, staff.Member{AccountID: op.ID}.Actor(r.office), r.office.Code); err != nil {
			t.Fatal(err)
		}
		r.env.Clock.Advance(24 * time.Hour)
		// A day on, the idle staff session is over: sign in again.
		b = r.srv.Browser()
		b.SignIn(t, op.ID, "pwd", "otp", "mfa")
		b.Get(t, "/desk/citizen/"+a.ID)
		b.Post(t, "/desk/citizen/"+a.ID+"/confirm", url.Values{"doc_passport": {"on"}})
		if p := b.Get(t, "/desk/reports"); p.Status != http.StatusForbidden {
			t.Fatalf("operator's reports: %d", p.Status)
		}
		s := r.srv.Browser()
		s.SignIn(t, sup.ID, "pwd", "otp", "mfa")
		p := s.Get(t, "/desk/reports?from=22.11.2026&to=23.11.2026")
		if p.Status != http.StatusOK || !p.Has("Операторова Ольга") {
			t.Fatalf("reports: %d %s", p.Status, p.Body)
		}
		csv := s.Get(t, "/desk/reports.csv?from=22.11.2026&to=23.11.2026")
		want := "\uFEFFДата;Офис;Оператор;Подтверждения;Отказы;Просмотры данных;Исправления паспорта;Проверки в реестрах;Коды доступа\r\n" +
			"22.11.2026;mfc-77-001;Операторова Ольга;0;1;2;0;0;1\r\n" +
			"23.11.2026;mfc-77-001;Операторова Ольга;1;0;1;0;0;0\r\n"
		if csv.Body != want || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV %q, want %q", csv.Body, want)
		}
		if p := s.Get(t, "/desk/reports?from=01.01.2020&to=01.01.2026"); !p.Has("не больше 366 дней") {
			t.Error("a range over a year is accepted")
		}
	})
}

// TestNormalize: case and separators do not matter, ambiguous characters
// are not guessed.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"abcd-efgh": "ABCDEFGH", " AB CD\tEF GH ": "ABCDEFGH", "ABCD—EFGH": "ABCDEFGH",
		"ABCD-EFG0": "", "ABCD-EFGI": "", "ABCDEFG": "", "ABCDEFGHJ": "", "АВСD-EFGH": ""} {
		if got := desk.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOneLiveCode: two requests racing for a code (two replicas) end with
// one live code; the loser is told ErrLive.
func TestOneLiveCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.citizen(t, "passes", false)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = r.h.Store().Issue(context.Background(), a.ID, "77") })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, desk.ErrLive) && !sqldb.IsRetryable(err):
				t.Errorf("racing Issue: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d codes issued at once, want 1 (%v)", ok, errs)
		}
	})
}
