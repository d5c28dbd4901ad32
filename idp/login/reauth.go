package login

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

// Re-authentication. Sensitive changes in the account centre (contacts,
// password, second factors, passkeys, certificates, deletion) need an
// authentication at most a few minutes old (session.Reauth); a stale
// session is sent here with ?next= the form's page. The citizen proves
// again that it is them, the CURRENT session records the authentication
// (same session, amr extended, auth_time now) and the browser returns to
// the form, so nothing is lost but a click.
//
//	GET  /account/reauth?next=…             the form
//	POST /account/reauth                    the password, with the second factor's code (or a backup
//	                                        code) when the account has one; for an account without a
//	                                        password, its factor's code or a code to a verified contact
//	POST /account/reauth/send               an SMS or e-mail code for the form
//	POST /account/reauth/passkey/begin      instead, a passkey with user verification (JSON)
//	POST /account/reauth/passkey/finish?next=…
//
// What is asked is what a sign-in would ask: a stolen session must not be a
// shortcut around the account's second factor. A passkey that verified the
// user is two factors by itself. An account whose password sign-in is
// suspended (until recovery) is asked as if it had no password.
//
// Wrong passwords and codes count toward the account's lock-out exactly as
// at sign-in, and against sign-in's failure limits per client address and
// per account (idp/ratelimit); while the password is locked it is not
// checked at all.

// EventReauth is the sign-in history's entry of a re-authentication.
const EventReauth = "reauthenticated"

// reauthPurpose binds the page's one-time codes to it.
const reauthPurpose = "reauth"

func (h *Handler) reauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+session.ReauthPath, h.showReauth)
	mux.HandleFunc("POST "+session.ReauthPath, h.submitReauth)
	mux.HandleFunc("POST "+session.ReauthPath+"/send", h.sendReauthCode)
	mux.HandleFunc("POST "+session.ReauthPath+"/passkey/begin", h.beginReauthPasskey)
	mux.HandleFunc("POST "+session.ReauthPath+"/passkey/finish", h.finishReauthPasskey)
}

type reauthView struct {
	webui.Page
	// Next is where the browser returns (the form's page).
	Next string
	// Password: the password is asked.
	Password bool
	// Method is the code asked: totp, sms, email, or "" for none.
	Method string
	// Masked is where an SMS or e-mail code goes.
	Masked string
	// Backup: a backup code may replace the code (the account has a
	// second factor).
	Backup bool
	// Challenge is the id of a code sent; it is bound to the purpose and
	// the destination, so it may travel in the form.
	Challenge string
	Passkey   bool
	// Nothing: the account has no way to re-authenticate here.
	Nothing bool
}

// PasskeyAssert is the page's passkey button.
func (v reauthView) PasskeyAssert() passkeyAssert {
	return passkeyAssert{L: v.L, Begin: "/account/reauth/passkey/begin", Finish: "/account/reauth/passkey/finish", Next: v.Next,
		Busy: "reauth.passkey.busy", Button: "reauth.passkey"}
}

// reauthMethods says what the account is asked: the password or not, and
// which code (with its destination).
func reauthMethods(a *account.Account) (password bool, method, to string) {
	password = a.PasswordHash != "" && !a.PasswordSuspended()
	switch {
	case a.MFA == account.MFATOTP:
		method = "totp"
	case a.MFA == account.MFASMS:
		method, to = "sms", a.Phone.Value
	case password:
	case a.Phone.Verified():
		method, to = "sms", a.Phone.Value
	case a.Email.Verified():
		method, to = "email", a.Email.Value
	}
	return password, method, to
}

// reauthSession returns the session and its account; without a session
// the browser signs in, which is itself a fresh authentication, and goes
// on to next.
func (h *Handler) reauthSession(w http.ResponseWriter, r *http.Request, next string) (*session.Session, *account.Account, bool) {
	s, err := h.sessions.Current(r)
	if err != nil && !session.Gone(err) {
		h.internal(w, r, "session", err)
		return nil, nil, false
	}
	if err != nil {
		webui.Redirect(w, r, "/login?next="+url.QueryEscape(next))
		return nil, nil, false
	}
	a, err := h.mfa.Get(r.Context(), s.AccountID)
	if err != nil {
		h.internal(w, r, "account of session", err)
		return nil, nil, false
	}
	return s, a, true
}

// reauthNext is the validated return address (the account overview by
// default).
func reauthNext(next string) string {
	if next = webui.SafeNext(next); next == "" {
		return reauthHome
	}
	return next
}

// reauthHome is where a re-authentication without a return address lands.
const reauthHome = "/account"

