package profile

import (
	"context"
	"embed"
	"errors"
	"github.com/gosid/gosid/idp/codestep"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/idp/web"
)

//go:embed templates/*.html
var pages embed.FS

// Accounts is what the pages need of the account store.
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
	UpdateDocuments(ctx context.Context, id string, d account.Documents) error
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
	// Security are the two-factor settings' dependencies.
	Security SecurityDeps
	// Centre are the sessions and data-sharing pages' dependencies.
	Centre CentreDeps
	// Password is the password page's.
	Password PasswordDeps
	// Now is the clock; dates are judged in Moscow time.
	Now func() time.Time
}

// Handler serves the pages.
type Handler struct {
	Deps
	render *web.Renderer
	msk    *time.Location
}

// New parses the pages.
func New(d Deps) (*Handler, error) {
	r, err := web.NewRenderer(pages, web.Merge(catalog, securityCatalog, codestep.Catalog), d.Log, "account", "details", "security", "sessions", "apps", "password")
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
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
	mux.HandleFunc("GET /account/security", h.showSecurity)
	mux.HandleFunc("POST /account/security/totp", h.startTOTP)
	mux.HandleFunc("POST /account/security/totp/confirm", h.confirmTOTP)
	mux.HandleFunc("POST /account/security/sms", h.startSMS)
	mux.HandleFunc("POST /account/security/sms/confirm", h.confirmSMS)
	mux.HandleFunc("POST /account/security/send", h.sendConfirmation)
	mux.HandleFunc("POST /account/security/disable", h.disableMFA)
	mux.HandleFunc("POST /account/security/backup", h.renewBackup)
	mux.HandleFunc("GET /account/password", h.showPassword)
	mux.HandleFunc("POST /account/password", h.submitPassword)
	mux.HandleFunc("GET /account/sessions", h.showSessions)
	mux.HandleFunc("POST /account/sessions/end", h.endSessions)
	mux.HandleFunc("GET /account/apps", h.showApps)
	mux.HandleFunc("POST /account/apps/revoke", h.revokeApp)
}

// signedIn returns the citizen's account, or sends the browser to sign in.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*account.Account, bool) {
	s, err := h.Sessions.Current(r)
	if err == nil {
		a, err := h.Accounts.Get(r.Context(), s.AccountID)
		if err == nil {
			return a, true
		}
		h.Log.ErrorContext(r.Context(), "account of session", "err", err)
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return nil, false
}

type accountView struct {
	web.Page
	Name        string
	Level       string
	Phone       string
	PhoneOK     bool
	Email       string
	EmailOK     bool
	BirthDate   string
	SNILS       string
	INN         string
	Passport    string
	HasDocument bool
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := accountView{Page: h.render.NewPage(r, "acc.title"), Name: a.Name.Full()}
	v.SignedIn = true
	v.Level = v.L.T("acc.level." + string(a.Level))
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
	if len(a.INN) > 4 {
		v.INN = "********" + a.INN[len(a.INN)-4:]
	}
	if a.Passport != nil {
		v.Passport = a.Passport.Series[:2] + " ** ****" + a.Passport.Number[4:]
	}
	v.HasDocument = v.SNILS != "" || v.Passport != ""
	h.render.Render(w, r, http.StatusOK, "account", v)
}

type detailsView struct {
	web.Page
	Welcome bool
}

func (h *Handler) showDetails(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.signedIn(w, r); !ok {
		return
	}
	v := detailsView{Page: h.render.NewPage(r, "acc.details.title"), Welcome: r.URL.Query().Get("welcome") == "1"}
	v.SignedIn = true
	if v.Welcome {
		v.Notice = v.L.T("acc.details.welcome")
	}
	h.render.Render(w, r, http.StatusOK, "details", v)
}

// detailFields are the form's fields.
var detailFields = []string{"birthdate", "gender", "snils", "inn", "passport_series", "passport_number", "passport_issue_date", "passport_issuer", "division_code"}

func (h *Handler) submitDetails(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := detailsView{Page: h.render.NewPage(r, "acc.details.title")}
	v.SignedIn = true
	f := web.NewForm(r, detailFields...)
	v.Form = f
	d, errs := h.parseDetails(f, a)
	for _, fe := range errs {
		f.Fail(fe.Field, fe.Message(v.L.Lang))
	}
	if !f.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "details", v)
		return
	}
	err := h.Accounts.UpdateDocuments(r.Context(), a.ID, d)
	if errors.Is(err, account.ErrTaken) {
		f.Fail("snils", v.L.T("acc.err.snils_taken"))
		h.render.Render(w, r, http.StatusConflict, "details", v)
		return
	}
	if err != nil {
		h.Log.ErrorContext(r.Context(), "update documents", "account", a, "err", err)
		v.Error = v.L.T("acc.err.internal")
		h.render.Render(w, r, http.StatusInternalServerError, "details", v)
		return
	}
	web.Redirect(w, r, "/account")
}

// parseDetails validates every filled field; empty fields are left as
// they are. A passport is all or nothing.
func (h *Handler) parseDetails(f *web.Form, a *account.Account) (account.Documents, validate.Errors) {
	var d account.Documents
	var errs validate.Errors
	now := h.Now().In(h.msk)
	var err error
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
