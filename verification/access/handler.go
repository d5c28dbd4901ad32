package access

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

var (
	//go:embed templates/*.html
	pages embed.FS
	//go:embed static/access-code.css
	styles []byte
	//go:embed static/access-code.js
	script []byte
)

const (
	flowKind = "access"
	flowTTL  = 30 * time.Minute
	purpose  = "access"
)

// Rate limits of the citizen's page, per client IP: the code's 3 tries
// guard one account; this guards trying many accounts.
var ipRule = ratelimit.Rule{Name: "access.ip", Limit: 10, Window: time.Hour}

// Accounts is what the pages need of the account store.
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
	FindByLogin(ctx context.Context, kind, value string) (*account.Account, error)
	Taken(ctx context.Context, kind, value string) (bool, error)
	AddEvent(ctx context.Context, e account.Event) error
}

// Passwords hashes passwords (password.Hasher).
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// Notifier tells a contact (notice.Notifier).
type Notifier interface {
	Contact(ctx context.Context, contactKind, to, kind, lang string, data map[string]string)
}

// Deps are the pages' dependencies.
type Deps struct {
	Store *Store
	// Gate lets only operators and supervisors to the staff page.
	Gate      *staff.Gate
	Accounts  Accounts
	Activity  *account.Activity
	Flows     *flow.Store
	Codes     *codestep.Step
	Passwords Passwords
	Policy    password.Policy
	// EndAll ends every session of the account (and tells the sites
	// signed in through them).
	EndAll func(ctx context.Context, accountID, exceptID string) (int, error)
	// Forget, optional, drops the account's remembered devices.
	Forget   func(ctx context.Context, accountID string) error
	Notifier Notifier
	Limiter  *ratelimit.Limiter
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves the staff page that issues codes and the citizen's pages
// that use them.
type Handler struct {
	Deps
	render *webui.Renderer
	code   *codestep.Pages[state]
}

// New parses the pages.
func New(d Deps) (*Handler, error) {
	r, err := webui.NewRenderer(pages, webui.Merge(catalog, codestep.Catalog), d.Log, "issue", "issued", "start", "new", "code")
	if err != nil {
		return nil, err
	}
	h := &Handler{Deps: d, render: r}
	h.code = &codestep.Pages[state]{Step: d.Codes, Flows: d.Flows, Kind: flowKind, Purpose: purpose, Render: r, Log: d.Log,
		Template: "code", Resent: "acc.code.resent",
		View: func(r *http.Request, st *state) (any, *webui.Page) {
			v := h.codePage(r, *st)
			return &v, &v.Page
		},
		Code: func(st *state) (*string, string) { return &st.Challenge, st.Phone },
		Send: func(r *http.Request, st *state) codestep.Send {
			return codestep.Send{Purpose: purpose, Channel: message.SMS, To: st.Phone, IP: httpx.ClientIP(r), Lang: webui.Lang(r), Kind: notice.KindCodeContact}
		},
		Path: PathCitizen,
		Done: func(st *state) *bool { return &st.PhoneVerified },
	}
	return h, nil
}

// Paths of the pages.
const (
	// PathStaff is the operator's page: ?account=ID (the desk links here
	// from the citizen's page).
	PathStaff = "/desk/access-code"
	// PathCitizen is where the citizen enters the code.
	PathCitizen = "/access-code"
)

// StaffURL is the operator's page for the account: the desk's link.
func StaffURL(accountID string) string { return PathStaff + "?account=" + accountID }

// Routes registers the routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	issue := h.Gate.Require(http.HandlerFunc(h.issue), staff.RoleOperator, staff.RoleSupervisor)
	mux.Handle("GET "+PathStaff, issue)
	mux.Handle("POST "+PathStaff, issue)
	mux.HandleFunc("GET /static/access-code.css", serveStatic(styles, "text/css; charset=utf-8"))
	mux.HandleFunc("GET /static/access-code.js", serveStatic(script, "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET "+PathCitizen, h.showStart)
	mux.HandleFunc("POST "+PathCitizen, h.submitStart)
	mux.HandleFunc("GET "+PathCitizen+"/new", h.showNew)
	mux.HandleFunc("POST "+PathCitizen+"/new", h.submitNew)
	mux.HandleFunc("GET "+PathCitizen+"/code", h.showCode)
	mux.HandleFunc("POST "+PathCitizen+"/code", h.submitCode)
	mux.HandleFunc("POST "+PathCitizen+"/resend", h.resend)
}

func serveStatic(b []byte, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(b)
	}
}

// ---- The operator's side.

type issueView struct {
	webui.Page
	AccountID, Name, BirthDate, Passport string
	Office                               string
	// Code is the code just issued (once), in groups; Expires its end.
	Code, Expires string
	// Unverified: the account's passport is only the citizen's claim, so
	// checking the passport presented against it proves nothing.
	Unverified bool
}

