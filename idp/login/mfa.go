package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// The second factor. When an account's MFA policy is on, a right password
// does not start a session: it starts an "mfa" flow (sealed, in the
// database) and sends the browser to /login/2fa, which asks for the code of
// the account's factor (an authenticator app's TOTP code, or an SMS code),
// or a backup code. A browser that passed the second factor may be
// remembered for 30 days on the same IP address (a cookie bound to the
// account, the device and the IP): a new device or a new IP is asked again.
//
// The same page steps up an existing single-factor session when a relying
// party asks for urn:gosid:ac:mfa (/login/2fa?stepup=1&next=…).
//
// Wrong codes count toward the sign-in lock-out like wrong passwords.

// TOTP verifies authenticator-app codes. VerifyFor is Verify for one
// attempt (the flow's token): the attempt's own retry of a code it used is
// accepted (its answer was lost: a 503 after the step was recorded).
type TOTP interface {
	Verify(ctx context.Context, accountID, code string) error
	VerifyFor(ctx context.Context, accountID, code, attempt string) error
}

// BackupCodes spends backup codes.
type BackupCodes interface {
	Use(ctx context.Context, accountID, code string) error
	Remaining(ctx context.Context, accountID string) (int, error)
}

// Passkeys checks a passkey or security key as the second factor.
type Passkeys interface {
	BeginSecondFactor(ctx context.Context, accountID string) (json.RawMessage, error)
	FinishSecondFactor(ctx context.Context, accountID string, body []byte) ([]string, error)
}

// MFADeps are what the second-factor step needs; set on Deps.
type MFADeps struct {
	// Passkeys, with HasPasskeys, offers the account's passkeys and
	// security keys as the second factor; optional.
	Passkeys    Passkeys
	HasPasskeys func(ctx context.Context, accountID string) bool
	TOTP        TOTP
	Backup      BackupCodes
	Codes       *codestep.Step
	Flows       *flow.Store
	Devices     *Devices
	// Get reads the account (for the SMS factor's phone).
	Get func(ctx context.Context, id string) (*account.Account, error)
	// AddAuthentication steps a session up.
	AddAuthentication func(ctx context.Context, sessionID string, amr []string, at time.Time) error
}

const (
	mfaFlow = "mfa"
	mfaTTL  = 10 * time.Minute
)

// mfaState is the sealed state of a pending second factor.
type mfaState struct {
	AccountID string   `json:"account_id"`
	AMR       []string `json:"amr"`
	Next      string   `json:"next"`
	SessionID string   `json:"session_id,omitempty"` // step-up of this session
	Challenge string   `json:"challenge,omitempty"`  // SMS challenge
}

type mfaView struct {
	webui.Page
	Method  string // totp, sms
	Backup  bool
	Masked  string
	Passkey bool // the account has passkeys to offer
}

// PasskeyAssert is the page's passkey button.
func (v mfaView) PasskeyAssert() passkeyAssert {
	return passkeyAssert{L: v.L, Begin: "/login/2fa/passkey/begin", Finish: "/login/2fa/passkey/finish",
		Busy: "mfa.passkey.busy", Button: "mfa.passkey"}
}

// passkeyAssert is the passkey button of a page that asks for a second
// factor or a fresh session: the "passkey-assert" block of partials.html.
type passkeyAssert struct {
	L webui.Localizer
	// Begin and Finish are the JSON endpoints; Next, when set, is where
	// the browser goes after.
	Begin, Finish, Next string
	// Busy and Button are the keys of the texts.
	Busy, Button string
}

// beginMFA starts the second-factor step after a right password.
func (h *Handler) beginMFA(w http.ResponseWriter, r *http.Request, a *account.Account, next string, sessionID string, amr []string) {
	st := mfaState{AccountID: a.ID, AMR: amr, Next: next, SessionID: sessionID}
	if err := h.mfa.Flows.Begin(w, r, mfaFlow, st, mfaTTL); err != nil {
		h.internal(w, r, "start second factor", err)
		return
	}
	webui.Redirect(w, r, "/login/2fa")
}

func (h *Handler) mfaPage(r *http.Request, a *account.Account) mfaView {
	v := mfaView{Page: h.render.NewPage(r, "mfa.title"), Method: a.MFA, Backup: r.URL.Query().Get("backup") == "1"}
	if a.MFA == account.MFASMS && a.Phone.Value != "" {
		v.Masked = maskPhone(a.Phone.Value)
	}
	v.Passkey = h.mfa.Passkeys != nil && h.mfa.HasPasskeys != nil && h.mfa.HasPasskeys(r.Context(), a.ID)
	return v
}

