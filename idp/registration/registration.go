package registration

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/legal"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates/*.html
var pages embed.FS

// ConsentVersion identifies the consent text shown on the profile page
// and the user agreement and policy it links to (idp/legal); it is stored
// with the time of consent.
const ConsentVersion = legal.Version

const (
	flowKind = "register"
	flowTTL  = 30 * time.Minute
	purpose  = "register"
)

// Accounts is what registration needs of the account store.
type Accounts interface {
	Taken(ctx context.Context, kind, value string) (bool, error)
	AddEvent(ctx context.Context, e account.Event) error
}

// Creator opens an account with its activity-log entry in one transaction
// (account.Activity).
type Creator interface {
	Create(ctx context.Context, n account.New, by audit.Actor, via, ip string) (*account.Account, error)
}

// Passwords hashes passwords.
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// Evidence is person data proven before the account exists: an
// e-signature certificate whose SNILS no account has verified (idp/esign).
// It pre-fills the profile step and is attached to the account that
// registration creates; nothing of it is taken from the browser's form.
type Evidence interface {
	// Pending returns the name and SNILS of the browser's pending proof.
	Pending(r *http.Request) (name account.Name, snils string, ok bool)
	// Attach proves it on the new account and ends it.
	Attach(ctx context.Context, w http.ResponseWriter, r *http.Request, accountID string) error
}

// Sessions signs the new citizen in.
type Sessions interface {
	Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*session.Session, error)
}

// Deps are the handler's dependencies.
type Deps struct {
	Accounts  Accounts
	Activity  Creator
	Passwords Passwords
	Policy    password.Policy
	Flows     *flow.Store
	Codes     *codestep.Step
	Sessions  Sessions
	// Evidence, optional, carries an e-signature's proof into registration.
	Evidence Evidence
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves registration.
type Handler struct {
	Deps
	render *webui.Renderer
	code   *codestep.Pages[state]
	// banks and more are plugged in by verification (vouch.go).
	banks Banks
	more  []Evidence
}

// New parses the pages.
func New(d Deps) (*Handler, error) {
	r, err := webui.NewRenderer(pages, webui.Merge(catalog, codestep.Catalog, vouchCatalog), d.Log, "start", "code", "profile")
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{Deps: d, render: r}
	h.code = &codestep.Pages[state]{Step: d.Codes, Flows: d.Flows, Kind: flowKind, Purpose: purpose, Render: r, Log: d.Log,
		Template: "code", Resent: "reg.code.resent",
		View: func(r *http.Request, st *state) (any, *webui.Page) {
			v := &codeView{Page: h.render.NewPage(r, "reg.code.title"), Masked: st.masked()}
			return v, &v.Page
		},
		Code:    func(st *state) (*string, string) { return &st.Challenge, st.Value },
		Send:    func(r *http.Request, st *state) codestep.Send { return h.send(r, *st) },
		Path:    "/register",
		Next:    "/register/profile",
		Done:    func(st *state) *bool { return &st.Verified },
		Refused: func(st *state) bool { return st.Existing }, // see the package comment
	}
	return h, nil
}

// Routes registers the routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /register", h.showStart)
	mux.HandleFunc("POST /register", h.submitStart)
	h.code.Routes(mux)
	mux.HandleFunc("GET /register/profile", h.showProfile)
	mux.HandleFunc("POST /register/profile", h.submitProfile)
}

// state is the flow's sealed state.
type state struct {
	Kind      string `json:"kind"`  // account.Phone or account.Email
	Value     string `json:"value"` // E.164 or the e-mail as typed (domain lower-cased)
	Challenge string `json:"challenge"`
	// Existing: the contact has an account; its owner got a notice, and
	// no code will be accepted.
	Existing bool `json:"existing,omitempty"`
	Verified bool `json:"verified,omitempty"`
	// Prefill is the name of a pending proof (Evidence), offered on the
	// profile step; Proven says the proof is to be attached to the account.
	Prefill account.Name `json:"prefill,omitzero"`
	Proven  bool         `json:"proven,omitempty"`
}

// prefill is the browser's pending proof, if any: its name and the masked
// SNILS it verifies.
type prefill struct {
	Name  account.Name
	SNILS string // masked
}

func (h *Handler) pending(r *http.Request) (prefill, bool) {
	_, n, snils, ok := h.current(r)
	if !ok {
		return prefill{}, false
	}
	return prefill{Name: n, SNILS: validate.MaskSNILS(snils)}, true
}

func (s state) channel() message.Channel {
	if s.Kind == account.Email {
		return message.Email
	}
	return message.SMS
}

// masked is the contact as shown back on the code page.
func (s state) masked() string {
	if s.Kind == account.Email {
		return validate.MaskEmail(s.Value)
	}
	return validate.MaskPhone(s.Value)
}

