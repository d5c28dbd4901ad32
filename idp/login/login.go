package login

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/overload"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates/*.html
var pages embed.FS

// Accounts is what sign-in needs of the account store.
type Accounts interface {
	FindByLogin(ctx context.Context, kind, value string) (*account.Account, error)
	RecordFailure(ctx context.Context, id string, maxFailures int, lockFor time.Duration) (lockedNow bool, err error)
	RecordSuccess(ctx context.Context, id string) error
	LoginLocked(ctx context.Context, key string) (until time.Time, counted bool, err error)
	RecordLoginFailure(ctx context.Context, key, accountID string, maxFailures int, lockFor time.Duration) (lockedUntil time.Time, err error)
	ResetLoginFailures(ctx context.Context, key string) error
	Rehash(ctx context.Context, id, oldHash, newHash string) error
	AddEvent(ctx context.Context, e account.Event) error
}

// Passwords verifies passwords.
type Passwords interface {
	Verify(ctx context.Context, phc, pw string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
	Hash(ctx context.Context, pw string) (string, error)
	// Admit refuses (an overload error) a check that could not be done
	// within the hashing budget if it began now; an admitted caller
	// checks with the context it returns and calls leave when done.
	Admit(ctx context.Context) (admitted context.Context, leave func(), err error)
	// Finished reports the time a sign-in took after its check, which
	// the budget keeps room for.
	Finished(d time.Duration)
}

// Limiter counts failures per IP and per login.
type Limiter interface {
	PeekAll(ctx context.Context, checks ...ratelimit.Check) (ok bool, retryAfter time.Duration, err error)
	Allow(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
}

// Sessions starts and ends SSO sessions.
type Sessions interface {
	Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*session.Session, error)
	// Arrive is Start with the account already read.
	Arrive(w http.ResponseWriter, r *http.Request, a *account.Account, amr []string, ip string) (*session.Session, error)
	// StartIn is Arrive with spend run in the session's transaction.
	StartIn(w http.ResponseWriter, r *http.Request, a *account.Account, amr []string, ip string, spend func(tx *sqldb.Tx) error) (*session.Session, error)
	Current(r *http.Request) (*session.Session, error)
	SignOut(w http.ResponseWriter, r *http.Request) error
}

// Notifier tells owners about lock-outs.
type Notifier interface {
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

// Config is the lock-out and rate-limit policy.
type Config struct {
	// MaxFailures consecutive wrong passwords lock password sign-in for
	// LockFor.
	MaxFailures int
	LockFor     time.Duration
	// PerIP and PerLogin bound failed attempts from one address and on one
	// login, whichever account (or none) it names.
	PerIP    ratelimit.Rule
	PerLogin ratelimit.Rule
	// Home is where a signed-in citizen lands without a ?next=.
	Home string
	// ESignature shows «Войти с электронной подписью» (a trust list is
	// configured).
	ESignature bool
	// Secure: the public URL is https, so cookies are Secure (and named
	// with webui.HostPrefix).
	Secure bool
	Now    func() time.Time
}

// LockNotices bounds the lock-out notices an account's owner gets: one
// per lock (only the failure that locks sends one) and at most 3 a day, so
// that whoever locks an account over and over cannot flood its phone and
// mailbox.
var LockNotices = ratelimit.Rule{Name: "lock-notice", Limit: 3, Window: 24 * time.Hour}

// errUnavailable: a store could not answer. The attempt is neither
// judged nor counted: the citizen is asked to try again (503), never told
// their password is wrong.
var errUnavailable = errors.New("login: temporarily unavailable")

// errWrong: unknown login, wrong password, or an account locked through
// another of its identifiers.
var errWrong = errors.New("login: wrong login or password")

// lockedError: password sign-in with the login identifier is locked until
// Until, known login or not.
type lockedError struct{ Until time.Time }

func (e *lockedError) Error() string { return "login: password sign-in locked" }

// DefaultConfig is the product's policy.
func DefaultConfig() Config {
	return Config{
		MaxFailures: 3,
		LockFor:     30 * time.Minute,
		PerIP:       ratelimit.Rule{Name: "login-fail-ip", Limit: 50, Window: 15 * time.Minute},
		PerLogin:    ratelimit.Rule{Name: "login-fail-login", Limit: 10, Window: time.Hour},
		Home:        "/account",
		Now:         time.Now,
	}
}

// Handler serves sign-in and sign-out.
type Handler struct {
	cfg       Config
	accounts  Accounts
	passwords Passwords
	limiter   Limiter
	sessions  Sessions
	notifier  Notifier
	render    *webui.Renderer
	log       *slog.Logger
	loginKey  func(kind, login string) string
	onSignOut func(ctx context.Context, accountID, sessionID string) error
	mfa       MFADeps
	banks     Banks
}

// Deps are the handler's dependencies.
type Deps struct {
	Accounts  Accounts
	Passwords Passwords
	Limiter   Limiter
	Sessions  Sessions
	Notifier  Notifier
	Log       *slog.Logger
	// OnSignOut is told of every sign-out (back-channel logout to the sites
	// that got tokens in the session); optional.
	OnSignOut func(ctx context.Context, accountID, sessionID string) error
	// MFA is the second-factor step; required.
	MFA MFADeps
	// LoginKey turns a login into the per-login rate-limit key. The
	// limiter stores keys as plain SHA-256, which is easy to reverse for a
	// phone number, so cmd/gosid passes a keyed blind index.
	LoginKey func(kind, login string) string
}

// New parses the pages and returns the handler.
func New(cfg Config, d Deps) (*Handler, error) {
	r, err := webui.NewRenderer(pages, webui.Merge(catalog, reauthCatalog), d.Log, "login", "mfa", "reauth")
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if d.LoginKey == nil {
		return nil, errors.New("login: LoginKey is required")
	}
	return &Handler{cfg: cfg, accounts: d.Accounts, passwords: d.Passwords, limiter: d.Limiter, sessions: d.Sessions,
		notifier: d.Notifier, render: r, log: d.Log, loginKey: d.LoginKey, onSignOut: d.OnSignOut, mfa: d.MFA}, nil
}

// Routes registers the handler's routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", h.showLogin)
	mux.HandleFunc("POST /login", h.submitLogin)
	mux.HandleFunc("POST /logout", h.signOut)
	mux.HandleFunc("GET /login/2fa", h.showMFA)
	mux.HandleFunc("POST /login/2fa", h.submitMFA)
	mux.HandleFunc("POST /login/2fa/passkey/begin", h.beginPasskeyMFA)
	mux.HandleFunc("POST /login/2fa/passkey/finish", h.finishPasskeyMFA)
	h.reauthRoutes(mux)
}

type loginView struct {
	webui.Page
	Next       string
	ESignature bool
	// Banks offer «Войти через …» (federated.go).
	Banks []Bank
	// Locked: password sign-in with the login typed is locked; the page
	// says what to do instead.
	Locked bool
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	v := loginView{Page: h.render.NewPage(r, "login.title"), Next: webui.SafeNext(r.URL.Query().Get("next")), ESignature: h.cfg.ESignature}
	if hint := r.URL.Query().Get("login_hint"); hint != "" && len(hint) <= 254 {
		// A relying party's login_hint pre-fills the form (OpenID Connect).
		v.Form = &webui.Form{Values: map[string]string{"login": hint}, Errors: map[string]string{}}
	}
	switch r.URL.Query().Get("notice") {
	case "password_changed":
		v.Notice = v.L.T("login.notice.password_changed")
	case "signed_out":
		v.Notice = v.L.T("login.notice.signed_out")
	}
	h.renderLogin(w, r, http.StatusOK, v)
}

func (h *Handler) submitLogin(w http.ResponseWriter, r *http.Request) {
	f := webui.NewForm(r, "login")
	next := webui.SafeNext(r.PostFormValue("next"))
	pw := r.PostFormValue("password")
	v := loginView{Page: h.render.NewPage(r, "login.title"), Next: next, ESignature: h.cfg.ESignature}
	v.Form = f
	l := v.L

	kind, login, err := validate.Login(f.Get("login"))
	if err != nil {
		var fe *validate.FieldError
		if errors.As(err, &fe) {
			f.Fail("login", fe.Message(l.Lang))
		} else {
			f.Fail("login", l.T("login.err.login"))
		}
	}
	if pw == "" {
		f.Fail("password", l.T("login.err.password_required"))
	} else if len(pw) > 1024 {
		f.Fail("password", l.T("login.err.wrong"))
	}
	if !f.OK() {
		h.renderLogin(w, r, http.StatusUnprocessableEntity, v)
		return
	}

	// Under a burst the excess is refused before it costs the database
	// anything; the answer does not depend on the login. A retry of a
	// refused sign-in brings its ticket (queue.go) and comes before those
	// who came later.
	loginKey := h.loginKey(kind, login)
	r = h.withTicket(r, loginKey)
	refused := func(what string, err error) {
		if errors.Is(err, overload.ErrOverloaded) {
			h.keepQueued(w, r, loginKey)
		}
		h.unavailable(w, r, v, what, err)
	}
	ctx, leave, err := h.passwords.Admit(r.Context())
	if err != nil {
		refused("check password", err)
		return
	}
	defer leave()
	ip := httpx.ClientIP(r)
	wait, limited, err := h.limited(ctx, ip, loginKey)
	if err != nil {
		refused("rate limit", err)
		return
	}
	if limited {
		h.event(ctx, "", account.EventSignInFailed, account.ResultDenied, r)
		v.Error = l.T("login.err.too_many", minutes(wait))
		h.renderLogin(w, r, http.StatusTooManyRequests, v)
		return
	}

	a, err := h.check(ctx, r, kind, login, loginKey, pw)
	checked := time.Now()
	var locked *lockedError
	if errors.Is(err, errUnavailable) {
		refused("check password", err)
		return
	}
	h.doneQueuing(w, r)
	if errors.As(err, &locked) {
		h.fail(ctx, ip, loginKey)
		v.Error = l.T("login.err.locked", l.Minutes(minutes(locked.Until.Sub(h.cfg.Now()))))
		v.Locked = true
		h.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	if err != nil {
		h.fail(ctx, ip, loginKey)
		v.Error = l.T("login.err.wrong")
		h.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	if a.Status == account.StatusBlocked {
		// Only the owner, who knows the password, gets this far.
		h.event(ctx, a.ID, account.EventSignInFailed, account.ResultDenied, r)
		v.Error = l.T("login.err.blocked")
		h.renderLogin(w, r, http.StatusForbidden, v)
		return
	}
	if a.PasswordSuspended() {
		h.refuseSuspended(w, r, a, v)
		return
	}
	if a.MFA != "" && !h.mfa.Devices.Trusted(ctx, r, a.ID, ip) {
		h.beginMFA(w, r, a, next, "", []string{"pwd"})
		return
	}
	if _, err := h.sessions.Arrive(w, r, a, []string{"pwd"}, ip); err != nil {
		h.unavailable(w, r, v, "start session", err)
		return
	}
	h.event(ctx, a.ID, account.EventSignIn, account.ResultOK, r)
	webui.RedirectNext(w, r, next, h.cfg.Home)
	h.passwords.Finished(time.Since(checked))
}

// check runs steps 3–5 of the package comment and returns the account
// when the password is right for an account that may sign in with it now;
// a *lockedError when password sign-in with the identifier (loginKey) is
// locked; errWrong when the login or the password is wrong; errUnavailable
// when a store failed, which must not count as a wrong password. Failures
// are counted per identifier whether it names an account or not, so that
// an unknown login gets the very answers a known one gets.
func (h *Handler) check(ctx context.Context, r *http.Request, kind, login, loginKey, pw string) (*account.Account, error) {
	until, counted, err := h.accounts.LoginLocked(ctx, loginKey)
	if err != nil {
		return nil, fmt.Errorf("%w: read lock-out: %w", errUnavailable, err)
	}
	a, err := h.accounts.FindByLogin(ctx, kind, login)
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return nil, fmt.Errorf("%w: find account: %w", errUnavailable, err)
	}
	accountID := ""
	if a != nil {
		accountID = a.ID
	}
	// dummy spends a password check's time where no hash is checked, so
	// that time tells nothing either; refused for overload it answers as
	// a real check would (503), or the refusal would tell the login is
	// known.
	dummy := func(result string) error {
		if err := h.passwords.VerifyDummy(ctx, pw); err != nil {
			return fmt.Errorf("%w: verify password: %w", errUnavailable, err)
		}
		h.event(ctx, accountID, account.EventSignInFailed, result, r)
		return nil
	}
	if !until.IsZero() {
		// Locked: even the right password is not checked.
		if err := dummy(account.ResultDenied); err != nil {
			return nil, err
		}
		return nil, &lockedError{Until: until}
	}
	if a == nil || a.Locked(h.cfg.Now()) || a.PasswordHash == "" {
		// Unknown, or locked through another of its identifiers (an
		// answer of its own would tell that they belong together).
		result := account.ResultDenied
		if a == nil {
			result = account.ResultFailed
		}
		if err := dummy(result); err != nil {
			return nil, err
		}
		return nil, h.failed(ctx, r, loginKey, accountID)
	}
	ok, rehash, err := h.passwords.Verify(ctx, a.PasswordHash, pw)
	if err != nil {
		return nil, fmt.Errorf("%w: verify password: %w", errUnavailable, err)
	}
	if !ok {
		lockedNow, err := h.accounts.RecordFailure(ctx, a.ID, h.cfg.MaxFailures, h.cfg.LockFor)
		if err != nil {
			// An uncounted failure must not read as a judged one, or
			// guessing would go on unlimited while counting fails.
			return nil, fmt.Errorf("%w: record failed sign-in: %w", errUnavailable, err)
		}
		h.event(ctx, a.ID, account.EventSignInFailed, account.ResultFailed, r)
		if lockedNow {
			h.event(ctx, a.ID, account.EventLocked, account.ResultOK, r)
			h.noticeLocked(ctx, r, a)
		}
		return nil, h.failed(ctx, r, loginKey, a.ID)
	}
	if a.FailedLogins > 0 {
		if err := h.accounts.RecordSuccess(ctx, a.ID); err != nil {
			h.log.ErrorContext(ctx, "reset failure count", "account", a, "err", err)
		}
	}
	if counted {
		if err := h.accounts.ResetLoginFailures(ctx, loginKey); err != nil {
			h.log.ErrorContext(ctx, "reset the login's failure count", "account", a, "err", err)
		}
	}
	if rehash {
		if nh, err := h.passwords.Hash(ctx, pw); err == nil {
			if err := h.accounts.Rehash(ctx, a.ID, a.PasswordHash, nh); err != nil {
				h.log.WarnContext(ctx, "rehash password", "account", a, "err", err)
			}
		}
	}
	return a, nil
}

// failed counts a wrong password for the identifier loginKey (of
// accountID, "" when unknown) and answers it: a *lockedError when this
// failure locked the identifier, errWrong otherwise.
func (h *Handler) failed(ctx context.Context, r *http.Request, loginKey, accountID string) error {
	until, err := h.accounts.RecordLoginFailure(ctx, loginKey, accountID, h.cfg.MaxFailures, h.cfg.LockFor)
	if err != nil {
		return fmt.Errorf("%w: record failed sign-in: %w", errUnavailable, err)
	}
	if until.IsZero() {
		return errWrong
	}
	return &lockedError{Until: until}
}

// noticeLocked tells the owner of a that password sign-in is locked,
// within LockNotices.
func (h *Handler) noticeLocked(ctx context.Context, r *http.Request, a *account.Account) {
	ok, _, err := h.limiter.Allow(ctx, LockNotices, a.ID)
	if err != nil {
		h.log.ErrorContext(ctx, "lock-out notice limit", "account", a, "err", err)
		return
	}
	if !ok {
		h.log.InfoContext(ctx, "lock-out notice withheld: daily limit reached", "account", a)
		return
	}
	h.notifier.Account(ctx, a, notice.KindNoticeLocked, webui.Lang(r), map[string]string{"minutes": strconv.Itoa(int(h.cfg.LockFor.Minutes()))})
}

// checks are the failure limits of one attempt.
func (h *Handler) checks(ip, loginKey string) []ratelimit.Check {
	return []ratelimit.Check{{Rule: h.cfg.PerIP, Key: ip}, {Rule: h.cfg.PerLogin, Key: loginKey}}
}

// limited reports whether the IP or the login has used up its failures.
// A database error is returned: the attempt is then refused as
// temporarily unavailable, never judged.
func (h *Handler) limited(ctx context.Context, ip, loginKey string) (time.Duration, bool, error) {
	ok, wait, err := h.limiter.PeekAll(ctx, h.checks(ip, loginKey)...)
	if err != nil {
		return 0, false, err
	}
	return wait, !ok, nil
}

// fail records a failed attempt against both limits.
func (h *Handler) fail(ctx context.Context, ip, loginKey string) {
	for _, c := range h.checks(ip, loginKey) {
		if _, _, err := h.limiter.Allow(ctx, c.Rule, c.Key); err != nil {
			h.log.ErrorContext(ctx, "rate limit", "rule", c.Rule.Name, "err", err)
		}
	}
}

func (h *Handler) event(ctx context.Context, accountID, kind, result string, r *http.Request) {
	err := h.accounts.AddEvent(ctx, account.Event{AccountID: accountID, Kind: kind, Result: result, Method: "pwd",
		IP: httpx.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.log.ErrorContext(ctx, "account event", "kind", kind, "err", err)
	}
}

// BeginSecondFactor asks for the account's second factor after another
// step has proven the first (recovery's sign-in with the current password
// and a code), then goes to next like a password sign-in.
func (h *Handler) BeginSecondFactor(w http.ResponseWriter, r *http.Request, a *account.Account, next string, amr []string) {
	h.beginMFA(w, r, a, webui.SafeNext(next), "", amr)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := h.sessions.Current(r)
	switch {
	case sqldb.Gone(err):
		// No live session: only the cookie to expire.
		if err := h.sessions.SignOut(w, r); err != nil {
			h.log.ErrorContext(ctx, "sign out", "err", err)
		}
		webui.Redirect(w, r, "/login?notice=signed_out")
		return
	case err != nil:
		h.internal(w, r, "sign out: read the session", err)
		return
	}
	// The session's tokens are revoked and its sites told (onSignOut, one
	// transaction) before the session itself ends: a failure of either
	// leaves the session as it was and answers 503, and the citizen's
	// retry does the whole sign-out. Ending the session first, as before,
	// lost the revocation and the back-channel logouts for good when the
	// database failed in between (the soak's pg-restart found it): the
	// retry found no session to end. A retry after onSignOut committed and
	// the session's end failed revokes again (idempotent) and enqueues the
	// logouts again (unique while the first ones wait).
	if h.onSignOut != nil {
		if err := h.onSignOut(context.WithoutCancel(ctx), s.AccountID, s.ID); err != nil {
			h.internal(w, r, "sign out: revoke the session's tokens", err)
			return
		}
	}
	if err := h.sessions.SignOut(w, r); err != nil {
		// SignOut expired the cookie even so; the session lives on, and
		// the retry needs the cookie to end it.
		w.Header().Del("Set-Cookie")
		h.internal(w, r, "sign out: end the session", err)
		return
	}
	if err := h.accounts.AddEvent(ctx, account.Event{AccountID: s.AccountID, Kind: account.EventSignOut, Result: account.ResultOK,
		IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		h.log.ErrorContext(ctx, "account event", "err", err)
	}
	webui.Redirect(w, r, "/login?notice=signed_out")
}

// unavailable answers 503 on the sign-in page: a store failed, the
// attempt was not judged, the citizen may simply try again.
// An overloaded password-hashing pool says so, with a shorter wait.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, v loginView, what string, err error) {
	v.Error = v.L.T(h.unavailableText(w, r, what, err))
	h.renderLogin(w, r, http.StatusServiceUnavailable, v)
}

// unavailableText logs a failure that is no verdict, sets Retry-After
// and returns the key of the text to show.
func (h *Handler) unavailableText(w http.ResponseWriter, r *http.Request, what string, err error) string {
	if webui.Overloaded(w, err) {
		h.log.WarnContext(r.Context(), what, "err", err)
		return "login.err.busy"
	}
	h.log.ErrorContext(r.Context(), what, "err", err)
	w.Header().Set("Retry-After", "5")
	return "login.err.unavailable"
}

// internal answers a failure of a store in the middle of a sign-in (the
// second factor's flow, the session): like unavailable, 503 with
// Retry-After and nothing judged — on a sign-in path a store that cannot
// answer is an outage to wait out, not an error page to give up on.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.unavailable(w, r, loginView{Page: h.render.NewPage(r, "login.title")}, what, err)
}

func minutes(d time.Duration) int {
	m := int((d + time.Minute - 1) / time.Minute)
	return max(m, 1)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