// office is the office the member issues codes for: the first where they
// are an operator, else a supervisor.
func office(m staff.Member) (staff.Org, bool) {
	for _, r := range []staff.Role{staff.RoleOperator, staff.RoleSupervisor} {
		for _, o := range m.In(r) {
			if o.Kind.Office() {
				return o, true
			}
		}
	}
	return staff.Org{}, false
}

// msk is Moscow time, in which offices read the expiry (UTC+3, no DST).
var msk = time.FixedZone("MSK", 3*60*60)

// issue shows the citizen's data to compare with the passport and, on
// POST with «Паспорт проверен» ticked, issues the code and shows it once.
func (h *Handler) issue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, _ := staff.FromContext(ctx)
	v := issueView{Page: h.render.NewPage(r, "acc.issue.title")}
	v.SignedIn = true
	w.Header().Set("Cache-Control", "no-store")
	org, ok := office(m)
	id := r.URL.Query().Get("account")
	if !ok {
		v.Error = v.L.T("acc.issue.no_office")
		h.render.Render(w, r, http.StatusForbidden, "issue", v)
		return
	}
	v.Office = org.Name(v.L.Lang)
	if id == m.AccountID {
		v.Error = v.L.T("acc.issue.own")
		h.render.Render(w, r, http.StatusForbidden, "issue", v)
		return
	}
	a, err := h.Accounts.Get(ctx, id)
	if errors.Is(err, sqldb.ErrNotFound) || (err == nil && a.Status == account.StatusBlocked) {
		v.Error = v.L.T("acc.issue.unknown")
		h.render.Render(w, r, http.StatusNotFound, "issue", v)
		return
	}
	if err != nil {
		h.fail(w, r, "issue", &v.Page, &v, "get account", err)
		return
	}
	v.AccountID, v.Name = a.ID, a.Name.Full()
	if !a.BirthDate.IsZero() {
		v.BirthDate = a.BirthDate.Format("02.01.2006")
	}
	if a.Passport != nil {
		v.Passport = validate.MaskPassport(a.Passport.Series, a.Passport.Number)
	}
	// Claims are not evidence: a passport the citizen typed matches
	// whoever typed it. Only a passport the registries (or a bank, an
	// operator, a certificate) confirmed is worth comparing with the one
	// presented.
	if !a.Verified() || a.Passport == nil {
		v.Unverified = true
		v.Error = v.L.T("acc.issue.unverified")
		h.render.Render(w, r, http.StatusConflict, "issue", v)
		return
	}
	if r.Method == http.MethodGet {
		h.render.Render(w, r, http.StatusOK, "issue", v)
		return
	}
	v.Form = webui.NewForm(r, "passport_checked")
	if v.Form.Get("passport_checked") != "1" {
		v.Form.Fail("passport_checked", v.L.T("acc.err.passport_checked"))
		h.render.Render(w, r, http.StatusUnprocessableEntity, "issue", v)
		return
	}
	issued, err := h.Store.Issue(ctx, a.ID, m.AccountID, m.Actor(org), org.Code)
	if err != nil {
		h.fail(w, r, "issue", &v.Page, &v, "issue access code", err)
		return
	}
	v.Code, v.Expires = Format(issued.Code), issued.ExpiresAt.In(msk).Format("02.01.2006 15:04")+" (МСК)"
	h.render.Render(w, r, http.StatusOK, "issued", v)
}

// fail shows template with the general message of a failure: view must
// point to the view whose page p is, or the message set on p is not the
// one rendered.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, template string, p *webui.Page, view any, what string, err error) {
	h.render.Fail(w, r, h.Log, template, view, p, "code.err.internal", what, err)
}

// ---- The citizen's side.

// state is the citizen's flow, sealed: the account whose code was right
// and the code's hash (spent only when everything is set), then the new
// password's hash and phone waiting for the SMS code.
type state struct {
	AccountID     string `json:"account_id"`
	CodeHash      string `json:"code_hash"`
	PasswordHash  string `json:"password_hash,omitempty"`
	Phone         string `json:"phone,omitempty"`
	Challenge     string `json:"challenge,omitempty"`
	PhoneVerified bool   `json:"phone_verified,omitempty"`
}

func (h *Handler) startPage(r *http.Request) webui.Page {
	p := h.render.NewPage(r, "acc.title")
	if r.URL.Query().Get("expired") == "1" {
		p.Notice = p.L.T("acc.expired")
	}
	return p
}

func (h *Handler) showStart(w http.ResponseWriter, r *http.Request) {
	h.render.Render(w, r, http.StatusOK, "start", h.startPage(r))
}