func (h *Handler) reauthPage(r *http.Request, a *account.Account, next string) reauthView {
	v := reauthView{Page: h.render.NewPage(r, "reauth.title"), Next: next}
	v.SignedIn = true
	other := "en"
	if v.L.Lang == "en" {
		other = "ru"
	}
	v.OtherLangURL = session.ReauthPath + "?" + url.Values{"lang": {other}, "next": {next}}.Encode()
	var to string
	v.Password, v.Method, to = reauthMethods(a)
	v.Masked = maskContact(v.Method, to)
	v.Backup = a.MFA != ""
	v.Passkey = h.mfa.Passkeys != nil && h.mfa.HasPasskeys != nil && h.mfa.HasPasskeys(r.Context(), a.ID)
	v.Nothing = !v.Password && v.Method == "" && !v.Passkey
	return v
}

func maskContact(method, to string) string {
	switch {
	case to == "":
		return ""
	case method == "email":
		if at := strings.IndexByte(to, '@'); at > 0 {
			return to[:1] + "***" + to[at:]
		}
		return "***"
	}
	return maskPhone(to)
}

func (h *Handler) showReauth(w http.ResponseWriter, r *http.Request) {
	next := reauthNext(r.URL.Query().Get("next"))
	_, a, ok := h.reauthSession(w, r, next)
	if !ok {
		return
	}
	v := h.reauthPage(r, a, next)
	if v.Nothing {
		v.Error = v.L.T("reauth.err.nothing")
	}
	h.render.Render(w, r, http.StatusOK, "reauth", v)
}

// sendReauthCode sends the form's SMS or e-mail code.
func (h *Handler) sendReauthCode(w http.ResponseWriter, r *http.Request) {
	next := reauthNext(r.PostFormValue("next"))
	_, a, ok := h.reauthSession(w, r, next)
	if !ok {
		return
	}
	v := h.reauthPage(r, a, next)
	_, method, to := reauthMethods(a)
	if method != "sms" && method != "email" {
		webui.Redirect(w, r, session.ReauthURL(next))
		return
	}
	ch := message.SMS
	if method == "email" {
		ch = message.Email
	}
	id, err := h.mfa.Codes.Issue(r.Context(), codestep.Send{Purpose: reauthPurpose, Channel: ch, To: to,
		IP: httpx.ClientIP(r), Lang: v.L.Lang, Kind: notice.KindCodeLogin})
	if err != nil {
		v.Error = codestep.Explain(err, v.L)
		h.render.Render(w, r, h.mfa.Codes.Refusal(r.Context(), w, err), "reauth", v)
		return
	}
	v.Challenge = id
	v.Notice = v.L.T("reauth.sent", v.Masked)
	h.render.Render(w, r, http.StatusOK, "reauth", v)
}

func (h *Handler) submitReauth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	next := reauthNext(r.PostFormValue("next"))
	s, a, ok := h.reauthSession(w, r, next)
	if !ok {
		return
	}
	v := h.reauthPage(r, a, next)
	v.Form = webui.NewForm(r)
	v.Challenge = r.PostFormValue("challenge")
	l := v.L
	if v.Nothing {
		v.Error = l.T("reauth.err.nothing")
		h.render.Render(w, r, http.StatusConflict, "reauth", v)
		return
	}
	pw := r.PostFormValue("password")
	code, backup := strings.TrimSpace(r.PostFormValue("code")), strings.TrimSpace(r.PostFormValue("backup_code"))
	// The form first: a missing field or a typo costs no attempt.
	if v.Password && pw == "" {
		v.Form.Fail("password", l.T("login.err.password_required"))
	} else if len(pw) > 1024 {
		v.Form.Fail("password", l.T("reauth.err.password"))
	}
	if v.Method != "" && (backup == "" || !v.Backup) {
		switch {
		case (v.Method == "sms" || v.Method == "email") && v.Challenge == "":
			v.Form.Fail("code", l.T("reauth.err.send_first"))
		case !codestep.ValidCode(code):
			v.Form.Fail("code", l.T("mfa.err.format"))
		}
	}
	if !v.Form.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "reauth", v)
		return
	}

	ip, key := httpx.ClientIP(r), h.loginKey("account", a.ID)
	wait, limited, err := h.limited(ctx, ip, key)
	if err != nil {
		v.Error = l.T(h.unavailableText(w, r, "rate limit", err))
		h.render.Render(w, r, http.StatusServiceUnavailable, "reauth", v)
		return
	}
	if limited {
		h.event(ctx, a.ID, account.EventSignInFailed, account.ResultDenied, r)
		v.Error = l.T("login.err.too_many", minutes(wait))
		h.render.Render(w, r, http.StatusTooManyRequests, "reauth", v)
		return
	}
	var amr []string
	if v.Password {
		if a.Locked(h.cfg.Now()) {
			h.event(ctx, a.ID, account.EventSignInFailed, account.ResultDenied, r)
			v.Error = l.T("reauth.err.locked")
			h.render.Render(w, r, http.StatusForbidden, "reauth", v)
			return
		}
		right, _, err := h.passwords.Verify(ctx, a.PasswordHash, pw)
		if err != nil {
			v.Error = l.T(h.unavailableText(w, r, "verify password", err))
			h.render.Render(w, r, http.StatusServiceUnavailable, "reauth", v)
			return
		}
		if !right {
			h.reauthFailed(w, r, a, v, ip, key, "password", l.T("reauth.err.password"))
			return
		}
		amr = append(amr, "pwd")
	}
	if v.Method != "" {
		methods, field, err := h.reauthCode(r, a, v, code, backup, "reauth\x00"+s.ID)
		if err != nil && !wrongCode(err) {
			v.Error = l.T(h.unavailableText(w, r, "check code", err))
			h.render.Render(w, r, http.StatusServiceUnavailable, "reauth", v)
			return
		}
		if spentCode(err) {
			v.Form.Fail(field, l.T("mfa.err.used"))
			h.render.Render(w, r, http.StatusUnprocessableEntity, "reauth", v)
			return
		}
		if err != nil {
			h.reauthFailed(w, r, a, v, ip, key, field, l.T("mfa.err.wrong"))
			return
		}
		amr = append(amr, methods...)
	}
	if len(amr) > 1 {
		amr = append(amr, "mfa")
	}
	if a.FailedLogins > 0 {
		if err := h.accounts.RecordSuccess(ctx, a.ID); err != nil {
			h.log.ErrorContext(ctx, "reset failure count", "account", a, "err", err)
		}
	}
	h.reauthenticated(w, r, s, a, amr, v.Next)
}

