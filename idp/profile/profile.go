package profile

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/codestep"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates/*.html
var pages embed.FS

// The backup codes page's print button and print stylesheet.
var (
	//go:embed static/codes.js
	codesScript []byte
	//go:embed static/codes-print.css
	codesPrintCSS []byte
)

// serveStatic serves one of the files above with its type.
func serveStatic(body []byte, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	}
}

// Accounts is what the pages need of the account store outside the
// activity log's transactions (changes go through Activity.Change).
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
}

// Sessions finds the signed-in citizen.
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
}

// Deps are the handler's dependencies.
type Deps struct {
	Accounts Accounts
	Sessions Sessions
	Log      *slog.Logger
	// Security are the two-step verification settings' dependencies.
	Security SecurityDeps
	// Centre are the sessions and data-sharing pages' dependencies.
	Centre CentreDeps
	// Password is the password page's.
	Password PasswordDeps
	// Data is the export and deletion page's.
	Data DataDeps
	// Activity is the activity log; Events the sign-in history.
	Activity Activity
	Events   Events
	// Flows and Notifier serve contact changes.
	Flows    Flows
	Notifier Notifier
	// Idle bounds the citizen's idle-timeout choice; SetIdle applies it to
	// the current session.
	Idle    IdleTimeouts
	SetIdle func(ctx context.Context, sessionID string, d time.Duration) error
	// ESignature: e-signature certificates can be bound (a trust list is
	// configured).
	ESignature bool
	// Reauth is the recent-authentication rule of sensitive changes.
	Reauth session.Reauth
	// Undo serves «Это был не я» after contact changes.
	Undo UndoDeps
	// Checks are the registry checks of the citizen's data; nil when none
	// run (verification is wired after the identity provider).
	Checks Checks
	// Now is the clock; dates are judged in Moscow time.
	Now func() time.Time
}

// Checks start and report registry checks (verification/check).
type Checks interface {
	// Queue starts a check of the account's data as tx leaves them, in
	// tx; false when the data are not complete enough to check.
	Queue(ctx context.Context, tx *sqldb.Tx, accountID string) (bool, error)
	// Status is the newest check's: "", pending, confirmed, rejected,
	// unavailable, superseded.
	Status(ctx context.Context, accountID string) (string, error)
}

// Handler serves the pages.
type Handler struct {
	Deps
	render *webui.Renderer
	msk    *time.Location
}

// New parses the pages.
func New(d Deps) (*Handler, error) {
	if d.Centre.SessionsIn == nil || d.Security.BackupIn == nil || d.Security.TOTPIn == nil {
		// Without them a change would be made without its entry.
		return nil, errors.New("profile: Centre.SessionsIn, Security.BackupIn and Security.TOTPIn are required")
	}
	r, err := webui.NewRenderer(pages, webui.Merge(catalog, securityCatalog, centreCatalog, undoCatalog, codestep.Catalog), d.Log, "account", "details", "security", "sessions", "apps", "password",
		"contact", "history", "activity", "data", "deleted", "undo")
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Data.Grace <= 0 {
		d.Data.Grace = 30 * 24 * time.Hour
	}
	if d.Undo.TTL <= 0 {
		d.Undo.TTL = DefaultUndoTTL
	}
	if d.Reauth.Now == nil {
		d.Reauth.Now = d.Now
	}
	msk := time.FixedZone("MSK", 3*3600)
	return &Handler{Deps: d, render: r, msk: msk}, nil
}