type startView struct {
	webui.Page
	ByEmail bool
	// Banks offer «Зарегистрироваться через банк»; none while registering
	// with evidence already.
	Banks []Bank
}

func (h *Handler) showStart(w http.ResponseWriter, r *http.Request) {
	v := startView{Page: h.render.NewPage(r, "reg.title"), ByEmail: r.URL.Query().Get("by") == "email"}
	h.notePrefill(r, &v.Page)
	if vo, ok := h.vouch(r); ok {
		// The bank's contact, to be confirmed by code like any other.
		v.Form = &webui.Form{Values: map[string]string{"phone": vo.Phone, "email": vo.Email}, Errors: map[string]string{}}
	} else if _, ok := h.pending(r); !ok {
		v.Banks = h.offeredBanks(r)
	}
	h.render.Render(w, r, http.StatusOK, "start", v)
}

// notePrefill tells the citizen that the certificate's or the bank's data
// will be used.
func (h *Handler) notePrefill(r *http.Request, p *webui.Page) {
	pf, ok := h.pending(r)
	if !ok {
		return
	}
	name := strings.TrimSpace(pf.Name.Family + " " + pf.Name.Given)
	if vo, isV := h.vouch(r); isV {
		if pf.SNILS == "" {
			p.Notice = p.L.T("reg.prefill.bank.nosnils", vo.By, name)
		} else {
			p.Notice = p.L.T("reg.prefill.bank", vo.By, name, pf.SNILS)
		}
		return
	}
	p.Notice = p.L.T("reg.prefill", name, pf.SNILS)
}

func (h *Handler) submitStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	byEmail := r.PostFormValue("by") == "email"
	v := startView{Page: h.render.NewPage(r, "reg.title"), ByEmail: byEmail}
	h.notePrefill(r, &v.Page)
	f := webui.NewForm(r, "phone", "email")
	v.Form = f
	st := state{Kind: account.Phone}
	if pf, ok := h.pending(r); ok {
		st.Prefill, st.Proven = pf.Name, true
	}
	var err error
	if byEmail {
		st.Kind = account.Email
		st.Value, err = validate.Email(f.Get("email"))
	} else {
		st.Value, err = validate.Phone(f.Get("phone"))
	}
	if err != nil {
		failField(f, err, v.L)
		h.render.Render(w, r, http.StatusUnprocessableEntity, "start", v)
		return
	}
	taken, err := h.Accounts.Taken(ctx, st.Kind, st.Value)
	if err != nil {
		h.code.Fail(w, r, "start", &v, &v.Page, "check contact", err)
		return
	}
	st.Existing = taken
	h.code.Begin(w, r, &st, flowTTL, "start", &v, &v.Page)
}

// send is the message of st's challenge: the code, or for an existing
// account's contact, the notice instead.
func (h *Handler) send(r *http.Request, st state) codestep.Send {
	s := codestep.Send{Purpose: purpose, Channel: st.channel(), To: st.Value, IP: httpx.ClientIP(r), Lang: webui.Lang(r), Kind: notice.KindCodeRegister}
	if st.Existing {
		s.Kind, s.Instead = "", notice.KindNoticeRegisterExisting
	}
	return s
}

type codeView struct {
	webui.Page
	Masked string
}

type profileView struct {
	webui.Page
	Rules          []password.Rule
	ConsentVersion string
	// Fixed name fields are vouched by VouchedBy and not editable; Facts
	// are the other vouched data.
	Fixed     map[string]bool
	VouchedBy string
	Facts     []Fact
}

// noteVouch shows, on the profile step, what the bank vouched for.
func (h *Handler) noteVouch(r *http.Request, v *profileView) (Vouch, bool) {
	vo, ok := h.vouch(r)
	if !ok {
		return vo, false
	}
	v.VouchedBy, v.Facts, v.Fixed = vo.By, vo.Shown, map[string]bool{}
	for _, f := range vo.Fixed {
		v.Fixed[f] = true
	}
	return vo, true
}

func (h *Handler) profilePage(r *http.Request) profileView {
	p := h.render.NewPage(r, "reg.profile.title")
	return profileView{Page: p, Rules: h.Policy.Rules(p.L.Lang), ConsentVersion: ConsentVersion}
}

func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request) {
	_, _, st, ok := h.code.LoadVerified(w, r)
	if !ok {
		return
	}
	v := h.profilePage(r)
	if p := st.Prefill; p.Family != "" {
		v.Form = &webui.Form{Values: map[string]string{"family_name": p.Family, "given_name": p.Given, "middle_name": p.Middle}, Errors: map[string]string{}}
	}
	if st.Proven {
		h.notePrefill(r, &v.Page)
		h.noteVouch(r, &v)
	}
	h.render.Render(w, r, http.StatusOK, "profile", v)
}