// showMFA asks for the code; for SMS it sends one first. With stepup=1 it
// starts a step-up of the current session.
func (h *Handler) showMFA(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.URL.Query().Get("stepup") == "1" {
		s, err := h.sessions.Current(r)
		if err != nil && !session.Gone(err) {
			h.internal(w, r, "session", err)
			return
		}
		if err != nil {
			webui.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()))
			return
		}
		a, err := h.mfa.Get(ctx, s.AccountID)
		if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
			h.internal(w, r, "account of session", err)
			return
		}
		if err != nil || a.MFA == "" {
			webui.Redirect(w, r, "/account/security?need=mfa")
			return
		}
		h.beginMFA(w, r, a, webui.SafeNext(r.URL.Query().Get("next")), s.ID, s.AMR)
		return
	}
	token, version, st, a, ok := h.loadMFA(w, r)
	if !ok {
		return
	}
	v := h.mfaPage(r, a)
	if a.MFA == account.MFASMS && st.Challenge == "" && !v.Backup {
		// The flow names the code's challenge before the code is sent.
		err := h.mfa.Codes.IssueInto(ctx, codestep.Send{Purpose: "login", Channel: message.SMS, To: a.Phone.Value,
			IP: httpx.ClientIP(r), Lang: v.L.Lang, Kind: notice.KindCodeLogin}, h.mfa.Flows, mfaFlow, token, version, &st, &st.Challenge)
		switch {
		case err == nil, errors.Is(err, sqldb.ErrConflict):
			// Sent, or sent by the browser's other request that saved first.
		case codestep.Judged(err):
			v.Error = codestep.Explain(err, v.L)
		default:
			h.internal(w, r, "send second-factor code", err)
			return
		}
	}
	h.render.Render(w, r, http.StatusOK, "mfa", v)
}

// loadMFA reads the browser's second-factor flow and its account; without
// a flow the browser goes back to /login.
func (h *Handler) loadMFA(w http.ResponseWriter, r *http.Request) (string, int, mfaState, *account.Account, bool) {
	var st mfaState
	token, version, err := h.mfa.Flows.FromRequest(r, mfaFlow, &st)
	if err != nil && !sqldb.Gone(err) {
		// Not read, so not gone: the citizen retries the step, not the
		// password.
		h.internal(w, r, "second factor flow", err)
		return "", 0, st, nil, false
	}
	if err != nil {
		webui.Redirect(w, r, "/login")
		return "", 0, st, nil, false
	}
	a, err := h.mfa.Get(r.Context(), st.AccountID)
	if err != nil {
		h.internal(w, r, "account of second factor", err)
		return "", 0, st, nil, false
	}
	return token, version, st, a, true
}

func (h *Handler) submitMFA(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, _, st, a, ok := h.loadMFA(w, r)
	if !ok {
		return
	}
	if h.lockedOut(w, r, token, a) {
		webui.Redirect(w, r, "/login")
		return
	}
	v := h.mfaPage(r, a)
	v.Form = webui.NewForm(r)
	code := strings.TrimSpace(r.PostFormValue("code"))
	backup := strings.TrimSpace(r.PostFormValue("backup_code"))
	var method []string
	var err error
	switch {
	case backup != "":
		v.Backup = true
		if err = h.mfa.Backup.Use(ctx, a.ID, backup); err == nil {
			method = []string{"otp"}
			h.backupCodeUsed(ctx, a, v.L.Lang)
		}
	case !codestep.ValidCode(code):
		v.Form.Fail("code", v.L.T("mfa.err.format"))
		h.render.Render(w, r, http.StatusUnprocessableEntity, "mfa", v)
		return
	case a.MFA == account.MFATOTP:
		// Bound to this flow: a retry after a 503 (the step recorded, the
		// sign-in not completed) is not refused as a replay.
		if err = h.mfa.TOTP.VerifyFor(ctx, a.ID, code, token); err == nil {
			method = []string{"otp"}
		}
	case a.MFA == account.MFASMS:
		if err = h.mfa.Codes.Check(ctx, st.Challenge, "login", a.Phone.Value, code); err == nil {
			method = []string{"sms"}
		}
	default:
		err = errNoFactor
	}
	if err != nil && !wrongCode(err) {
		h.internal(w, r, "check second factor", err)
		return
	}
	field := "code"
	if backup != "" {
		field = "backup_code"
	}
	if spentCode(err) {
		v.Form.Fail(field, v.L.T("mfa.err.used"))
		h.render.Render(w, r, http.StatusUnprocessableEntity, "mfa", v)
		return
	}
	if err != nil {
		h.event(ctx, a.ID, account.EventSignInFailed, account.ResultFailed, r)
		lockedNow, lerr := h.accounts.RecordFailure(ctx, a.ID, h.cfg.MaxFailures, h.cfg.LockFor)
		if lerr != nil {
			h.log.ErrorContext(ctx, "record failed second factor", "err", lerr)
		}
		if lockedNow {
			h.event(ctx, a.ID, account.EventLocked, account.ResultOK, r)
			h.notifier.Account(ctx, a, notice.KindNoticeLocked, v.L.Lang, map[string]string{"minutes": strconv.Itoa(int(h.cfg.LockFor.Minutes()))})
			h.endMFA(w, r, token, a)
			webui.Redirect(w, r, "/login")
			return
		}
		v.Form.Fail(field, v.L.T("mfa.err.wrong"))
		h.render.Render(w, r, http.StatusUnauthorized, "mfa", v)
		return
	}
	next, err := h.completeMFA(w, r, token, st, a, method, r.PostFormValue("remember") == "yes")
	if err != nil {
		if errors.Is(err, errFlowGone) {
			webui.Redirect(w, r, "/login")
			return
		}
		h.internal(w, r, "complete second factor", err)
		return
	}
	webui.Redirect(w, r, next)
}

