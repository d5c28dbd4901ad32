package bank

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Sign-in with a bank and the account's linked banks (signin.go):
//
//	POST /login/bank            bank=ID, next: sign in with a bank (Begin(SignIn))
//	GET  /bank/link             after the callback found no link and the citizen signed in with
//	POST /bank/link             Gosid credentials: confirm linking the bank identity (LinkBank)
//	GET  /account/banks         the account's linked banks
//	POST /account/banks/remove  bank=ID: remove a link (recent authentication)
//
// The callback of a SignIn flow looks the bank identity up: linked, the
// account signs in as login.Handler.Federated decides (blocked and
// locked-out accounts refused, the second factor asked for, amr "fed");
// not linked, the bank identity waits in a sealed flow (the database, any
// replica) for the citizen to sign in with Gosid credentials and link it,
// or to register with the bank's data.

// SignInDeps are what sign-in with a bank and linking use.
type SignInDeps struct {
	// SignIn signs the browser in to a linked account
	// (login.Handler.Federated); true when it got in or went on to the
	// second factor.
	SignIn func(w http.ResponseWriter, r *http.Request, accountID, next string) bool
	// Flows keep a bank identity found unlinked until the citizen links it
	// (flow.Store).
	Flows Flows
	// Activity writes links and removals with their activity-log entries.
	Activity Activity
	// Reauth: linking and removing need a recent authentication.
	Reauth session.Reauth
	// Checks queues the registry check of an account registered with
	// less than a full vouch (register.go); nil: none.
	Checks Queue
	// Limiter bounds the flows an address may start without signing in
	// (each is a row until swept); nil: no bound.
	Limiter Limiter
	Now     func() time.Time
}

// Activity runs a change and appends its activity-log entry in one
// transaction: both or neither (account.Activity).
type Activity interface {
	ChangeTx(ctx context.Context, e audit.Entry, fn func(tx *sqldb.Tx, accounts *account.Store) error) error
}