func (h *Handler) submitStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.startPage(r)
	p.Form = webui.NewForm(r, "login", "code")
	ok, _, err := h.Limiter.Allow(ctx, ipRule, httpx.ClientIP(r))
	if err != nil {
		h.fail(w, r, "start", &p, &p, "rate limit", err)
		return
	}
	if !ok {
		p.Error = p.L.T("acc.err.rate")
		h.render.Render(w, r, http.StatusTooManyRequests, "start", p)
		return
	}
	kind, login, err := validate.Login(p.Form.Get("login"))
	if err != nil {
		failField(&p, "login", err, "acc.err.login")
	}
	code, cerr := ParseCode(p.Form.Get("code"))
	if cerr != nil {
		p.Form.Fail("code", p.L.T("acc.err.code_format"))
	}
	if !p.Form.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "start", p)
		return
	}
	a, err := h.Accounts.FindByLogin(ctx, kind, login)
	var hash []byte
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		err = ErrRefused // an unknown login is answered as a wrong code
	case err == nil:
		hash, err = h.Store.Check(ctx, a.ID, code)
	}
	if errors.Is(err, ErrRefused) {
		p.Error = p.L.T("acc.err.refused")
		h.render.Render(w, r, http.StatusUnprocessableEntity, "start", p)
		return
	}
	if err != nil {
		h.fail(w, r, "start", &p, &p, "check access code", err)
		return
	}
	st := state{AccountID: a.ID, CodeHash: base64.RawStdEncoding.EncodeToString(hash)}
	if err := h.Flows.Begin(w, r, flowKind, st, flowTTL); err != nil {
		h.fail(w, r, "start", &p, &p, "start flow", err)
		return
	}
	webui.Redirect(w, r, PathCitizen+"/new")
}

// failField puts a validation error under the field: the validator's own
// message, or the text of key for an error without one.
func failField(p *webui.Page, field string, err error, key string) {
	var fe *validate.FieldError
	if errors.As(err, &fe) {
		p.Form.Fail(field, fe.Message(p.L.Lang))
		return
	}
	p.Form.Fail(field, p.L.T(key))
}

type newView struct {
	webui.Page
	Rules []password.Rule
}

func (h *Handler) newPage(r *http.Request) newView {
	p := h.render.NewPage(r, "acc.new.title")
	return newView{Page: p, Rules: h.Policy.Rules(p.L.Lang)}
}

func (h *Handler) showNew(w http.ResponseWriter, r *http.Request) {
	if _, _, _, ok := h.code.LoadFlow(w, r); ok {
		h.render.Render(w, r, http.StatusOK, "new", h.newPage(r))
	}
}

// submitNew checks the new password and phone and sends a code to the
// phone; the password's hash waits in the sealed flow.
func (h *Handler) submitNew(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, version, st, ok := h.code.LoadFlow(w, r)
	if !ok {
		return
	}
	v := h.newPage(r)
	v.Form = webui.NewForm(r, "phone")
	a, err := h.Accounts.Get(ctx, st.AccountID)
	if err != nil {
		h.fail(w, r, "new", &v.Page, &v, "get account", err)
		return
	}
	v.Rules = h.Policy.ExplainNew(v.Form, r.PostFormValue("password"), r.PostFormValue("password_confirm"), a.PolicyContext(), v.L.Lang, v.L.T("acc.err.confirm"))
	phone, err := validate.Phone(v.Form.Get("phone"))
	if err != nil {
		failField(&v.Page, "phone", err, "acc.err.phone")
	} else if phone != a.Phone.Value {
		// The citizen proved who they are: saying that a number is
		// another account's reveals nothing they could not learn by
		// registering it.
		taken, err := h.Accounts.Taken(ctx, account.Phone, phone)
		if err != nil {
			h.fail(w, r, "new", &v.Page, &v, "phone taken", err)
			return
		}
		if taken {
			v.Form.Fail("phone", v.L.T("acc.err.phone_taken"))
		}
	}
	if !v.Form.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "new", v)
		return
	}
	if st.PasswordHash, err = h.Passwords.Hash(ctx, r.PostFormValue("password")); err != nil {
		h.fail(w, r, "new", &v.Page, &v, "hash password", err)
		return
	}
	st.Phone, st.PhoneVerified = phone, false
	err = h.code.Reissue(r, token, version, &st)
	if err != nil && !codestep.Judged(err) {
		h.fail(w, r, "new", &v.Page, &v, "issue code", err)
		return
	}
	if err != nil {
		v.Error = codestep.Explain(err, v.L)
		h.render.Render(w, r, http.StatusTooManyRequests, "new", v)
		return
	}
	webui.Redirect(w, r, PathCitizen+"/code")
}

type codeView struct {
	webui.Page
	Phone string
	// Verified: the SMS code was right and only saving is left (a save
	// that failed): the page asks for no code.
	Verified bool
}