// Routes registers the routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/account", http.StatusFound) })
	mux.HandleFunc("GET /account", h.showAccount)
	mux.HandleFunc("GET /account/details", h.showDetails)
	mux.HandleFunc("POST /account/details", h.submitDetails)
	mux.HandleFunc("GET /account/security", h.onSecurity(false, h.showSecurity))
	mux.HandleFunc("POST /account/security/totp", h.onSecurity(true, h.startTOTP))
	mux.HandleFunc("POST /account/security/totp/confirm", h.onSecurity(true, h.confirmTOTP))
	mux.HandleFunc("POST /account/security/sms", h.onSecurity(true, h.startSMS))
	mux.HandleFunc("POST /account/security/sms/confirm", h.onSecurity(true, h.confirmSMS))
	mux.HandleFunc("POST /account/security/send", h.onSecurity(true, h.sendConfirmation))
	mux.HandleFunc("POST /account/security/disable", h.onSecurity(true, h.disableMFA))
	mux.HandleFunc("POST /account/security/backup", h.onSecurity(true, h.renewBackup))
	mux.HandleFunc("GET /account/security/totp", h.onSecurity(false, h.showStep(stepTOTP)))
	mux.HandleFunc("GET /account/security/sms", h.onSecurity(false, h.showStep(stepSMS)))
	mux.HandleFunc("GET /account/security/disable", h.onSecurity(false, h.showStep(stepConfirm)))
	mux.HandleFunc("GET /account/security/codes", h.onSecurity(false, h.showStep(stepCodes)))
	mux.HandleFunc("GET /account/security/codes.txt", h.onSecurity(false, h.downloadCodes))
	mux.HandleFunc("GET /account/security/totp/confirm", toStep(stepTOTP))
	mux.HandleFunc("GET /account/security/sms/confirm", toStep(stepSMS))
	mux.HandleFunc("GET /account/security/send", toStep(stepConfirm))
	mux.HandleFunc("GET /account/security/backup", toStep(stepConfirm))
	mux.HandleFunc("GET /account/security/settings", toStep(""))
	mux.HandleFunc("GET /static/codes.js", serveStatic(codesScript, "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /static/codes-print.css", serveStatic(codesPrintCSS, "text/css; charset=utf-8"))
	mux.HandleFunc("GET /account/password", h.showPassword)
	mux.HandleFunc("POST /account/password", h.submitPassword)
	mux.HandleFunc("GET /account/sessions", h.withSession(h.showSessions))
	mux.HandleFunc("POST /account/sessions/end", h.withSession(h.endSessions))
	mux.HandleFunc("GET /account/apps", h.withSession(h.showApps))
	mux.HandleFunc("POST /account/apps/revoke", h.withSession(h.revokeApp))
	mux.HandleFunc("POST /account/security/settings", h.onSecurity(false, h.saveSettings))
	mux.HandleFunc("POST /account/details/pending/cancel", h.cancelPending)
	mux.HandleFunc("GET /account/contacts/{kind}", h.showContact)
	mux.HandleFunc("POST /account/contacts/{kind}", h.submitContact)
	mux.HandleFunc("GET /account/contacts/{kind}/code", h.showContactCode)
	mux.HandleFunc("POST /account/contacts/{kind}/code", h.submitContactCode)
	mux.HandleFunc("POST /account/contacts/{kind}/resend", h.resendContactCode)
	mux.HandleFunc("GET /account/history", h.withSession(h.showHistory))
	mux.HandleFunc("GET /account/activity", h.withSession(h.showActivity))
	mux.HandleFunc("GET /account/activity.csv", h.withSession(h.downloadActivity))
	mux.HandleFunc("GET /account/data", h.showData)
	mux.HandleFunc("GET /account/export.json", h.downloadExport)
	mux.HandleFunc("POST /account/delete/start", h.startDelete)
	mux.HandleFunc("GET /account/delete/start", h.showDeleteStep)
	mux.HandleFunc("GET /account/delete", toDeleteStep)
	mux.HandleFunc("POST /account/delete", h.submitDelete)
	mux.HandleFunc("GET /account/deleted", h.showDeleted)
	mux.HandleFunc("GET /account/undo", h.showUndo)
	mux.HandleFunc("POST /account/undo", h.submitUndo)
}

// signedIn returns the citizen's account, or sends the browser to sign in.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*account.Account, bool) {
	_, a, ok := session.Gate(w, r, h.Sessions.Current, h.Accounts.Get, r.URL.RequestURI(), h.Log)
	return a, ok
}

// sensitive returns the citizen's account for a sensitive change: the
// session must be fresh (Deps.Reauth), else the browser goes to the
// re-authentication page, which returns to back, the form's page, and
// nothing changes.
func (h *Handler) sensitive(w http.ResponseWriter, r *http.Request, back string) (*account.Account, bool) {
	s, err := h.Sessions.Current(r)
	if err != nil && !session.Gone(err) {
		h.internal(w, r, "session", err)
		return nil, false
	}
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusFound)
		return nil, false
	}
	if !h.Reauth.Require(w, r, s, back) {
		return nil, false
	}
	a, err := h.Accounts.Get(r.Context(), s.AccountID)
	if err != nil {
		h.internal(w, r, "account of session", err)
		return nil, false
	}
	return a, true
}

