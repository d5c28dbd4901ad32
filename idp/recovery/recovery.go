package recovery

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates/*.html
var pages embed.FS

const (
	flowKind = "recover"
	flowTTL  = 20 * time.Minute
	purpose  = "recover"
)

// Accounts is what recovery needs of the account store.
type Accounts interface {
	FindByLogin(ctx context.Context, kind, value string) (*account.Account, error)
	Get(ctx context.Context, id string) (*account.Account, error)
	AddEvent(ctx context.Context, e account.Event) error
}

// Passwords hashes passwords.
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// Sessions ends the account's sessions.
type Sessions interface {
	EndAll(ctx context.Context, accountID, exceptID string) (int, error)
}

// Notifier tells the owner that the password changed.
type Notifier interface {
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

// Deps are the handler's dependencies.
type Deps struct {
	Accounts  Accounts
	Passwords Passwords
	Policy    password.Policy
	Flows     *flow.Store
	Codes     *codestep.Step
	Sessions  Sessions
	Notifier  Notifier
	// SignIn, optional, lets the owner sign in with the current password
	// after the code (signin.go).
	SignIn *SignIn
	Log    *slog.Logger
	// Forget drops the account's remembered devices: whoever knew the old
	// password may hold one and skip the second factor with it.
	Forget func(ctx context.Context, accountID string) error
	// Activity sets the new password and writes its «Пароль восстановлен»
	// entry in one transaction (account.Activity).
	Activity Changer
}

// Changer changes an account and appends its activity-log entry in one
// transaction.
type Changer interface {
	Change(ctx context.Context, e audit.Entry, fn func(accounts *account.Store) error) error
}

// Handler serves recovery.
type Handler struct {
	Deps
	render *webui.Renderer
	code   *codestep.Pages[state]
}

// New parses the pages.
func New(d Deps) (*Handler, error) {
	r, err := webui.NewRenderer(pages, webui.Merge(catalog, codestep.Catalog), d.Log, "start", "code", "password")
	if err != nil {
		return nil, err
	}
	h := &Handler{Deps: d, render: r}
	h.code = &codestep.Pages[state]{Step: d.Codes, Flows: d.Flows, Kind: flowKind, Purpose: purpose, Render: r, Log: d.Log,
		Template: "code", Resent: "rec.code.resent",
		View: func(r *http.Request, st *state) (any, *webui.Page) {
			v := h.codePage(r, *st)
			return &v, &v.Page
		},
		Code:    func(st *state) (*string, string) { return &st.Challenge, st.To },
		Send:    func(r *http.Request, st *state) codestep.Send { return h.send(r, *st) },
		Path:    "/recover",
		Next:    "/recover/password",
		Done:    func(st *state) *bool { return &st.Verified },
		Refused: func(st *state) bool { return st.AccountID == "" }, // see the package comment
	}
	return h, nil
}

// Routes registers the routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /recover", h.showStart)
	mux.HandleFunc("POST /recover", h.submitStart)
	h.code.Routes(mux)
	mux.HandleFunc("POST /recover/signin", h.submitSignIn)
	mux.HandleFunc("GET /recover/password", h.showPassword)
	mux.HandleFunc("POST /recover/password", h.submitPassword)
}

// state is the flow's sealed state.
type state struct {
	AccountID string `json:"account_id,omitempty"` // "" for an unknown login
	Channel   string `json:"channel"`
	To        string `json:"to"`         // where the code goes (otp destination)
	LoginKind string `json:"login_kind"` // what the citizen typed
	Login     string `json:"login"`      // normalised, as typed
	Challenge string `json:"challenge"`
	Verified  bool   `json:"verified,omitempty"`
	// SignInTries counts wrong current passwords (signin.go).
	SignInTries int `json:"signin_tries,omitempty"`
}

// where says on the code page where the code went, without revealing
// whether the account exists: a phone or e-mail login is echoed masked; a
// SNILS login is answered generically.
func (s state) where(l webui.Localizer) string {
	// Masks of what was typed, not of the stored contact, whose spelling
	// (e-mail case) would differ for existing accounts only.
	switch s.LoginKind {
	case account.Phone:
		return validate.MaskPhone(s.Login)
	case account.Email:
		return validate.MaskEmail(s.Login)
	}
	return l.T("rec.code.where.account")
}

func (h *Handler) showStart(w http.ResponseWriter, r *http.Request) {
	p := h.render.NewPage(r, "rec.title")
	if r.URL.Query().Get("expired") == "1" {
		p.Notice = p.L.T("rec.expired")
	}
	h.render.Render(w, r, http.StatusOK, "start", p)
}

func (h *Handler) submitStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.render.NewPage(r, "rec.title")
	p.Form = webui.NewForm(r, "login")
	kind, login, err := validate.Login(p.Form.Get("login"))
	if err != nil {
		var fe *validate.FieldError
		if errors.As(err, &fe) {
			p.Form.Fail("login", fe.Message(p.L.Lang))
		}
		h.render.Render(w, r, http.StatusUnprocessableEntity, "start", p)
		return
	}
	st := state{LoginKind: kind, Login: login}
	a, err := h.Accounts.FindByLogin(ctx, kind, login)
	switch {
	case err == nil:
		st.AccountID = a.ID
		st.Channel, st.To = destination(a, kind)
	case errors.Is(err, sqldb.ErrNotFound):
		// Issue a challenge nobody receives, bound to what was typed.
		st.Channel, st.To = string(message.SMS), login
		if kind == account.Email {
			st.Channel = string(message.Email)
		}
	default:
		h.code.Fail(w, r, "start", &p, &p, "find account", err)
		return
	}
	h.code.Begin(w, r, &st, flowTTL, "start", &p, &p)
}

// destination picks where the code goes: the contact typed, or for SNILS
// the verified phone, else the verified e-mail.
func destination(a *account.Account, kind string) (channel, to string) {
	switch {
	case kind == account.Email && a.Email.Verified():
		return string(message.Email), a.Email.Value
	case a.Phone.Verified():
		return string(message.SMS), a.Phone.Value
	default:
		return string(message.Email), a.Email.Value
	}
}

// send is the message of st's code; for a login that is no account's, the
// challenge is made but nothing is sent (see the package comment).
func (h *Handler) send(r *http.Request, st state) codestep.Send {
	s := codestep.Send{Purpose: purpose, Channel: message.Channel(st.Channel), To: st.To, IP: httpx.ClientIP(r), Lang: webui.Lang(r)}
	if st.AccountID != "" {
		s.Kind = notice.KindCodeRecover
	}
	return s
}

type codeView struct {
	webui.Page
	Where string
}

func (h *Handler) codePage(r *http.Request, st state) codeView {
	p := h.render.NewPage(r, "rec.code.title")
	return codeView{Page: p, Where: st.where(p.L)}
}

type passwordView struct {
	webui.Page
	Rules []password.Rule
	// SignIn offers signing in with the current password instead.
	SignIn bool
}

func (h *Handler) passwordPage(r *http.Request) passwordView {
	p := h.render.NewPage(r, "rec.password.title")
	return passwordView{Page: p, Rules: h.Policy.Rules(p.L.Lang), SignIn: h.SignIn != nil}
}

func (h *Handler) showPassword(w http.ResponseWriter, r *http.Request) {
	if _, _, _, ok := h.code.LoadVerified(w, r); ok {
		h.render.Render(w, r, http.StatusOK, "password", h.passwordPage(r))
	}
}

func (h *Handler) submitPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, version, st, ok := h.code.LoadVerified(w, r)
	if !ok {
		return
	}
	if st.AccountID == "" {
		// Never: an unknown login's flow does not get past the code
		// (Refused). Should one, it sets no password.
		webui.Redirect(w, r, "/recover/code")
		return
	}
	v := h.passwordPage(r)
	v.Form = webui.NewForm(r)
	a, err := h.Accounts.Get(ctx, st.AccountID)
	if err != nil {
		h.internal(w, r, "get account", err)
		return
	}
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	v.Rules = h.Policy.ExplainNew(v.Form, pw, confirm, a.PolicyContext(), v.L.Lang, v.L.T("rec.err.confirm"))
	if !v.Form.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "password", v)
		return
	}
	hash, err := h.Passwords.Hash(ctx, pw)
	if err != nil {
		h.internal(w, r, "hash password", err)
		return
	}
	if !h.code.Finish(w, r, token, version, &st) {
		return
	}
	// The entry says whether the new password lifted a suspension of
	// password sign-in (SetPassword lifts it: the citizen had undone a
	// contact change they had not made).
	detail := map[string]string{"method": methodOf(st.Channel)}
	if a.PasswordSuspended() {
		detail["suspension"] = "lifted"
	}
	e := audit.Entry{AccountID: a.ID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: a.ID}, Action: audit.ActionPasswordRecovered,
		Detail: detail, IP: httpx.ClientIP(r)}
	if err := h.Activity.Change(ctx, e, func(s *account.Store) error { return s.SetPassword(ctx, a.ID, hash) }); err != nil {
		// The flow stays: the citizen sends the form again.
		h.internal(w, r, "set password", err)
		return
	}
	h.code.End(w, r, token)
	if _, err := h.Sessions.EndAll(ctx, a.ID, ""); err != nil {
		h.Log.ErrorContext(ctx, "end sessions after recovery", "account", a, "err", err)
	}
	if h.Forget != nil {
		if err := h.Forget(ctx, a.ID); err != nil {
			h.Log.ErrorContext(ctx, "forget remembered devices after recovery", "account", a, "err", err)
		}
	}
	if err := h.Accounts.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventRecovered, Result: account.ResultOK,
		Method: methodOf(st.Channel), IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		h.Log.ErrorContext(ctx, "account event", "err", err)
	}
	h.Notifier.Account(ctx, a, notice.KindNoticePasswordChanged, v.L.Lang, nil)
	webui.Redirect(w, r, "/login?notice=password_changed")
}

// methodOf is the RFC 8176 method of the code's channel.
func methodOf(channel string) string {
	if channel == string(message.SMS) {
		return "sms"
	}
	return "otp"
}

// internal answers a failure on the password page (500).
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	v := h.passwordPage(r)
	h.code.Fail(w, r, "password", &v, &v.Page, what, err)
}
