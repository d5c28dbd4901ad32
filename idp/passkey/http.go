package passkey

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates/*.html
var pages embed.FS

//go:embed static/passkey.js
var script []byte

// Account event kinds of this package (account.Event.Kind).
const (
	EventAdded   = "passkey_added"
	EventRemoved = "passkey_removed"
	EventRenamed = "passkey_renamed"
)

// maxBody bounds a ceremony's JSON body: a credential ID is at most 1023
// bytes and a public key a few hundred; attestation certificates fit.
const maxBody = 64 << 10

// Accounts is what the pages need of the account store.
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
	AddEvent(ctx context.Context, e account.Event) error
}

// Sessions starts SSO sessions and finds the signed-in citizen.
type Sessions interface {
	Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*session.Session, error)
	Current(r *http.Request) (*session.Session, error)
}

// Activity runs a change and appends its activity-log entry in one
// transaction: both or neither (account.Activity).
type Activity interface {
	ChangeTx(ctx context.Context, e audit.Entry, fn func(tx *sqldb.Tx, accounts *account.Store) error) error
}

// Limiter counts requests per client IP.
type Limiter interface {
	Allow(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
}

// Deps are the handler's dependencies.
type Deps struct {
	Service  *Service
	Accounts Accounts
	Sessions Sessions
	// Limiter bounds anonymous sign-in ceremonies per client IP (each one
	// writes a challenge row); optional.
	Limiter Limiter
	Log     *slog.Logger
	// Home is where a passkey sign-in without ?next= lands ("/account").
	Home string
	// Activity writes an added, renamed or removed passkey to the
	// account's activity log (with the passkey's label) in the change's
	// transaction, in which StoreIn binds the service's store
	// (Store.With).
	Activity Activity
	StoreIn  func(q sqldb.Runner) Storage
	// Reauth: adding or removing a passkey needs an authentication at
	// most this old, so that a stolen session can neither plant a lasting
	// way in nor take the owner's away.
	Reauth session.Reauth
	// BeginPerIP bounds passkey sign-in ceremonies begun per client IP
	// (600 per 15 minutes: the sign-in page begins one on every view, for
	// autofill, and many citizens may share one carrier-grade NAT address).
	BeginPerIP ratelimit.Rule
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Handler serves the ceremonies (JSON) and the account page (HTML).
type Handler struct {
	d      Deps
	svc    *Service
	render *webui.Renderer
	msk    *time.Location
}

// New parses the page and returns the handler.
func New(d Deps) (*Handler, error) {
	if d.Service == nil || d.Accounts == nil || d.Sessions == nil || d.Log == nil || d.Activity == nil || d.StoreIn == nil {
		return nil, errors.New("passkey: Service, Accounts, Sessions, Log, Activity and StoreIn are required")
	}
	r, err := webui.NewRenderer(pages, catalog, d.Log, "passkeys")
	if err != nil {
		return nil, err
	}
	if d.Home == "" {
		d.Home = "/account"
	}
	if d.BeginPerIP.Name == "" {
		d.BeginPerIP = ratelimit.Rule{Name: "passkey-begin-ip", Limit: 600, Window: 15 * time.Minute}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Reauth.Now == nil {
		d.Reauth.Now = d.Now
	}
	return &Handler{d: d, svc: d.Service, render: r, msk: time.FixedZone("MSK", 3*3600)}, nil
}

// Routes registers the handler's routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /passkeys/register/begin", h.beginRegistration)
	mux.HandleFunc("POST /passkeys/register/finish", h.finishRegistration)
	mux.HandleFunc("POST /login/passkey/begin", h.beginLogin)
	mux.HandleFunc("POST /login/passkey/finish", h.finishLogin)
	mux.HandleFunc("GET /account/passkeys", h.showPasskeys)
	mux.HandleFunc("POST /account/passkeys/rename", h.renamePasskey)
	mux.HandleFunc("GET /account/passkeys/remove", h.confirmRemoval)
	mux.HandleFunc("POST /account/passkeys/remove", h.removePasskey)
	mux.HandleFunc("GET /static/passkey.js", serveScript)
}

func serveScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(script)
}

const passkeysPage = "/account/passkeys"

// --- ceremonies (JSON) ---

func (h *Handler) beginRegistration(w http.ResponseWriter, r *http.Request) {
	s, ok := h.freshJSON(w, r)
	if !ok {
		return
	}
	opts, err := h.svc.BeginRegistration(r.Context(), s.AccountID)
	h.reply(w, r, opts, err)
}

// reply answers a ceremony's first step: its options as JSON, or the
// refusal.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, opts any, err error) {
	if err != nil {
		h.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, opts)
}

func (h *Handler) finishRegistration(w http.ResponseWriter, r *http.Request) {
	s, ok := h.freshJSON(w, r)
	if !ok {
		return
	}
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	c, err := h.svc.VerifyRegistration(ctx, s.AccountID, body, "", webui.Lang(r))
	if err == nil {
		err = h.change(r, s.AccountID, EventAdded, c.Name, func(st Storage) error { return h.svc.Add(ctx, st, c) })
	}
	if err != nil {
		h.fail(w, r, err, "")
		return
	}
	h.event(r, s.AccountID, EventAdded, account.ResultOK, AMR(c.BackupEligible, c.Attachment, false)[0])
	writeJSON(w, http.StatusOK, map[string]string{"redirect": passkeysPage + "?done=added", "name": c.Name})
}

func (h *Handler) beginLogin(w http.ResponseWriter, r *http.Request) {
	if h.d.Limiter != nil && h.svc.Available() {
		ok, _, err := h.d.Limiter.Allow(r.Context(), h.d.BeginPerIP, httpx.ClientIP(r))
		if err != nil {
			// A busy database does not lock everybody out.
			h.d.Log.ErrorContext(r.Context(), "rate limit", "rule", h.d.BeginPerIP.Name, "err", err)
		} else if !ok {
			h.fail(w, r, ErrRateLimited, "")
			return
		}
	}
	opts, err := h.svc.BeginLogin(r.Context())
	h.reply(w, r, opts, err)
}

func (h *Handler) finishLogin(w http.ResponseWriter, r *http.Request) {
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	res, err := h.svc.FinishLogin(ctx, body)
	if err != nil {
		var accountID, method string
		if res != nil && res.Credential != nil {
			accountID = res.Credential.AccountID
			method = AMR(res.Credential.BackupEligible, res.Credential.Attachment, false)[0]
		}
		var e *Error
		judged := errors.As(err, &e) && e.Refused()
		if judged && (accountID != "" || !errors.Is(err, ErrUnavailable)) {
			result := account.ResultFailed
			if errors.Is(err, ErrBlocked) || errors.Is(err, ErrCloned) {
				result = account.ResultDenied
			}
			h.event(r, accountID, account.EventSignInFailed, result, method)
		}
		if errors.Is(err, ErrUnknownCredential) {
			// Lets the page ask the browser to forget a passkey that no
			// longer exists here (WebAuthn signalUnknownCredential).
			h.failUnknown(w, r, err, body)
			return
		}
		h.fail(w, r, err, "")
		return
	}
	a := res.Account
	if _, err := h.d.Sessions.Start(w, r, a.ID, res.AMR, httpx.ClientIP(r)); err != nil {
		h.fail(w, r, ErrInternal.with(err), "")
		return
	}
	h.event(r, a.ID, account.EventSignIn, account.ResultOK, strings.Join(res.AMR, " "))
	next := webui.SafeNext(r.URL.Query().Get("next"))
	if next == "" {
		next = h.d.Home
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

// freshJSON returns the request's session for a ceremony, which needs a
// fresh one: without a session the answer is 401; a stale one gets
// ErrReauth with the way to the re-authentication page, which returns to
// the passkeys page.
func (h *Handler) freshJSON(w http.ResponseWriter, r *http.Request) (*session.Session, bool) {
	s, err := h.d.Sessions.Current(r)
	switch {
	case err != nil && !sqldb.Gone(err):
		h.fail(w, r, ErrInternal.with(err), "")
	case err != nil:
		h.fail(w, r, ErrSignedOut, "/login?next="+url.QueryEscape(passkeysPage))
	case !h.d.Reauth.Fresh(s):
		h.fail(w, r, ErrReauth, session.ReauthURL(passkeysPage))
	default:
		return s, true
	}
	return nil, false
}

// body reads a ceremony's JSON body, at most maxBody bytes.
func (h *Handler) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		h.fail(w, r, ErrMalformed.with(err), "")
		return nil, false
	}
	return b, true
}

// errorBody is the JSON of a refusal.
type errorBody struct {
	Error    string `json:"error"`
	Message  string `json:"message"`
	Redirect string `json:"redirect,omitempty"`
	// For unknown_credential: the credential ID the browser offered and
	// the RP ID, for PublicKeyCredential.signalUnknownCredential.
	Credential string `json:"credential,omitempty"`
	RPID       string `json:"rp_id,omitempty"`
}

// failUnknown is fail for an unknown credential, naming it.
func (h *Handler) failUnknown(w http.ResponseWriter, r *http.Request, err error, body []byte) {
	var c struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &c) // best effort: a body without a readable id names none
	e := ErrUnknownCredential
	h.d.Log.InfoContext(r.Context(), "passkey ceremony refused", "path", r.URL.Path, "code", e.Code)
	out := errorBody{Error: e.Code, Message: e.Message(webui.Lang(r))}
	if _, ok := decodeID(c.ID); ok {
		out.Credential, out.RPID = c.ID, h.svc.cfg.RPID
	}
	writeJSON(w, e.Status, out)
}

// fail answers with err's status and message; details go to the log only.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, redirect string) {
	var e *Error
	if !errors.As(err, &e) {
		e = ErrInternal.with(err)
	}
	switch {
	case e.Status >= 500:
		h.d.Log.ErrorContext(r.Context(), "passkey ceremony", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
	case e.Err != nil:
		h.d.Log.InfoContext(r.Context(), "passkey ceremony refused", "path", r.URL.Path, "code", e.Code, "err", err)
	default:
		h.d.Log.InfoContext(r.Context(), "passkey ceremony refused", "path", r.URL.Path, "code", e.Code)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Code, Message: e.Message(webui.Lang(r)), Redirect: redirect})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (h *Handler) event(r *http.Request, accountID, kind, result, method string) {
	err := h.d.Accounts.AddEvent(r.Context(), account.Event{AccountID: accountID, Kind: kind, Result: result, Method: method,
		IP: httpx.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.d.Log.ErrorContext(r.Context(), "account event", "kind", kind, "err", err)
	}
}

// activityActions are the activity-log actions of the passkey events.
var activityActions = map[string]string{EventAdded: audit.ActionPasskeyAdded, EventRenamed: audit.ActionPasskeyRenamed,
	EventRemoved: audit.ActionPasskeyRemoved}

// change makes the citizen's change of a passkey (kind, the passkey
// labelled name) with fn, given the store bound to a transaction, and
// writes it to the activity log in the same transaction: both or neither.
func (h *Handler) change(r *http.Request, accountID, kind, name string, fn func(st Storage) error) error {
	e := audit.Entry{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID}, Action: activityActions[kind],
		Detail: map[string]string{"name": name}, IP: httpx.ClientIP(r)}
	return h.d.Activity.ChangeTx(r.Context(), e, func(tx *sqldb.Tx, _ *account.Store) error { return fn(h.d.StoreIn(tx)) })
}

// --- the account page (HTML) ---

type passkeysView struct {
	webui.Page
	Keys      []keyView
	Available bool
	Max       int
	Full      bool
	// Remove is the passkey whose removal is asked to be confirmed: the
	// page then shows only that question.
	Remove *keyView
}

type keyView struct {
	ID, Name, Kind   string
	Created, LastUse string
	Cloned           bool
}

// signedIn returns the session, or sends the browser to sign in; a store
// that did not answer is 503 (a database blip signs nobody out).
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*session.Session, bool) {
	s, err := h.d.Sessions.Current(r)
	if err != nil {
		if !sqldb.Gone(err) {
			h.d.Log.ErrorContext(r.Context(), "session", "err", err)
			webui.Overloaded(w, err) // an overload's own Retry-After
			h.render.ErrorPage(w, r, http.StatusServiceUnavailable)
			return nil, false
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return nil, false
	}
	return s, true
}

func (h *Handler) showPasskeys(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := h.newView(r)
	switch r.URL.Query().Get("done") {
	case "added":
		v.Notice = v.L.T("pk.done.added")
	case "renamed":
		v.Notice = v.L.T("pk.done.renamed")
	case "removed":
		v.Notice = v.L.T("pk.done.removed")
	}
	h.renderList(w, r, s.AccountID, http.StatusOK, v)
}

func (h *Handler) newView(r *http.Request) passkeysView {
	v := passkeysView{Page: h.render.NewPage(r, "pk.title"), Available: h.svc.Available(), Max: h.svc.MaxCredentials()}
	v.SignedIn = true
	return v
}

// renderList fills the list into v and renders the page with status.
func (h *Handler) renderList(w http.ResponseWriter, r *http.Request, accountID string, status int, v passkeysView) {
	creds, err := h.svc.Store().List(r.Context(), accountID)
	if err != nil {
		h.d.Log.ErrorContext(r.Context(), "list passkeys", "err", err)
		v.Error = v.L.T("pk.err.internal")
		h.render.Render(w, r, http.StatusInternalServerError, "passkeys", v)
		return
	}
	for _, c := range creds {
		k := keyView{ID: encodeID(c.ID), Name: c.Name, Kind: v.L.T("pk.kind." + Kind(c.BackupEligible, c.Attachment)),
			Created: c.CreatedAt.In(h.msk).Format("02.01.2006 15:04"), LastUse: v.L.T("pk.never"), Cloned: c.CloneWarning}
		if !c.LastUsedAt.IsZero() {
			k.LastUse = c.LastUsedAt.In(h.msk).Format("02.01.2006 15:04")
		}
		v.Keys = append(v.Keys, k)
	}
	v.Full = len(creds) >= v.Max
	h.render.Render(w, r, status, "passkeys", v)
}

// maxName bounds a label, in characters.
const maxName = 64

func (h *Handler) renamePasskey(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := h.newView(r)
	id, okID := decodeID(r.PostFormValue("id"))
	name := strings.Join(strings.Fields(r.PostFormValue("name")), " ")
	if okID && (name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxName ||
		strings.ContainsFunc(name, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) })) {
		v.Error = v.L.T("pk.err.name", maxName)
		h.renderList(w, r, s.AccountID, http.StatusUnprocessableEntity, v)
		return
	}
	err := sqldb.ErrNotFound
	if okID {
		err = h.change(r, s.AccountID, EventRenamed, name, func(st Storage) error { return st.Rename(r.Context(), s.AccountID, id, name) })
	}
	if h.listFailed(w, r, s.AccountID, v, "rename passkey", err) {
		return
	}
	webui.Redirect(w, r, passkeysPage+"?done=renamed")
}

// listFailed answers a change of the list that failed with err: an unknown
// passkey (404), or a failure, logged as what (500). It reports whether it
// answered (err is not nil).
func (h *Handler) listFailed(w http.ResponseWriter, r *http.Request, accountID string, v passkeysView, what string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, sqldb.ErrNotFound):
		v.Error = v.L.T("pk.err.not_found")
		h.renderList(w, r, accountID, http.StatusNotFound, v)
	default:
		h.d.Log.ErrorContext(r.Context(), what, "err", err)
		v.Error = v.L.T("pk.err.internal")
		h.renderList(w, r, accountID, http.StatusInternalServerError, v)
	}
	return true
}

// ownPasskey is, for a change, the fresh session and the citizen's
// passkey whose encoded id is raw. Otherwise it has answered — sign in,
// re-authenticate (back to the list), an unknown or another account's
// passkey (404), a failure logged as what (500) — and ok is false.
func (h *Handler) ownPasskey(w http.ResponseWriter, r *http.Request, raw, what string) (s *session.Session, v passkeysView, c *Credential, ok bool) {
	if s, ok = h.signedIn(w, r); !ok {
		return nil, v, nil, false
	}
	if !h.d.Reauth.Require(w, r, s, passkeysPage) {
		return nil, v, nil, false
	}
	v = h.newView(r)
	id, okID := decodeID(raw)
	err := sqldb.ErrNotFound
	if okID {
		if c, err = h.svc.Store().Get(r.Context(), id); err == nil && c.AccountID != s.AccountID {
			err = sqldb.ErrNotFound // another account's: as if unknown
		}
	}
	if h.listFailed(w, r, s.AccountID, v, what, err) {
		return nil, v, nil, false
	}
	return s, v, c, true
}

// confirmRemoval asks whether to remove the passkey ?id= (a page, so it
// works without JavaScript): its form posts the removal, «Отмена» goes
// back to the list and keeps the passkey.
func (h *Handler) confirmRemoval(w http.ResponseWriter, r *http.Request) {
	_, v, c, ok := h.ownPasskey(w, r, r.URL.Query().Get("id"), "passkey to remove")
	if !ok {
		return
	}
	v.Remove = &keyView{ID: encodeID(c.ID), Name: c.Name, Kind: v.L.T("pk.kind." + Kind(c.BackupEligible, c.Attachment)),
		Created: c.CreatedAt.In(h.msk).Format("02.01.2006 15:04")}
	h.render.Render(w, r, http.StatusOK, "passkeys", v)
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request) {
	s, v, c, ok := h.ownPasskey(w, r, r.PostFormValue("id"), "remove passkey")
	if !ok {
		return
	}
	err := h.change(r, s.AccountID, EventRemoved, c.Name, func(st Storage) error { return st.Remove(r.Context(), s.AccountID, c.ID) })
	if h.listFailed(w, r, s.AccountID, v, "remove passkey", err) {
		return
	}
	h.event(r, s.AccountID, EventRemoved, account.ResultOK, AMR(c.BackupEligible, c.Attachment, false)[0])
	webui.Redirect(w, r, passkeysPage+"?done=removed")
}