// signedInOrFresh is sensitive(back) for a change, else signedIn.
func (h *Handler) signedInOrFresh(w http.ResponseWriter, r *http.Request, change bool, back string) (*account.Account, bool) {
	if change {
		return h.sensitive(w, r, back)
	}
	return h.signedIn(w, r)
}

type accountView struct {
	webui.Page
	Name        string
	Level       string
	LevelID     string
	LevelAbout  string
	NextSteps   []string
	Phone       string
	PhoneOK     bool
	Email       string
	EmailOK     bool
	BirthDate   string
	SNILS       string
	INN         string
	Passport    string
	HasDocument bool
	// Pending lists what waits for verification (field labels).
	Pending []string
	// ConfirmLink shows the way to the registry check's page.
	ConfirmLink bool
}

// checkStatus is the newest registry check's status as the account page
// words it: pending, rejected, unavailable or none.
func (h *Handler) checkStatus(r *http.Request, accountID string) string {
	if h.Checks == nil {
		return "none"
	}
	st, err := h.Checks.Status(r.Context(), accountID)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "registry check status", "err", err)
		return "none"
	}
	switch st {
	case "pending", "rejected", "unavailable":
		return st
	}
	return "none"
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := accountView{Page: h.page(r, "acc.title", "profile"), Name: a.Name.Full(), LevelID: string(a.Level)}
	v.Level = v.L.T("acc.level." + string(a.Level))
	v.LevelAbout = v.L.T("acc.level." + string(a.Level) + ".about")
	switch a.Level {
	case assurance.Simplified:
		if a.SNILS == "" || a.Passport == nil {
			v.NextSteps = append(v.NextSteps, v.L.T("acc.next.documents"))
		} else {
			v.NextSteps = append(v.NextSteps, v.L.T("acc.next.check."+h.checkStatus(r, a.ID)))
			v.ConfirmLink = true
		}
	case assurance.Standard:
		v.NextSteps = append(v.NextSteps, v.L.T("acc.next.confirm"))
	}
	if a.Phone.Value != "" {
		v.Phone, v.PhoneOK = validate.FormatPhone(a.Phone.Value), a.Phone.Verified()
	}
	if a.Email.Value != "" {
		v.Email, v.EmailOK = a.Email.Value, a.Email.Verified()
	}
	if !a.BirthDate.IsZero() {
		v.BirthDate = a.BirthDate.Format("02.01.2006")
	}
	if a.SNILS != "" {
		v.SNILS = validate.MaskSNILS(a.SNILS)
	}
	v.INN = validate.MaskINN(a.INN)
	if a.Passport != nil {
		v.Passport = validate.MaskPassport(a.Passport.Series, a.Passport.Number)
	}
	v.HasDocument = v.SNILS != "" || v.Passport != ""
	if p := a.Pending; !p.Empty() {
		for _, f := range pendingFields(p) {
			v.Pending = append(v.Pending, v.L.T("acc.pending."+f))
		}
	}
	switch r.URL.Query().Get("done") {
	case "contact_phone", "contact_email":
		v.Notice = v.L.T("con.done." + strings.TrimPrefix(r.URL.Query().Get("done"), "contact_"))
	case "details":
		v.Notice = savedNotice(v.L, "acc.details.saved", r.URL.Query().Get("fields"))
	case "details_unchanged":
		v.Notice = v.L.T("acc.details.unchanged")
	case "pending":
		v.Notice = savedNotice(v.L, "acc.details.pending", r.URL.Query().Get("fields"))
	case "pending_cancelled":
		v.Notice = v.L.T("acc.pending.cancelled")
	}
	h.render.Render(w, r, http.StatusOK, "account", v)
}

