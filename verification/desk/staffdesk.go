package desk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/verification/check"
)

// The desk, for operators and supervisors of an office (staff.Gate):
//
//	GET  /desk                        find a citizen: by code (typed or scanned), by SNILS + birth date
//	POST /desk/find                   → /desk/citizen/{id}, or the search again with the reason
//	GET  /desk/citizen/{id}           the citizen's data unmasked (each view logged), the documents checked,
//	                                  confirm, refuse, correct a passport field, start a registry check
//	POST /desk/citizen/{id}/confirm   → confirmed (evidence: operator, document passport)
//	POST /desk/citizen/{id}/refuse    reason + note; the citizen is told
//	POST /desk/citizen/{id}/correct   a passport field from the original; a registry check starts
//	POST /desk/citizen/{id}/check     a registry check of the data as they are
//	GET  /desk/reports[.csv]          supervisors: the office's operations per operator and day
//
// Every page names its office with ?org= (a form field on posts) when the
// member works at several; the first office otherwise.

// MaxNote bounds a refusal's free text, in characters.
const MaxNote = 500

// office is the office a request acts for: the one named by org among
// those where m is operator or supervisor, else the first of them.
func office(m staff.Member, org string) (staff.Org, bool) {
	var all []staff.Org
	for _, g := range m.Grants {
		if (g.Role == staff.RoleOperator || g.Role == staff.RoleSupervisor) && g.Org.Kind.Office() &&
			!slices.ContainsFunc(all, func(o staff.Org) bool { return o.Code == g.Org.Code }) {
			all = append(all, g.Org)
		}
	}
	if len(all) == 0 {
		return staff.Org{}, false
	}
	for _, o := range all {
		if o.Code == org {
			return o, true
		}
	}
	return all[0], org == ""
}

type deskPage struct {
	webui.Page
	Org        staff.Org
	OrgName    string
	Offices    []staff.Org
	Supervisor bool
}

func (h *Handler) deskPage(r *http.Request, title string, m staff.Member, o staff.Org) deskPage {
	p := deskPage{Page: h.desk.NewPage(r, title), Org: o}
	p.SignedIn = true
	p.OrgName = o.Name(p.L.Lang)
	for _, g := range m.Grants {
		if g.Org.Kind.Office() && !slices.ContainsFunc(p.Offices, func(x staff.Org) bool { return x.Code == g.Org.Code }) {
			p.Offices = append(p.Offices, g.Org)
		}
		if g.Role == staff.RoleSupervisor && g.Org.Code == o.Code {
			p.Supervisor = true
		}
	}
	return p
}

// member returns the staff member and the office of a request that passed
// the gate.
func (h *Handler) member(w http.ResponseWriter, r *http.Request) (staff.Member, staff.Org, bool) {
	m, ok := staff.FromContext(r.Context())
	if !ok {
		webui.ErrorPage(w, r, http.StatusForbidden)
		return m, staff.Org{}, false
	}
	org := r.URL.Query().Get("org")
	if r.Method == http.MethodPost {
		org = r.PostFormValue("org")
	}
	o, ok := office(m, org)
	if !ok {
		webui.ErrorPage(w, r, http.StatusForbidden)
		return m, o, false
	}
	return m, o, true
}

// scanPermissions lets the search page use the camera (the QR scanner),
// which every other page is denied.
const scanPermissions = "camera=(self), microphone=(), geolocation=()"

type searchView struct {
	deskPage
	Kind string
}

func (h *Handler) showSearch(w http.ResponseWriter, r *http.Request) {
	m, o, ok := h.member(w, r)
	if !ok {
		return
	}
	v := searchView{deskPage: h.deskPage(r, "dk.desk.title", m, o)}
	w.Header().Set("Permissions-Policy", scanPermissions)
	h.desk.Render(w, r, http.StatusOK, "search", v)
}