var (
	errFlowGone = errors.New("second-factor flow gone")
	errNoFactor = errors.New("no second factor configured")
)

// wrongCode reports whether err is a verdict on a typed second-factor
// code: wrong, already used, expired, no such challenge, no factor. Any
// other error is a store that did not answer and judged nothing: it is
// answered 503 and counts toward no lock-out, so that a right code is
// never called wrong during a database blip or an exhausted pool.
func wrongCode(err error) bool {
	return codestep.Judged(err) || errors.Is(err, errNoFactor)
}

// spentCode reports whether err is a right code spent already (an SMS
// challenge's, a backup code): no guess — most likely the citizen's retry
// after a 503 lost the first answer — so it counts toward no lock-out and
// the citizen is asked for a new code.
func spentCode(err error) bool {
	return errors.Is(err, otp.ErrUsed) || errors.Is(err, backupcode.ErrUsed)
}

// passkeyRefused is wrongCode for passkeys: only an assertion the passkey
// service judged and refused counts toward the lock-out; a store that did
// not answer (passkey.ErrInternal) judged nothing and is answered 503.
func passkeyRefused(err error) bool {
	var r interface{ Refused() bool }
	return errors.As(err, &r) && r.Refused()
}

// lockedOut ends the flow of a locked account: wrong codes count toward
// the lock-out like wrong passwords, and a locked account tries no more
// codes, in this flow or any other, until the lock ends.
func (h *Handler) lockedOut(w http.ResponseWriter, r *http.Request, token string, a *account.Account) bool {
	if !a.Locked(h.cfg.Now()) {
		return false
	}
	h.endMFA(w, r, token, a)
	return true
}

// endMFA deletes the flow and its cookie. Should the delete fail, the
// flow lives on until it expires, but lockedOut refuses its codes while
// the lock lasts.
func (h *Handler) endMFA(w http.ResponseWriter, r *http.Request, token string, a *account.Account) {
	ctx := r.Context()
	if err := h.mfa.Flows.End(ctx, w, mfaFlow, token); err != nil {
		h.log.ErrorContext(ctx, "end second-factor flow", "account", a, "err", err)
	}
}

// backupCodeUsed tells the owner that a backup code was spent, and how
// many are left.
func (h *Handler) backupCodeUsed(ctx context.Context, a *account.Account, lang string) {
	n, err := h.mfa.Backup.Remaining(ctx, a.ID)
	if err != nil {
		// The notice matters more than its count: it goes out saying none
		// are left, which sends the owner to make new ones.
		h.log.ErrorContext(ctx, "count backup codes", "account", a, "err", err)
	}
	h.notifier.Account(ctx, a, notice.KindNoticeBackupCodeUsed, lang, map[string]string{"remaining": strconv.Itoa(n)})
}