// pendingFields names the fields a change touches.
func pendingFields(p *account.PersonChange) []string {
	var out []string
	if p.Name != nil {
		out = append(out, "name")
	}
	if !p.BirthDate.IsZero() {
		out = append(out, "birthdate")
	}
	if p.SNILS != "" {
		out = append(out, "snils")
	}
	if p.Passport != nil {
		out = append(out, "passport")
	}
	return out
}

type detailsView struct {
	webui.Page
	Welcome  bool
	Verified bool
	// Masked: the form shows a document number in part.
	Masked bool
}

func (h *Handler) showDetails(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := detailsView{Page: h.page(r, "acc.details.title", "profile"), Welcome: r.URL.Query().Get("welcome") == "1", Verified: a.Verified()}
	v.Form = &webui.Form{Values: h.shownDetails(a), Errors: map[string]string{}}
	v.Masked = a.SNILS != "" || a.INN != "" || a.Passport != nil
	if v.Welcome {
		v.Notice = v.L.T("acc.details.welcome")
	}
	h.render.Render(w, r, http.StatusOK, "details", v)
}

// detailFields are the form's fields.
var detailFields = []string{"family_name", "given_name", "middle_name", "birthdate", "gender", "snils", "inn", "passport_series", "passport_number", "passport_issue_date", "passport_issuer", "division_code"}

func (h *Handler) submitDetails(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := detailsView{Page: h.page(r, "acc.details.title", "profile"), Verified: a.Verified(), Masked: a.SNILS != "" || a.INN != "" || a.Passport != nil}
	f := webui.NewForm(r, detailFields...)
	v.Form = f
	d, errs := h.parseDetails(h.typedDetails(f, r.PostForm, a), a)
	for _, fe := range errs {
		f.Fail(fe.Field, fe.Message(v.L.Lang))
	}
	dropUnchanged(&d, a)
	if !f.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "details", v)
		return
	}
	ctx := r.Context()
	// A verified account's name, birth date, SNILS and passport change
	// only once verified again: the change waits, and the tokens keep the
	// verified values (the account never silently loses or fakes
	// verification). Gender and INN apply at once.
	var pending *account.PersonChange
	if a.Verified() {
		pending = a.Pending
		if pending == nil {
			pending = &account.PersonChange{}
		}
		moved := false
		if d.Name != nil && *d.Name != a.Name {
			pending.Name, moved = d.Name, true
		}
		if !d.BirthDate.IsZero() && !d.BirthDate.Equal(a.BirthDate) {
			pending.BirthDate, moved = d.BirthDate, true
		}
		if d.SNILS != "" && d.SNILS != a.SNILS {
			pending.SNILS, moved = d.SNILS, true
		}
		if d.Passport != nil && (a.Passport == nil || *d.Passport != *a.Passport) {
			pending.Passport, moved = d.Passport, true
		}
		d.Name, d.BirthDate, d.SNILS, d.Passport = nil, time.Time{}, "", nil
		if moved {
			pending.RequestedAt = h.Now().UTC()
		} else {
			pending = nil
		}
	} else if a.SNILSVerified() && d.SNILS != "" {
		// A SNILS proven by evidence is not replaced by typing: another
		// value waits for verification like a verified account's data.
		if d.SNILS != a.SNILS {
			pending = a.Pending
			if pending == nil {
				pending = &account.PersonChange{}
			}
			pending.SNILS, pending.RequestedAt = d.SNILS, h.Now().UTC()
		}
		d.SNILS = ""
	}
	applied := changedFields(d)
	if len(applied) == 0 && pending == nil {
		webui.Redirect(w, r, "/account?done=details_unchanged")
		return
	}
	action, detail := audit.ActionDocumentsUpdated, map[string]string{"fields": strings.Join(applied, ",")}
	if pending != nil {
		action = audit.ActionDocumentsPending
		detail["pending"] = strings.Join(pendingFields(pending), ",")
	}
	// Data the registries check start a check with the change (the first
	// SNILS and passport, a verified account's new passport).
	checked := pending != nil || slices.ContainsFunc(applied, func(f string) bool { return f != "gender" })
	queued := false
	err := h.Activity.ChangeTx(ctx, h.entry(r, a.ID, action, detail), func(tx *sqldb.Tx, s *account.Store) error {
		if err := s.UpdateDocuments(ctx, a.ID, d); err != nil {
			return err
		}
		if pending != nil {
			if err := s.SetPending(ctx, a.ID, pending); err != nil {
				return err
			}
		}
		if h.Checks == nil || !checked {
			return nil
		}
		var err error
		queued, err = h.Checks.Queue(ctx, tx, a.ID)
		return err
	})
	if err != nil {
		h.Log.ErrorContext(ctx, "update documents", "account", a, "err", err)
		v.Error = v.L.T("acc.err.internal")
		h.render.Render(w, r, http.StatusInternalServerError, "details", v)
		return
	}
	if queued {
		webui.Redirect(w, r, "/account/confirm/check")
		return
	}
	q := url.Values{"done": {"details"}, "fields": {strings.Join(applied, ",")}}
	if pending != nil {
		q.Set("done", "pending")
	}
	webui.Redirect(w, r, "/account?"+q.Encode())
}