// Limiter counts attempts (ratelimit.Limiter).
type Limiter interface {
	Allow(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
}

// PerIP bounds the bank flows (sign-in, registration, confirmation) one
// address starts.
var PerIP = ratelimit.Rule{Name: "bank-flow-ip", Limit: 30, Window: 15 * time.Minute}

// allowed reports whether the client may start another flow; over the
// limit it answers 429 itself. A limiter failure lets the flow start: the
// sweep bounds the rows anyway.
func (h *Handler) allowed(w http.ResponseWriter, r *http.Request, back string) bool {
	if h.signin == nil || h.signin.Limiter == nil {
		return true
	}
	ok, wait, err := h.signin.Limiter.Allow(r.Context(), PerIP, httpx.ClientIP(r))
	if err != nil {
		h.log.ErrorContext(r.Context(), "bank flow rate limit", "err", err)
		return true
	}
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	v := h.page(r, "", "too_many")
	v.Back, v.SignedIn, v.Tab = back, false, ""
	v.Title = v.L.T("bank.signin.title")
	h.show(w, r, http.StatusTooManyRequests, v)
	return false
}

// Flows keeps state between requests, sealed in the database (flow.Store).
type Flows interface {
	Begin(w http.ResponseWriter, r *http.Request, kind string, data any, ttl time.Duration) error
	FromRequest(r *http.Request, kind string, data any) (string, int, error)
	Save(ctx context.Context, kind, token string, version int, data any) (int, error)
	Take(ctx context.Context, kind, token string, data any) error
	End(ctx context.Context, w http.ResponseWriter, kind, token string) error
	Clear(w http.ResponseWriter, kind string)
}

// UseSignIn turns on sign-in with banks, linking and the list of linked
// banks (before Routes).
func (h *Handler) UseSignIn(d SignInDeps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	h.signin = &d
}

func (h *Handler) signInRoutes(mux *http.ServeMux) {
	if h.signin == nil {
		return
	}
	mux.HandleFunc("POST /login/bank", h.startSignIn)
	mux.HandleFunc("GET /bank/link", h.showLink)
	mux.HandleFunc("POST /bank/link", h.submitLink)
	mux.HandleFunc("GET /account/banks", h.showBanks)
	mux.HandleFunc("POST /account/banks/remove", h.removeBank)
	h.registerRoutes(mux)
}

// SignInBanks lists the enabled banks for «Войти через …»
// (login.Banks).
func (h *Handler) SignInBanks(ctx context.Context, lang string) ([]login.Bank, error) {
	bs, err := h.Offered(ctx, lang)
	if err != nil {
		return nil, err
	}
	out := make([]login.Bank, len(bs))
	for i, b := range bs {
		out[i] = login.Bank{ID: b.ID, Name: b.Name}
	}
	return out, nil
}

const (
	// linkFlow keeps an unlinked bank identity after a SignIn callback.
	linkFlow = "bank_link"
	linkTTL  = 15 * time.Minute
)

// pending is a bank identity that signed in but is linked to no account,
// with what the bank sent (for registration through the bank).
type pending struct {
	Bank    string            `json:"bank"`
	Subject string            `json:"sub"`
	Next    string            `json:"next,omitempty"`
	Values  map[string]string `json:"values,omitempty"`
	Vouched map[string]string `json:"vouched,omitempty"`
	At      time.Time         `json:"at"`
}

func (h *Handler) startSignIn(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, "/login") {
		return
	}
	next := webui.SafeNext(r.PostFormValue("next"))
	to, err := h.conn.Begin(r.Context(), r.PostFormValue("bank"), SignIn, "", next, h.binding.Begin(w, r))
	if err != nil {
		h.failFlow(w, r, "", err, "/login")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// linkView is the pages of signing in with a bank.
type linkView struct {
	webui.Page
	Bank string
	// Outcome: "not_linked", "confirm", "linked", "expired",
	// "linked_elsewhere".
	Outcome     string
	MayRegister bool
	LoginURL    string
}

func (h *Handler) linkPage(r *http.Request, bank, outcome string) linkView {
	v := linkView{Page: h.render.NewPage(r, "bank.signin.title"), Bank: bank, Outcome: outcome}
	if s, err := h.sessions.Current(r); err == nil && s != nil {
		v.SignedIn = true
	}
	return v
}

// signInCallback finishes a SignIn flow.
func (h *Handler) signInCallback(w http.ResponseWriter, r *http.Request, res *Result, bankName string) {
	ctx := r.Context()
	id, err := h.banks.AccountFor(ctx, res.Bank.ID, res.Subject)
	if err == nil {
		if h.signin.SignIn(w, r, id, res.Data) {
			if err := h.banks.Used(ctx, res.Bank.ID, res.Subject); err != nil {
				h.log.ErrorContext(ctx, "record bank sign-in", "bank", res.Bank.ID, "err", err)
			}
		}
		return
	}
	if !errors.Is(err, sqldb.ErrNotFound) {
		h.failFlow(w, r, bankName, err, "/login")
		return
	}
	p := pending{Bank: res.Bank.ID, Subject: res.Subject, Next: webui.SafeNext(res.Data), Values: res.Values,
		Vouched: res.Vouched, At: res.At}
	if err := h.signin.Flows.Begin(w, r, linkFlow, p, linkTTL); err != nil {
		h.failFlow(w, r, bankName, err, "/login")
		return
	}
	v := h.linkPage(r, bankName, "not_linked")
	v.MayRegister = res.Bank.MayRegister
	v.LoginURL = "/login?next=" + url.QueryEscape("/bank/link")
	h.render.Render(w, r, http.StatusOK, "signin", v)
}

// pendingLink reads the browser's unlinked bank identity and its flow's
// version; false after answering: an expired or missing flow says so, a
// store that did not answer is 503 (the citizen tries again).
func (h *Handler) pendingLink(w http.ResponseWriter, r *http.Request) (string, int, pending, bool) {
	var p pending
	token, version, err := h.signin.Flows.FromRequest(r, linkFlow, &p)
	switch {
	case err == nil:
		return token, version, p, true
	case sqldb.Gone(err):
		h.render.Render(w, r, http.StatusBadRequest, "signin", h.linkPage(r, "", "expired"))
	default:
		h.log.ErrorContext(r.Context(), "pending bank link", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
	}
	return "", 0, p, false
}

// signedIn is the request's session: without one the browser signs in
// first and comes back to back; a store that did not answer is 503, so
// that a database blip signs nobody out. False after answering.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, back string) (*session.Session, bool) {
	s, err := h.sessions.Current(r)
	switch {
	case err == nil:
		return s, true
	case session.Gone(err):
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusFound)
	default:
		h.log.ErrorContext(r.Context(), "session", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
	}
	return nil, false
}

// linkSession is the signed-in session that may link or remove a bank:
// without one the browser signs in first, a stale one re-authenticates.
func (h *Handler) linkSession(w http.ResponseWriter, r *http.Request, back string) (*session.Session, bool) {
	s, ok := h.signedIn(w, r, back)
	if !ok {
		return nil, false
	}
	rule := h.signin.Reauth
	if rule.Now == nil {
		rule.Now = h.signin.Now
	}
	return s, rule.Require(w, r, s, back)
}

func (h *Handler) bankName(ctx context.Context, r *http.Request, id string) string {
	b, err := h.banks.Get(ctx, id)
	if err != nil {
		return id
	}
	return b.Name(webui.Lang(r))
}

func (h *Handler) showLink(w http.ResponseWriter, r *http.Request) {
	_, _, p, ok := h.pendingLink(w, r)
	if !ok {
		return
	}
	if _, ok := h.linkSession(w, r, "/bank/link"); !ok {
		return
	}
	h.render.Render(w, r, http.StatusOK, "signin", h.linkPage(r, h.bankName(r.Context(), r, p.Bank), "confirm"))
}

func (h *Handler) submitLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, version, p, ok := h.pendingLink(w, r)
	if !ok {
		return
	}
	s, ok := h.linkSession(w, r, "/bank/link")
	if !ok {
		return
	}
	// Single use: of two posts, the one whose claim moves the flow's
	// version on links. The flow stays until the link is written, so that
	// a store that does not answer leaves the citizen's retry working.
	if _, err := h.signin.Flows.Save(ctx, linkFlow, token, version, p); err != nil {
		if !sqldb.Gone(err) && !errors.Is(err, sqldb.ErrConflict) {
			h.log.ErrorContext(ctx, "claim bank link", "err", err)
			webui.ErrorPage(w, r, http.StatusServiceUnavailable)
			return
		}
		h.signin.Flows.Clear(w, linkFlow)
		h.render.Render(w, r, http.StatusBadRequest, "signin", h.linkPage(r, "", "expired"))
		return
	}
	name := h.bankName(ctx, r, p.Bank)
	err := h.change(r, s.AccountID, audit.ActionBankLinked, p.Bank, func(tx *sqldb.Tx) error {
		return h.banks.Link(ctx, tx, Link{BankID: p.Bank, Subject: p.Subject, AccountID: s.AccountID})
	})
	if err != nil && !errors.Is(err, ErrLinkedElsewhere) {
		h.log.ErrorContext(ctx, "link bank identity", "bank", p.Bank, "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	if err := h.signin.Flows.End(ctx, w, linkFlow, token); err != nil {
		h.log.WarnContext(ctx, "end bank link flow", "err", err)
	}
	if err != nil {
		h.render.Render(w, r, http.StatusConflict, "signin", h.linkPage(r, name, "linked_elsewhere"))
		return
	}
	if err := h.banks.Used(ctx, p.Bank, p.Subject); err != nil {
		h.log.ErrorContext(ctx, "record bank sign-in", "bank", p.Bank, "err", err)
	}
	webui.RedirectNext(w, r, p.Next, "/account/banks?notice=linked")
}

// change makes the citizen's change of a bank link with fn and writes its
// activity-log entry (action, with the bank) in the same transaction: both
// or neither.
func (h *Handler) change(r *http.Request, accountID, action, bank string, fn func(tx *sqldb.Tx) error) error {
	e := audit.Entry{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID}, Action: action,
		Detail: map[string]string{"bank": bank}, IP: httpx.ClientIP(r)}
	return h.signin.Activity.ChangeTx(r.Context(), e, func(tx *sqldb.Tx, _ *account.Store) error { return fn(tx) })
}

// banksView is the account's linked banks.
type banksView struct {
	webui.Page
	Rows []linkRow
}

type linkRow struct{ ID, Name, LinkedAt, LastUsed string }

var msk = time.FixedZone("MSK", 3*3600)

func (h *Handler) renderBanks(w http.ResponseWriter, r *http.Request, accountID string, status int, notice, problem string) {
	ctx := r.Context()
	links, err := h.banks.Links(ctx, accountID)
	if err != nil {
		h.log.ErrorContext(ctx, "linked banks", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	v := banksView{Page: h.render.NewPage(r, "bank.links.title")}
	v.SignedIn, v.Tab, v.Notice, v.Error = true, "security", notice, problem
	at := func(t time.Time) string { return t.In(msk).Format("02.01.2006 15:04") + " МСК" }
	for _, l := range links {
		v.Rows = append(v.Rows, linkRow{ID: l.BankID, Name: h.bankName(ctx, r, l.BankID), LinkedAt: at(l.LinkedAt), LastUsed: at(l.LastUsedAt)})
	}
	h.render.Render(w, r, status, "banks", v)
}

func (h *Handler) showBanks(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r, "/account/banks")
	if !ok {
		return
	}
	notice, l := "", h.render.Localizer(r)
	if r.URL.Query().Get("notice") == "linked" {
		notice = l.T("bank.links.linked")
	}
	if id := r.URL.Query().Get("removed"); id != "" && len(id) <= 64 {
		notice = l.T("bank.links.removed", h.bankName(r.Context(), r, id))
	}
	h.renderBanks(w, r, s.AccountID, http.StatusOK, notice, "")
}

func (h *Handler) removeBank(w http.ResponseWriter, r *http.Request) {
	s, ok := h.linkSession(w, r, "/account/banks")
	if !ok {
		return
	}
	l := h.render.Localizer(r)
	id := r.PostFormValue("bank")
	err := h.change(r, s.AccountID, audit.ActionBankUnlinked, id, func(tx *sqldb.Tx) error {
		return h.banks.With(tx).Unlink(r.Context(), s.AccountID, id)
	})
	if err != nil {
		if !errors.Is(err, sqldb.ErrNotFound) {
			h.log.ErrorContext(r.Context(), "remove bank link", "err", err)
			webui.ErrorPage(w, r, http.StatusServiceUnavailable)
			return
		}
		h.renderBanks(w, r, s.AccountID, http.StatusNotFound, "", l.T("bank.links.not_linked"))
		return
	}
	// Post/redirect/get: a reload does not post the removal again.
	http.Redirect(w, r, "/account/banks?removed="+url.QueryEscape(id), http.StatusSeeOther)
}