// completeMFA finishes the flow (st, as loaded) after a right second
// factor: it starts (or steps up) the session with every method used,
// records the event, and returns where the browser goes next. The flow is
// spent only with the session: when the database fails in between, the
// flow and its cookie stay for the citizen's retry (the code is accepted
// again for the same flow), which would otherwise find no flow and be
// sent back to the password.
func (h *Handler) completeMFA(w http.ResponseWriter, r *http.Request, token string, st mfaState, a *account.Account, methods []string, remember bool) (string, error) {
	ctx := r.Context()
	// What the flow's Saves change (the SMS challenge) is not used here:
	// the state as loaded is the state taken.
	take := func(flows *flow.Store) error {
		if err := flows.Take(ctx, mfaFlow, token, &mfaState{}); err != nil {
			if sqldb.Gone(err) {
				return errFlowGone
			}
			return err
		}
		return nil
	}
	amr := dedupe(append(append(slices.Clone(st.AMR), methods...), "mfa"))
	ip := httpx.ClientIP(r)
	if st.SessionID != "" {
		// A step-up: the session first, then the flow; stepping up again
		// on a retry changes nothing more. Zero: the session store's
		// clock, the one freshness is judged by.
		if err := h.mfa.AddAuthentication(ctx, st.SessionID, amr, time.Time{}); err != nil {
			return "", err
		}
		if err := take(h.mfa.Flows); err != nil {
			return "", err
		}
	} else if _, err := h.sessions.StartIn(w, r, a, amr, ip, func(tx *sqldb.Tx) error { return take(h.mfa.Flows.With(tx)) }); err != nil {
		return "", err
	}
	h.mfa.Flows.Clear(w, mfaFlow)
	if err := h.accounts.RecordSuccess(ctx, a.ID); err != nil {
		// The sign-in stands (both factors were right); the count of
		// failures stays, so that fewer wrong passwords lock the account
		// next time: the operator is told.
		h.log.ErrorContext(ctx, "reset failure count after the second factor", "account", a, "err", err)
	}
	if err := h.accounts.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventSignIn, Result: account.ResultOK,
		Method: strings.Join(amr, " "), IP: ip, UserAgent: r.UserAgent()}); err != nil {
		h.log.ErrorContext(ctx, "account event", "err", err)
	}
	if remember {
		if err := h.mfa.Devices.Remember(ctx, w, a.ID, ip, r.UserAgent()); err != nil {
			h.log.ErrorContext(ctx, "remember device", "err", err)
		}
	}
	if next := webui.SafeNext(st.Next); next != "" {
		return next, nil
	}
	return h.cfg.Home, nil
}

// passkeyFlow reads the second-factor flow of a passkey step, or answers
// in JSON: expired when it is gone (or passkeys are off), 503 when the
// store did not answer.
func (h *Handler) passkeyFlow(w http.ResponseWriter, r *http.Request, l webui.Localizer) (string, mfaState, bool) {
	var st mfaState
	token, _, err := h.mfa.Flows.FromRequest(r, mfaFlow, &st)
	if err != nil && !sqldb.Gone(err) {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "second factor flow", err)))
		return "", st, false
	}
	if err != nil || h.mfa.Passkeys == nil {
		jsonError(w, http.StatusBadRequest, "expired", l.T("mfa.err.expired"))
		return "", st, false
	}
	return token, st, true
}

// beginPasskeyMFA returns the WebAuthn options for the flow's account.
func (h *Handler) beginPasskeyMFA(w http.ResponseWriter, r *http.Request) {
	l := h.render.Localizer(r)
	_, st, ok := h.passkeyFlow(w, r, l)
	if !ok {
		return
	}
	opts, err := h.mfa.Passkeys.BeginSecondFactor(r.Context(), st.AccountID)
	if err != nil && !passkeyRefused(err) {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "passkey options", err)))
		return
	}
	if err != nil {
		jsonError(w, http.StatusBadRequest, "passkey", l.T("mfa.err.passkey"))
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(opts))
}

// finishPasskeyMFA checks the assertion and completes the sign-in.
func (h *Handler) finishPasskeyMFA(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := h.render.Localizer(r)
	token, st, ok := h.passkeyFlow(w, r, l)
	if !ok {
		return
	}
	body, a, ok := h.assertion(w, r, l, st.AccountID)
	if !ok {
		return
	}
	if h.lockedOut(w, r, token, a) {
		jsonError(w, http.StatusBadRequest, "expired", l.T("mfa.err.expired"))
		return
	}
	methods, err := h.mfa.Passkeys.FinishSecondFactor(ctx, a.ID, body)
	if err != nil && !passkeyRefused(err) {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "passkey second factor", err)))
		return
	}
	if err != nil {
		h.event(ctx, a.ID, account.EventSignInFailed, account.ResultFailed, r)
		if lockedNow, lerr := h.accounts.RecordFailure(ctx, a.ID, h.cfg.MaxFailures, h.cfg.LockFor); lerr == nil && lockedNow {
			h.event(ctx, a.ID, account.EventLocked, account.ResultOK, r)
		}
		jsonError(w, http.StatusBadRequest, "passkey", l.T("mfa.err.passkey"))
		return
	}
	next, err := h.completeMFA(w, r, token, st, a, methods, false)
	if errors.Is(err, errFlowGone) {
		jsonError(w, http.StatusBadRequest, "expired", l.T("mfa.err.expired"))
		return
	}
	if err != nil {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "complete second factor", err)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