func (h *Handler) submitProfile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, version, st, ok := h.code.LoadVerified(w, r)
	if !ok {
		return
	}
	v := h.profilePage(r)
	f := webui.NewForm(r, "family_name", "given_name", "middle_name", "consent")
	v.Form = f
	if st.Proven {
		if vo, ok := h.noteVouch(r, &v); ok {
			// What the bank vouched for is taken from the bank, never from
			// the form.
			for _, field := range []string{"family_name", "given_name", "middle_name"} {
				if vo.fixed(field) {
					f.Values[field] = vo.value(field)
				}
			}
		}
	}
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	// The rules every new account is held to, whoever types it
	// (account.Applicant: the operators' commands use them too).
	ap := account.Applicant{FamilyName: f.Get("family_name"), GivenName: f.Get("given_name"), MiddleName: f.Get("middle_name"), Password: pw}
	if st.Kind == account.Phone {
		ap.Phone = st.Value
	} else {
		ap.Email = st.Value
	}
	checked, errs := ap.Check(h.Policy, h.Now())
	for _, fe := range errs {
		f.Fail(fe.Field, fe.Message(v.L.Lang))
	}
	if f.Errors["password"] != "" {
		// One message; the list beside the field marks the broken rules.
		if vs := h.Policy.Check(pw, checked.PolicyContext()); len(vs) > 0 {
			f.Errors["password"] = password.Summary(vs, v.L.Lang)
			v.Rules = h.Policy.Checklist(vs, v.L.Lang)
		}
	}
	if f.Errors["password"] == "" && pw != confirm {
		f.Fail("password_confirm", v.L.T("reg.err.confirm"))
	}
	name := checked.Name
	if f.Get("consent") != "yes" {
		f.Fail("consent", v.L.T("reg.err.consent"))
	}
	if !f.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "profile", v)
		return
	}
	hash, err := h.Passwords.Hash(ctx, pw)
	if err != nil {
		h.internal(w, r, "hash password", err)
		return
	}
	// Claim the flow first: of two racing submissions only one goes on.
	if !h.code.Finish(w, r, token, version, &st) {
		return
	}
	now := h.Now()
	n := account.New{Name: name, PasswordHash: hash, ConsentVersion: ConsentVersion, ConsentAt: now}
	c := account.Contact{Value: st.Value, VerifiedAt: now}
	if st.Kind == account.Phone {
		n.Phone = c
	} else {
		n.Email = c
	}
	ip := httpx.ClientIP(r)
	a, err := h.Activity.Create(ctx, n, audit.Actor{Kind: audit.ActorCitizen}, "registration", ip)
	if errors.Is(err, account.ErrTaken) {
		h.code.End(w, r, token)
		v.Error = v.L.T("reg.err.taken")
		h.render.Render(w, r, http.StatusConflict, "profile", v)
		return
	}
	if err != nil {
		// The flow stays: the citizen sends the form again.
		h.code.Fail(w, r, "profile", &v, &v.Page, "create account", err)
		return
	}
	h.code.End(w, r, token)
	if err := h.Accounts.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventRegistered, Result: account.ResultOK, IP: ip, UserAgent: r.UserAgent()}); err != nil {
		h.Log.ErrorContext(ctx, "account event", "err", err)
	}
	if e, _, _, ok := h.current(r); st.Proven && ok {
		// The certificate's proof (its SNILS verified, the certificate
		// bound) or the bank's vouch (evidence, the bank identity linked).
		// Should it fail (the proof expired, or the SNILS was verified
		// elsewhere meanwhile), the account stands without it and the
		// certificate or bank can be added in the account centre.
		if err := e.Attach(ctx, w, r, a.ID); err != nil {
			h.Log.WarnContext(ctx, "attach the proof to the new account", "account", a, "err", err)
		}
	}
	if _, err := h.Sessions.Start(w, r, a.ID, []string{"pwd"}, ip); err != nil {
		h.Log.ErrorContext(ctx, "start session after registration", "account", a, "err", err)
		webui.Redirect(w, r, "/login")
		return
	}
	h.Log.InfoContext(ctx, "account registered", "account", a, "contact", st.Kind)
	webui.Redirect(w, r, "/account/details?welcome=1")
}

// internal answers a failure on the profile page (500).
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	v := h.profilePage(r)
	h.code.Fail(w, r, "profile", &v, &v.Page, what, err)
}

// failField puts a validation error under its field.
func failField(f *webui.Form, err error, l webui.Localizer) {
	var fe *validate.FieldError
	if errors.As(err, &fe) {
		f.Fail(fe.Field, fe.Message(l.Lang))
		return
	}
	f.Fail("_", err.Error())
}