func (h *Handler) find(w http.ResponseWriter, r *http.Request) {
	m, o, ok := h.member(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v := searchView{deskPage: h.deskPage(r, "dk.desk.title", m, o), Kind: r.PostFormValue("by")}
	w.Header().Set("Permissions-Policy", scanPermissions)
	var id string
	switch v.Kind {
	case "snils":
		v.Form = webui.NewForm(r, "snils", "birthdate")
		snils, err := validate.SNILS(v.Form.Get("snils"))
		if err != nil {
			v.Form.Fail("snils", fieldMessage(err, v.L.Lang))
		}
		birth, err := validate.Date(v.Form.Get("birthdate"), true)
		if err != nil {
			v.Form.Fail("birthdate", fieldMessage(err, v.L.Lang))
		}
		if !v.Form.OK() {
			h.desk.Render(w, r, http.StatusUnprocessableEntity, "search", v)
			return
		}
		a, err := h.d.Accounts.FindByLogin(ctx, account.SNILS, snils)
		switch {
		case err == nil && a.BirthDate.Format(time.DateOnly) == birth.Format(time.DateOnly):
			id = a.ID
		case err == nil || errors.Is(err, sqldb.ErrNotFound):
			v.Error = v.L.T("dk.err.nosnils")
		default:
			h.fail(w, r, "find by SNILS", err)
			return
		}
	default:
		v.Kind = "code"
		v.Form = webui.NewForm(r, "code")
		code := Normalize(v.Form.Get("code"))
		if code == "" {
			v.Form.Fail("code", v.L.T("dk.err.codeformat"))
			h.desk.Render(w, r, http.StatusUnprocessableEntity, "search", v)
			return
		}
		c, err := h.store.Find(ctx, code)
		switch {
		case err == nil:
			id = c.AccountID
		case errors.Is(err, sqldb.ErrNotFound):
			v.Error = v.L.T("dk.err.nocode")
		default:
			h.fail(w, r, "find by code", err)
			return
		}
	}
	if id == "" {
		h.desk.Render(w, r, http.StatusNotFound, "search", v)
		return
	}
	webui.Redirect(w, r, citizenURL(id, o.Code, ""))
}

func citizenURL(id, org, done string) string {
	u := "/desk/citizen/" + url.PathEscape(id) + "?org=" + url.QueryEscape(org)
	if done != "" {
		u += "&done=" + url.QueryEscape(done)
	}
	return u
}

func fieldMessage(err error, lang string) string {
	var fe *validate.FieldError
	if errors.As(err, &fe) {
		return fe.Message(lang)
	}
	if lang == "en" {
		return "Check the value"
	}
	return "Проверьте значение"
}

type citizenView struct {
	deskPage
	ID                                                  string
	Name, BirthDate, Gender, SNILS, Level, LevelID      string
	Series, Number, IssueDate, Issuer, Division         string
	HasPassport                                         bool
	Code, CodeExpires                                   string
	Check, CheckStatus                                  string
	CanConfirm, Confirmed, Pending, CanCheck, Corrected bool
	Why                                                 string
	Reasons                                             []reasonView
	Done                                                string
}

type reasonView struct{ ID, Text string }

// target loads the citizen of the request's path, refusing the member's
// own account.
func (h *Handler) target(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org) (*account.Account, bool) {
	id := r.PathValue("id")
	if id == m.AccountID {
		v := h.deskPage(r, "dk.own.title", m, o)
		v.Error = v.L.T("dk.own")
		w.Header().Set("X-Gosid-Denied", "own")
		h.desk.Render(w, r, http.StatusForbidden, "refused", v)
		return nil, false
	}
	a, err := h.d.Accounts.Get(r.Context(), id)
	if errors.Is(err, sqldb.ErrNotFound) {
		webui.ErrorPage(w, r, http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		h.fail(w, r, "desk citizen", err)
		return nil, false
	}
	return a, true
}

// onCitizen serves fn with the staff member, the office and the citizen
// of a request to /desk/citizen/{id}…, never the member's own account.
func (h *Handler) onCitizen(fn func(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, o, ok := h.member(w, r)
		if !ok {
			return
		}
		if a, ok := h.target(w, r, m, o); ok {
			fn(w, r, m, o, a)
		}
	}
}

func (h *Handler) showCitizen(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account) {
	ctx := r.Context()
	// The view is logged before anything is shown: no unmasked data
	// without its entry in the citizen's activity log.
	err := h.operation(ctx, r, m, o, a, &Operation{Action: ActionViewed}, audit.ActionDeskViewed, nil, nil)
	if err != nil {
		h.fail(w, r, "log a desk view", err)
		return
	}
	v, err := h.citizenView(r, m, o, a)
	if err != nil {
		h.fail(w, r, "desk citizen view", err)
		return
	}
	h.desk.Render(w, r, http.StatusOK, "citizen", v)
}

func (h *Handler) citizenView(r *http.Request, m staff.Member, o staff.Org, a *account.Account) (citizenView, error) {
	ctx := r.Context()
	v := citizenView{deskPage: h.deskPage(r, "dk.citizen.title", m, o), ID: a.ID, Name: a.Name.Full(), SNILS: a.SNILS,
		LevelID: string(a.Level)}
	v.Level = v.L.T("dk.level." + string(a.Level))
	if !a.BirthDate.IsZero() {
		v.BirthDate = a.BirthDate.Format("02.01.2006")
	}
	if a.Gender != "" {
		v.Gender = v.L.T("dk.gender." + a.Gender)
	}
	if p := a.Passport; p != nil {
		v.HasPassport = true
		v.Series, v.Number, v.Issuer, v.Division = p.Series, p.Number, p.Issuer, p.DivisionCode
		if !p.IssueDate.IsZero() {
			v.IssueDate = p.IssueDate.Format("02.01.2006")
		}
	}
	if c, err := h.store.Live(ctx, a.ID); err == nil {
		v.Code, v.CodeExpires = Groups(c.Code), c.ExpiresAt.In(h.msk).Format("02.01.2006")
	} else if !errors.Is(err, sqldb.ErrNotFound) {
		return v, err
	}
	c, err := h.d.Checks.Latest(ctx, a.ID)
	switch {
	case err == nil && c.Status != check.Superseded:
		v.CheckStatus, v.Check = c.Status, v.L.T("dk.check."+c.Status)
	case err != nil && !errors.Is(err, sqldb.ErrNotFound):
		return v, err
	}
	v.Pending = !a.Pending.Empty() || v.CheckStatus == check.Pending
	v.Confirmed = a.Level.AtLeast(assurance.Confirmed)
	switch {
	case v.Confirmed:
		v.Why = v.L.T("dk.why.confirmed")
	case v.Pending:
		v.Why = v.L.T("dk.why.pending")
	case !a.Verified():
		v.Why = v.L.T("dk.why.unverified")
		v.CanCheck = v.HasPassport && a.SNILS != "" && !a.BirthDate.IsZero()
	case !v.HasPassport:
		v.Why = v.L.T("dk.why.nopassport")
	default:
		v.CanConfirm = true
	}
	for _, id := range Reasons {
		v.Reasons = append(v.Reasons, reasonView{ID: id, Text: v.L.T("dk.reason." + id)})
	}
	if d := r.URL.Query().Get("done"); d == "confirmed" || d == "refused" || d == "corrected" || d == "checked" {
		v.Notice = v.L.T("dk.done." + d)
	}
	return v, nil
}

// operation records op (its office, operator and account filled in) and
// the citizen's activity-log entry action with the member for o as actor,
// in one transaction with apply (when not nil).
func (h *Handler) operation(ctx context.Context, r *http.Request, m staff.Member, o staff.Org, a *account.Account, op *Operation,
	action string, detail map[string]string, apply func(tx *sqldb.Tx, accounts *account.Store) error) error {
	op.OrgCode, op.OperatorID, op.AccountID = o.Code, m.AccountID, a.ID
	if detail == nil {
		detail = map[string]string{}
	}
	detail["office"], detail["operation"] = o.Code, op.ID
	e := audit.Entry{AccountID: a.ID, Actor: m.Actor(o), Action: action, Detail: detail, IP: httpx.ClientIP(r)}
	return h.d.Activity.ChangeTx(ctx, e, func(tx *sqldb.Tx, accounts *account.Store) error {
		if op.ID == "" {
			op.ID = NewID()
			e.Detail["operation"] = op.ID
		}
		if apply != nil {
			if err := apply(tx, accounts); err != nil {
				return err
			}
		}
		return h.store.Record(ctx, tx, op)
	})
}

// rerender shows the citizen's page again after a refused action, with
// the form's values and field errors and msg (a catalog key, "" none)
// above it: a view like any other, logged first.
func (h *Handler) rerender(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account, status int, form *webui.Form, msg string) {
	if err := h.operation(r.Context(), r, m, o, a, &Operation{Action: ActionViewed}, audit.ActionDeskViewed, nil, nil); err != nil {
		h.fail(w, r, "log a desk view", err)
		return
	}
	v, err := h.citizenView(r, m, o, a)
	if err != nil {
		h.fail(w, r, "desk citizen view", err)
		return
	}
	v.Form = form
	if msg != "" {
		v.Error = v.L.T(msg)
	}
	h.desk.Render(w, r, status, "citizen", v)
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account) {
	ctx := r.Context()
	f := webui.NewForm(r, "doc_passport", "doc_snils")
	v, err := h.citizenView(r, m, o, a)
	if err != nil {
		h.fail(w, r, "desk citizen view", err)
		return
	}
	if !v.CanConfirm {
		h.rerender(w, r, m, o, a, http.StatusConflict, f, "dk.err.cannot")
		return
	}
	if f.Get("doc_passport") != "on" {
		f.Fail("doc_passport", v.L.T("dk.err.passport"))
		h.rerender(w, r, m, o, a, http.StatusUnprocessableEntity, f, "")
		return
	}
	docs := []string{"passport"}
	if f.Get("doc_snils") == "on" {
		docs = append(docs, "snils")
	}
	p := a.Passport
	idDoc := p.Series + " " + p.Number
	values := map[string]string{"family_name": a.Name.Family, "given_name": a.Name.Given, "birthdate": a.BirthDate.Format(time.DateOnly), "id_doc": idDoc}
	if a.Name.Middle != "" {
		values["middle_name"] = a.Name.Middle
	}
	if slices.Contains(docs, "snils") && a.SNILSVerified() {
		values["snils"] = a.SNILS
	}
	claims := make([]string, 0, len(values))
	for k := range values {
		claims = append(claims, k)
	}
	slices.Sort(claims)
	// The office's name travels with the evidence for verified_claims
	// (verifier.organization); it is not a claim.
	values[oidc.EvidenceOrganization] = o.Name("ru")
	op := &Operation{ID: assurance.NewID(), Action: ActionConfirmed, Documents: strings.Join(docs, ",")}
	actor := m.Actor(o)
	_, err = h.d.Verifier.Verify(ctx, assurance.Verification{
		Evidence: assurance.Evidence{ID: op.ID, AccountID: a.ID, Method: assurance.MethodOperator,
			Verifier: assurance.Verifier{Kind: "operator", ID: o.Code + "/" + m.AccountID}, Claims: claims, Values: values,
			Document: assurance.Document{Type: "passport", Number: idDoc, Issuer: p.Issuer, IssuedAt: p.IssueDate},
			Level:    assurance.Confirmed, VerifiedAt: h.d.Now()},
		Apply: func(ctx context.Context, tx *sqldb.Tx) error {
			// The account as the transaction sees it: still below
			// confirmed, its data unchanged since the page was shown.
			cur, err := h.d.Accounts.With(tx).Get(ctx, a.ID)
			if err != nil {
				return err
			}
			if cur.Level.AtLeast(assurance.Confirmed) || !cur.Pending.Empty() || cur.Passport == nil ||
				cur.Passport.Series+" "+cur.Passport.Number != idDoc {
				return errChanged
			}
			op.OrgCode, op.OperatorID, op.AccountID = o.Code, m.AccountID, a.ID
			if err := h.store.Record(ctx, tx, op); err != nil {
				return err
			}
			if err := h.store.close(ctx, tx, a.ID, StatusConfirmed); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
				return err
			}
			_, err = h.d.Activity.Log().Append(ctx, tx, audit.Entry{AccountID: a.ID, Actor: actor, Action: audit.ActionDeskConfirmed,
				Detail: map[string]string{"office": o.Code, "operation": op.ID, "documents": op.Documents}, IP: httpx.ClientIP(r)})
			return err
		},
		Actor: actor, IP: httpx.ClientIP(r),
	})
	if errors.Is(err, errChanged) {
		h.rerender(w, r, m, o, a, http.StatusConflict, f, "dk.err.changed")
		return
	}
	if err != nil {
		h.fail(w, r, "desk confirm", err)
		return
	}
	// The notice goes in the language of the citizen's latest sign-in.
	h.d.Notifier.Account(ctx, a, notice.KindNoticeDeskConfirmed, a.Lang, map[string]string{"office": o.Name(a.Lang)})
	webui.Redirect(w, r, citizenURL(a.ID, o.Code, "confirmed"))
}

var errChanged = errors.New("desk: the account changed meanwhile")

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account) {
	ctx := r.Context()
	f := webui.NewForm(r, "reason", "note")
	l := h.desk.Localizer(r)
	reason, note := f.Get("reason"), strings.TrimSpace(f.Get("note"))
	switch {
	case !slices.Contains(Reasons, reason):
		f.Fail("reason", l.T("dk.err.reason"))
	case reason == "other" && note == "":
		f.Fail("note", l.T("dk.err.note"))
	}
	if utf8.RuneCountInString(note) > MaxNote || strings.ContainsRune(note, 0) {
		f.Fail("note", l.T("dk.err.notelong", MaxNote))
	}
	if !f.OK() {
		h.rerender(w, r, m, o, a, http.StatusUnprocessableEntity, f, "")
		return
	}
	op := &Operation{Action: ActionRefused, Reason: reason, Note: note}
	if err := h.operation(ctx, r, m, o, a, op, audit.ActionDeskRefused, map[string]string{"reason": reason}, nil); err != nil {
		h.fail(w, r, "desk refusal", err)
		return
	}
	text := h.citizen.Localizer(langRequest(a.Lang)).T("dk.reason." + reason)
	if note != "" {
		text += ": " + note
	}
	h.d.Notifier.Account(ctx, a, notice.KindNoticeDeskRefused, a.Lang, map[string]string{"office": o.Name(a.Lang), "reason": text})
	webui.Redirect(w, r, citizenURL(a.ID, o.Code, "refused"))
}