func (h *Handler) codePage(r *http.Request, st state) codeView {
	return codeView{Page: h.render.NewPage(r, "acc.code.title"), Phone: validate.MaskPhone(st.Phone), Verified: st.PhoneVerified}
}

// loadPhoneStep loads a flow that has a phone to confirm.
func (h *Handler) loadPhoneStep(w http.ResponseWriter, r *http.Request) (string, int, state, bool) {
	token, version, st, ok := h.code.LoadFlow(w, r)
	if ok && st.Challenge == "" {
		webui.Redirect(w, r, PathCitizen+"/new")
		return "", 0, st, false
	}
	return token, version, st, ok
}

func (h *Handler) showCode(w http.ResponseWriter, r *http.Request) {
	if _, _, st, ok := h.loadPhoneStep(w, r); ok {
		h.code.Show(w, r, &st)
	}
}

func (h *Handler) resend(w http.ResponseWriter, r *http.Request) {
	if token, version, st, ok := h.loadPhoneStep(w, r); ok {
		h.code.Resend(w, r, token, version, &st, PathCitizen+"/code")
	}
}

// submitCode checks the SMS code and then, in one transaction, spends the
// access code and sets the password and the phone; every session ends,
// the old contacts are told, the sign-in lock-out is lifted
// (SetPassword). The flow records that the code was right when it is
// claimed (Finish): a save that then fails without a verdict is tried
// again from the same page without a new SMS code.
func (h *Handler) submitCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, version, st, ok := h.loadPhoneStep(w, r)
	if !ok || (!st.PhoneVerified && !h.code.Check(w, r, &st, false)) {
		return
	}
	st.PhoneVerified = true
	if !h.code.Finish(w, r, token, version, &st) {
		return
	}
	v := h.startPage(r)
	retry := h.codePage(r, st)
	a, err := h.Accounts.Get(ctx, st.AccountID)
	if err != nil {
		h.fail(w, r, "code", &retry.Page, &retry, "get account", err)
		return
	}
	hash, err := base64.RawStdEncoding.DecodeString(st.CodeHash)
	if err != nil {
		h.fail(w, r, "start", &v, &v, "flow code hash", err)
		return
	}
	e := audit.Entry{AccountID: a.ID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: a.ID}, Action: audit.ActionAccessCodeUsed,
		Detail: map[string]string{"phone": validate.MaskPhone(st.Phone)}, IP: httpx.ClientIP(r)}
	err = h.Activity.ChangeTx(ctx, e, func(tx *sqldb.Tx, accounts *account.Store) error {
		if err := h.Store.Spend(ctx, tx, a.ID, hash); err != nil {
			return err
		}
		if err := accounts.SetPassword(ctx, a.ID, st.PasswordHash); err != nil {
			return err
		}
		return accounts.SetContact(ctx, a.ID, account.Phone, st.Phone, h.Now())
	})
	switch {
	case errors.Is(err, ErrRefused):
		h.code.End(w, r, token)
		v.Error = v.L.T("acc.err.refused")
		h.render.Render(w, r, http.StatusConflict, "start", v)
		return
	case errors.Is(err, account.ErrTaken):
		h.code.End(w, r, token)
		v.Error = v.L.T("acc.err.phone_taken")
		h.render.Render(w, r, http.StatusConflict, "start", v)
		return
	case err != nil:
		// The flow stays, its SMS code done: the same page goes on.
		h.fail(w, r, "code", &retry.Page, &retry, "use access code", err)
		return
	}
	h.code.End(w, r, token)
	if _, err := h.EndAll(ctx, a.ID, ""); err != nil {
		h.Log.ErrorContext(ctx, "end sessions after an access code", "account", a, "err", err)
	}
	if h.Forget != nil {
		if err := h.Forget(ctx, a.ID); err != nil {
			h.Log.ErrorContext(ctx, "forget remembered devices after an access code", "account", a, "err", err)
		}
	}
	if err := h.Accounts.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventRecovered, Result: account.ResultOK,
		Method: "access_code", IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		h.Log.ErrorContext(ctx, "account event", "err", err)
	}
	// The old contacts: whoever holds the lost phone learns that it no
	// longer opens the account, and the owner that it was done.
	if a.Phone.Verified() && a.Phone.Value != st.Phone {
		h.Notifier.Contact(ctx, account.Phone, a.Phone.Value, notice.KindNoticePasswordChanged, v.L.Lang, nil)
	}
	if a.Email.Verified() {
		h.Notifier.Contact(ctx, account.Email, a.Email.Value, notice.KindNoticePasswordChanged, v.L.Lang, nil)
	}
	webui.Redirect(w, r, "/login?notice=password_changed")
}