// changedFields names the fields d sets.
func changedFields(d account.Documents) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"name", d.Name != nil}, {"birthdate", !d.BirthDate.IsZero()}, {"gender", d.Gender != ""}, {"snils", d.SNILS != ""},
		{"inn", d.INN != ""}, {"passport", d.Passport != nil}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// cancelPending withdraws changes waiting for verification.
func (h *Handler) cancelPending(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	err := h.Activity.Change(ctx, h.entry(r, a.ID, audit.ActionDocumentsUpdated, map[string]string{"pending": "cancelled"}),
		func(s *account.Store) error { return s.SetPending(ctx, a.ID, nil) })
	if err != nil {
		h.internal(w, r, "cancel pending change", err)
		return
	}
	webui.Redirect(w, r, "/account?done=pending_cancelled")
}

// parseDetails validates every filled field of typed (typedDetails);
// empty fields are left as they are. A passport is all or nothing.
func (h *Handler) parseDetails(f *webui.Form, a *account.Account) (account.Documents, validate.Errors) {
	var d account.Documents
	var errs validate.Errors
	now := h.Now().In(h.msk)
	var err error
	if f.Get("family_name") != "" || f.Get("given_name") != "" || f.Get("middle_name") != "" {
		n := account.Name{}
		if n.Family, err = validate.FamilyName(f.Get("family_name")); err != nil {
			errs.Add(err)
		}
		if n.Given, err = validate.GivenName(f.Get("given_name")); err != nil {
			errs.Add(err)
		}
		if n.Middle, err = validate.MiddleName(f.Get("middle_name")); err != nil {
			errs.Add(err)
		}
		d.Name = &n
	}
	if s := f.Get("birthdate"); s != "" {
		if d.BirthDate, err = validate.BirthDate(s, true, now); err != nil {
			errs.Add(err)
		}
	}
	if s := f.Get("gender"); s != "" {
		if d.Gender, err = validate.Gender(s); err != nil {
			errs.Add(err)
		}
	}
	if s := f.Get("snils"); s != "" {
		if d.SNILS, err = validate.SNILS(s); err != nil {
			errs.Add(err)
		}
	}
	if s := f.Get("inn"); s != "" {
		if d.INN, err = validate.PersonINN(s); err != nil {
			errs.Add(err)
		}
	}
	passport := []string{"passport_series", "passport_number", "passport_issue_date", "passport_issuer", "division_code"}
	any := false
	for _, k := range passport {
		any = any || f.Get(k) != ""
	}
	if any {
		p := &account.Passport{}
		if p.Series, err = validate.PassportSeries(f.Get("passport_series")); err != nil {
			errs.Add(err)
		}
		if p.Number, err = validate.PassportNumber(f.Get("passport_number")); err != nil {
			errs.Add(err)
		}
		birth := d.BirthDate
		if birth.IsZero() {
			birth = a.BirthDate
		}
		if p.IssueDate, err = validate.PassportIssueDate(f.Get("passport_issue_date"), birth, now, true); err != nil {
			errs.Add(err)
		}
		if p.Issuer, err = validate.PassportIssuer(f.Get("passport_issuer")); err != nil {
			errs.Add(err)
		}
		if p.DivisionCode, err = validate.DivisionCode(f.Get("division_code")); err != nil {
			errs.Add(err)
		}
		d.Passport = p
	}
	return d, errs
}