func (h *Handler) correct(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account) {
	ctx := r.Context()
	fields := []string{"passport_series", "passport_number", "passport_issue_date", "passport_issuer", "division_code"}
	f := webui.NewForm(r, fields...)
	lang := webui.Lang(r)
	if a.Level.AtLeast(assurance.Confirmed) || a.Passport == nil {
		h.rerender(w, r, m, o, a, http.StatusConflict, f, "dk.err.cannot")
		return
	}
	p := *a.Passport
	var changed []string
	var err error
	set := func(name string, parse func(string) error) {
		if s := strings.TrimSpace(f.Get(name)); s != "" {
			if err := parse(s); err != nil {
				f.Fail(name, fieldMessage(err, lang))
				return
			}
			changed = append(changed, name)
		}
	}
	set("passport_series", func(s string) error { p.Series, err = validate.PassportSeries(s); return err })
	set("passport_number", func(s string) error { p.Number, err = validate.PassportNumber(s); return err })
	set("passport_issue_date", func(s string) error {
		p.IssueDate, err = validate.PassportIssueDate(s, a.BirthDate, h.d.Now().In(h.msk), true)
		return err
	})
	set("passport_issuer", func(s string) error { p.Issuer, err = validate.PassportIssuer(s); return err })
	set("division_code", func(s string) error { p.DivisionCode, err = validate.DivisionCode(s); return err })
	if !f.OK() || len(changed) == 0 {
		msg := ""
		if f.OK() {
			msg = "dk.err.nochange"
		}
		h.rerender(w, r, m, o, a, http.StatusUnprocessableEntity, f, msg)
		return
	}
	// The correction waits for the registry check (a verified account's
	// data change only when the registries confirm them); the desk
	// confirms once the check has.
	op := &Operation{Action: ActionCorrected, Note: strings.Join(changed, ",")}
	err = h.operation(ctx, r, m, o, a, op, audit.ActionDeskCorrected, map[string]string{"fields": strings.Join(changed, ",")},
		func(tx *sqldb.Tx, accounts *account.Store) error {
			if a.Verified() {
				pc := a.Pending
				if pc == nil {
					pc = &account.PersonChange{}
				}
				pc.Passport, pc.RequestedAt = &p, h.d.Now()
				if err := accounts.SetPending(ctx, a.ID, pc); err != nil {
					return err
				}
			} else if err := accounts.UpdateDocuments(ctx, a.ID, account.Documents{Passport: &p}); err != nil {
				return err
			}
			_, err := h.d.Checks.Queue(ctx, tx, a.ID)
			return err
		})
	var taken *account.TakenError
	switch {
	case errors.As(err, &taken) || errors.Is(err, account.ErrTaken):
		h.rerender(w, r, m, o, a, http.StatusConflict, f, "dk.err.taken")
		return
	case err != nil:
		h.fail(w, r, "desk correction", err)
		return
	}
	webui.Redirect(w, r, citizenURL(a.ID, o.Code, "corrected"))
}

func (h *Handler) startCheck(w http.ResponseWriter, r *http.Request, m staff.Member, o staff.Org, a *account.Account) {
	ctx := r.Context()
	queued := false
	err := h.operation(ctx, r, m, o, a, &Operation{Action: ActionChecked}, audit.ActionDeskCheckStarted, nil,
		func(tx *sqldb.Tx, _ *account.Store) error {
			var err error
			if queued, err = h.d.Checks.Queue(ctx, tx, a.ID); err == nil && !queued {
				return errIncomplete
			}
			return err
		})
	if errors.Is(err, errIncomplete) {
		h.rerender(w, r, m, o, a, http.StatusConflict, nil, "dk.err.incomplete")
		return
	}
	if err != nil {
		h.fail(w, r, "desk check", err)
		return
	}
	webui.Redirect(w, r, citizenURL(a.ID, o.Code, "checked"))
}

var errIncomplete = errors.New("desk: the data are incomplete")