// reauthCode checks the code (or the backup code) of the form and returns
// its amr, or the field to blame.
// reauthCode checks the code or backup code of a re-authentication;
// attempt names it (the session's) so that its own retry of an
// authenticator code whose answer was lost is not a replay.
func (h *Handler) reauthCode(r *http.Request, a *account.Account, v reauthView, code, backup, attempt string) ([]string, string, error) {
	ctx := r.Context()
	if backup != "" && v.Backup {
		if err := h.mfa.Backup.Use(ctx, a.ID, backup); err != nil {
			return nil, "backup_code", err
		}
		h.backupCodeUsed(ctx, a, v.L.Lang)
		return []string{"otp"}, "", nil
	}
	_, method, to := reauthMethods(a)
	switch method {
	case "totp":
		return []string{"otp"}, "code", h.mfa.TOTP.VerifyFor(ctx, a.ID, code, attempt)
	case "sms":
		return []string{"sms"}, "code", h.mfa.Codes.Check(ctx, v.Challenge, reauthPurpose, to, code)
	case "email":
		return []string{"otp"}, "code", h.mfa.Codes.Check(ctx, v.Challenge, reauthPurpose, to, code)
	}
	return nil, "code", errNoFactor
}

// reauthFailed counts a wrong password or code as sign-in does (the
// failure limits, the account's lock-out and its notice) and shows the
// form again.
func (h *Handler) reauthFailed(w http.ResponseWriter, r *http.Request, a *account.Account, v reauthView, ip, key, field, msg string) {
	ctx := r.Context()
	h.event(ctx, a.ID, account.EventSignInFailed, account.ResultFailed, r)
	h.fail(ctx, ip, key)
	lockedNow, err := h.accounts.RecordFailure(ctx, a.ID, h.cfg.MaxFailures, h.cfg.LockFor)
	if err != nil {
		h.log.ErrorContext(ctx, "record failed re-authentication", "account", a, "err", err)
	}
	if lockedNow {
		h.event(ctx, a.ID, account.EventLocked, account.ResultOK, r)
		h.noticeLocked(ctx, r, a)
		v.Error = v.L.T("reauth.err.locked")
		h.render.Render(w, r, http.StatusForbidden, "reauth", v)
		return
	}
	v.Form.Fail(field, msg)
	h.render.Render(w, r, http.StatusUnauthorized, "reauth", v)
}

// reauthenticated records the authentication on the current session and
// returns the browser to the form.
func (h *Handler) reauthenticated(w http.ResponseWriter, r *http.Request, s *session.Session, a *account.Account, amr []string, next string) {
	if err := h.recordReauth(r, s, a, amr); err != nil {
		h.internal(w, r, "record re-authentication", err)
		return
	}
	webui.Redirect(w, r, next)
}