// assertion reads the posted passkey assertion (at most 64 KiB) and the
// account it is for; a failure is answered in JSON.
func (h *Handler) assertion(w http.ResponseWriter, r *http.Request, l webui.Localizer, accountID string) ([]byte, *account.Account, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		jsonError(w, http.StatusBadRequest, "malformed", l.T("mfa.err.passkey"))
		return nil, nil, false
	}
	a, err := h.mfa.Get(r.Context(), accountID)
	if err != nil {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "account of passkey", err)))
		return nil, nil, false
	}
	return body, a, true
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

// writeJSON answers with body as JSON, never cached: a json.RawMessage as
// it is, anything else encoded.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if raw, ok := body.(json.RawMessage); ok {
		_, _ = w.Write(raw)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Devices remembers browsers that passed a second factor.
type Devices struct {
	DB *sqldb.DB
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Secure names the device cookie for an IdP served over HTTPS
	// (webui.CookieName) and marks it Secure; Remember and Trusted agree on
	// the name through it.
	Secure bool
}

func (d *Devices) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

const (
	deviceCookie = "gosid_device"
	deviceTTL    = 30 * 24 * time.Hour
)

// Remember sets the device cookie for the account on this IP.
func (d *Devices) Remember(ctx context.Context, w http.ResponseWriter, accountID, ip, ua string) error {
	token, hash := bearer.New()
	now := d.now()
	_, err := d.DB.Exec(ctx, `INSERT INTO trusted_devices (token_hash, account_id, ip, user_agent, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, accountID, ip, truncateUA(ua), sqldb.Micros(now), sqldb.Micros(now.Add(deviceTTL)))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: webui.CookieName(deviceCookie, d.Secure), Value: token, Path: "/", MaxAge: int(deviceTTL.Seconds()),
		HttpOnly: true, Secure: d.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// Trusted reports whether the request's device cookie was remembered for
// this account from this IP and has not expired.
func (d *Devices) Trusted(ctx context.Context, r *http.Request, accountID, ip string) bool {
	c, err := r.Cookie(webui.CookieName(deviceCookie, d.Secure))
	if err != nil {
		return false
	}
	hash, ok := bearer.Hash(c.Value)
	if !ok {
		return false
	}
	var n int
	err = d.DB.QueryRow(ctx, `SELECT count(*) FROM trusted_devices WHERE token_hash = $1 AND account_id = $2 AND ip = $3 AND expires_at > $4`,
		hash, accountID, ip, sqldb.Micros(d.now())).Scan(&n)
	return err == nil && n == 1
}

// Forget removes every remembered device of the account: the second factor
// turned off, the password changed or recovered, a contact change undone.
// Whoever knew the old password may also hold a remembered browser.
func (d *Devices) Forget(ctx context.Context, accountID string) error {
	_, err := d.DB.Exec(ctx, `DELETE FROM trusted_devices WHERE account_id = $1`, accountID)
	return err
}

// Sweep deletes remembered devices whose time is over and returns how
// many. Every replica may run it.
func (d *Devices) Sweep(ctx context.Context) (int, error) {
	res, err := d.DB.Exec(ctx, `DELETE FROM trusted_devices WHERE expires_at <= $1`, sqldb.Micros(d.now()))
	if err != nil {
		return 0, fmt.Errorf("login: sweep remembered devices: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("login: sweep remembered devices: %w", err)
	}
	return int(n), nil
}

// truncateUA bounds the stored user agent to 300 bytes of valid UTF-8:
// PostgreSQL refuses a rune cut in half, and a header may carry any byte.
func truncateUA(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.ToValidUTF8(s, "")
}

func maskPhone(p string) string {
	if len(p) < 4 {
		return "***"
	}
	return strings.Repeat("*", len(p)-4) + p[len(p)-2:]
}