func (h *Handler) recordReauth(r *http.Request, s *session.Session, a *account.Account, amr []string) error {
	ctx := r.Context()
	// Zero time: the session store's clock, the one freshness is judged by.
	if err := h.mfa.AddAuthentication(ctx, s.ID, amr, time.Time{}); err != nil {
		return err
	}
	if err := h.accounts.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: EventReauth, Result: account.ResultOK,
		Method: strings.Join(amr, " "), IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		h.log.ErrorContext(ctx, "account event", "err", err)
	}
	return nil
}

// errNoUserVerification: the passkey did not verify the user, so it is
// one factor only.
var errNoUserVerification = errors.New("passkey without user verification")

// reauthPasskeySession is the session that a passkey re-authenticates;
// without one, or without passkeys, the answer is a JSON error.
func (h *Handler) reauthPasskeySession(w http.ResponseWriter, r *http.Request, l webui.Localizer) (*session.Session, bool) {
	s, err := h.sessions.Current(r)
	if err != nil && !session.Gone(err) {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "session", err)))
		return nil, false
	}
	if err != nil {
		jsonError(w, http.StatusUnauthorized, "signed_out", l.T("reauth.err.signed_out"))
		return nil, false
	}
	if h.mfa.Passkeys == nil {
		jsonError(w, http.StatusBadRequest, "passkey", l.T("mfa.err.passkey"))
		return nil, false
	}
	return s, true
}

func (h *Handler) beginReauthPasskey(w http.ResponseWriter, r *http.Request) {
	l := h.render.Localizer(r)
	s, ok := h.reauthPasskeySession(w, r, l)
	if !ok {
		return
	}
	opts, err := h.mfa.Passkeys.BeginSecondFactor(r.Context(), s.AccountID)
	if err != nil {
		h.log.InfoContext(r.Context(), "re-authentication passkey refused", "err", err)
		jsonError(w, http.StatusBadRequest, "passkey", l.T("mfa.err.passkey"))
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(opts))
}

func (h *Handler) finishReauthPasskey(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := h.render.Localizer(r)
	s, ok := h.reauthPasskeySession(w, r, l)
	if !ok {
		return
	}
	body, a, ok := h.assertion(w, r, l, s.AccountID)
	if !ok {
		return
	}
	ip, key := httpx.ClientIP(r), h.loginKey("account", a.ID)
	wait, limited, err := h.limited(ctx, ip, key)
	if err != nil {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "rate limit", err)))
		return
	}
	if limited {
		jsonError(w, http.StatusTooManyRequests, "rate_limited", l.T("login.err.too_many", minutes(wait)))
		return
	}
	methods, err := h.mfa.Passkeys.FinishSecondFactor(ctx, a.ID, body)
	if err != nil && !passkeyRefused(err) {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "passkey re-authentication", err)))
		return
	}
	if err == nil && !slices.Contains(methods, "user") {
		err = errNoUserVerification
	}
	if err != nil {
		h.reauthPasskeyFailed(ctx, r, a, ip, key)
		msg := l.T("mfa.err.passkey")
		if errors.Is(err, errNoUserVerification) {
			msg = l.T("reauth.err.passkey_uv")
		}
		jsonError(w, http.StatusBadRequest, "passkey", msg)
		return
	}
	if err := h.recordReauth(r, s, a, methods); err != nil {
		jsonError(w, http.StatusServiceUnavailable, "unavailable", l.T(h.unavailableText(w, r, "record re-authentication", err)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": reauthNext(r.URL.Query().Get("next"))})
}

// reauthPasskeyFailed counts a refused passkey as the second-factor step
// at sign-in does.
func (h *Handler) reauthPasskeyFailed(ctx context.Context, r *http.Request, a *account.Account, ip, key string) {
	h.event(ctx, a.ID, account.EventSignInFailed, account.ResultFailed, r)
	h.fail(ctx, ip, key)
	if lockedNow, err := h.accounts.RecordFailure(ctx, a.ID, h.cfg.MaxFailures, h.cfg.LockFor); err != nil {
		h.log.ErrorContext(ctx, "record failed re-authentication", "account", a, "err", err)
	} else if lockedNow {
		h.event(ctx, a.ID, account.EventLocked, account.ResultOK, r)
		h.noticeLocked(ctx, r, a)
	}
}

// refuseSuspended answers a right password of an account whose password
// sign-in is suspended (the owner undid a contact change they had not
// made, so whoever made it may know this password): only a recovery lets
// the password in again.
func (h *Handler) refuseSuspended(w http.ResponseWriter, r *http.Request, a *account.Account, v loginView) {
	h.event(r.Context(), a.ID, account.EventSignInFailed, account.ResultDenied, r)
	v.Error = v.L.T("login.err.suspended")
	h.renderLogin(w, r, http.StatusForbidden, v)
}
