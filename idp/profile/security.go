package profile

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

// Security settings: two-factor protection.
//
//	GET  /account/security                 status
//	POST /account/security/totp            start the authenticator app: QR code and secret
//	POST /account/security/totp/confirm    the first code turns it on; backup codes shown once
//	POST /account/security/sms             SMS codes as the second factor: a code to the phone
//	POST /account/security/sms/confirm     that code turns it on; backup codes shown once
//	POST /account/security/send            an SMS code to confirm a change (SMS accounts)
//	POST /account/security/disable         off, with a fresh second factor
//	POST /account/security/backup          new backup codes, with a fresh second factor
//
// Every POST but the settings needs a fresh session (Deps.Reauth): a stolen
// session must neither turn the protection off nor put its own
// authenticator in (which would lock the owner out). Turning the protection
// off and renewing backup codes also need a fresh second factor in the same
// form: a code of the account's factor or a backup code.

const securityPath = "/account/security"

// TOTPStore enrols authenticator apps.
type TOTPStore interface {
	Begin(ctx context.Context, accountID, label string) (totp.Enrolment, error)
	Confirm(ctx context.Context, accountID, code string) error
	Verify(ctx context.Context, accountID, code string) error
	Remove(ctx context.Context, accountID string) error
}

// BackupStore keeps backup codes.
type BackupStore interface {
	Generate(ctx context.Context, accountID string) ([]string, error)
	Use(ctx context.Context, accountID, code string) error
	Remove(ctx context.Context, accountID string) error
}

// SecurityDeps are the security pages' dependencies (on Deps).
type SecurityDeps struct {
	TOTP     TOTPStore
	Backup   BackupStore
	Codes    *codestep.Step
	SetMFA   func(ctx context.Context, id, method string) error
	Forget   func(ctx context.Context, accountID string) error
	AddEvent func(ctx context.Context, e account.Event) error
}

type securityView struct {
	webui.Page
	MFA         string
	HasPhone    bool
	QR          string // data: URI of the QR code PNG
	Secret      string
	Step        string // "", totp, sms, codes
	BackupCodes []string
	CodeSent    bool
	// Challenge is the id of an SMS code sent to confirm a change; it is
	// bound to its purpose and the phone, so it may travel in the form.
	Challenge string
	// NotifyNewDevice and Idle (minutes, 0 for the default) are the
	// citizen's settings; IdleChoices the offered timeouts in minutes.
	NotifyNewDevice bool
	Idle            int
	IdleChoices     []int
	IdleDefault     int
	// ESignature links the bound certificates (a trust list is configured).
	ESignature bool
}

func (h *Handler) securityPage(r *http.Request, a *account.Account) securityView {
	v := securityView{Page: h.page(r, "sec.title", "security"), MFA: a.MFA, HasPhone: a.Phone.Verified(),
		NotifyNewDevice: a.NotifyNewDevice, Idle: int(a.IdleTimeout / time.Minute), IdleChoices: h.idleChoices(),
		IdleDefault: int(h.Idle.Default / time.Minute), ESignature: h.ESignature}
	return v
}

// securityHandler serves a form of the security page for the citizen's
// account a; v is the page's view, with the submitted form.
type securityHandler func(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView)

// onSecurity adapts fn to a route: the account of the session — a fresh
// one for a change (sensitive; see the comment at the top) — and the view.
func (h *Handler) onSecurity(sensitive bool, fn securityHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := h.signedInOrFresh(w, r, sensitive, securityPath)
		if !ok {
			return
		}
		v := h.securityPage(r, a)
		v.Form = webui.NewForm(r)
		fn(w, r, a, &v)
	}
}

// renderSecurity shows the security page.
func (h *Handler) renderSecurity(w http.ResponseWriter, r *http.Request, status int, v *securityView) {
	h.render.Render(w, r, status, "security", v)
}

// wrongCode shows the form of step again with its code refused (422).
func (h *Handler) wrongCode(w http.ResponseWriter, r *http.Request, v *securityView, step string) {
	v.Step, v.Challenge = step, r.PostFormValue("challenge")
	v.Form.Fail("code", v.L.T("sec.err.code"))
	h.renderSecurity(w, r, http.StatusUnprocessableEntity, v)
}

func (h *Handler) showSecurity(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if r.URL.Query().Get("need") == "mfa" {
		v.Notice = v.L.T("sec.need_mfa")
	}
	h.renderSecurity(w, r, http.StatusOK, v)
}

func (h *Handler) startTOTP(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	label := a.Email.Value
	if a.Phone.Value != "" {
		label = validate.MaskPhone(a.Phone.Value)
	}
	e, err := h.Security.TOTP.Begin(r.Context(), a.ID, label)
	if err != nil {
		h.securityError(w, r, a, "start totp", err)
		return
	}
	v.Step, v.Secret = "totp", groupSecret(e.Secret)
	v.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.PNG)
	h.renderSecurity(w, r, http.StatusOK, v)
}

// groupSecret writes the secret in groups of four for typing by hand.
func groupSecret(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if err := h.Security.TOTP.Confirm(r.Context(), a.ID, strings.TrimSpace(r.PostFormValue("code"))); err != nil {
		h.wrongCode(w, r, v, "totp")
		return
	}
	h.enable(w, r, a, account.MFATOTP)
}

func (h *Handler) startSMS(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if !a.Phone.Verified() {
		v.Error = v.L.T("sec.err.no_phone")
		h.renderSecurity(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	id, err := h.sendCode(r, a)
	if err != nil {
		v.Error = codestep.Explain(err, v.L)
		h.renderSecurity(w, r, http.StatusTooManyRequests, v)
		return
	}
	v.Step, v.Challenge = "sms", id
	h.renderSecurity(w, r, http.StatusOK, v)
}

// sendCode sends an SMS code that confirms a security change.
func (h *Handler) sendCode(r *http.Request, a *account.Account) (string, error) {
	return h.Security.Codes.Issue(r.Context(), codestep.Send{Purpose: "security", Channel: message.SMS, To: a.Phone.Value,
		IP: httpx.ClientIP(r), Lang: webui.Lang(r), Kind: notice.KindCodeLogin})
}

func (h *Handler) confirmSMS(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if !h.smsCodeOK(r, a) {
		h.wrongCode(w, r, v, "sms")
		return
	}
	h.enable(w, r, a, account.MFASMS)
}

func (h *Handler) smsCodeOK(r *http.Request, a *account.Account) bool {
	id := r.PostFormValue("challenge")
	return id != "" && h.Security.Codes.Check(r.Context(), id, "security", a.Phone.Value, strings.TrimSpace(r.PostFormValue("code"))) == nil
}

// enable turns the factor on and shows new backup codes once.
func (h *Handler) enable(w http.ResponseWriter, r *http.Request, a *account.Account, method string) {
	if err := h.Security.SetMFA(r.Context(), a.ID, method); err != nil {
		h.securityError(w, r, a, "enable mfa", err)
		return
	}
	a.MFA = method
	h.showBackupCodes(w, r, a, "mfa_enabled", method, "sec.enabled")
}

// showBackupCodes makes a's new backup codes, records the event kind (of
// method) and shows the codes once, with the notice, when given.
func (h *Handler) showBackupCodes(w http.ResponseWriter, r *http.Request, a *account.Account, kind, method, notice string) {
	codes, err := h.Security.Backup.Generate(r.Context(), a.ID)
	if err != nil {
		h.securityError(w, r, a, "backup codes", err)
		return
	}
	h.securityEvent(r.Context(), r, a.ID, kind, method)
	v := h.securityPage(r, a)
	v.Step, v.BackupCodes = "codes", codes
	if notice != "" {
		v.Notice = v.L.T(notice)
	}
	h.renderSecurity(w, r, http.StatusOK, &v)
}

// fresh checks the second factor given in the form: a code of the
// account's factor, or a backup code.
func (h *Handler) fresh(r *http.Request, a *account.Account) error {
	ctx := r.Context()
	if b := strings.TrimSpace(r.PostFormValue("backup_code")); b != "" {
		return h.Security.Backup.Use(ctx, a.ID, b)
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	switch a.MFA {
	case account.MFATOTP:
		return h.Security.TOTP.Verify(ctx, a.ID, code)
	case account.MFASMS:
		if h.smsCodeOK(r, a) {
			return nil
		}
	}
	return errors.New("wrong code")
}

func (h *Handler) sendConfirmation(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if id, err := h.sendCode(r, a); err != nil {
		v.Error = codestep.Explain(err, v.L)
	} else {
		v.CodeSent, v.Challenge = true, id
		v.Notice = v.L.T("sec.code_sent")
	}
	h.renderSecurity(w, r, http.StatusOK, v)
}

func (h *Handler) disableMFA(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if err := h.fresh(r, a); err != nil {
		h.wrongCode(w, r, v, "")
		return
	}
	ctx := r.Context()
	for _, f := range []func(context.Context, string) error{
		func(ctx context.Context, id string) error { return h.Security.SetMFA(ctx, id, "") },
		h.Security.TOTP.Remove, h.Security.Backup.Remove, h.Security.Forget,
	} {
		if err := f(ctx, a.ID); err != nil {
			h.securityError(w, r, a, "disable mfa", err)
			return
		}
	}
	h.securityEvent(ctx, r, a.ID, "mfa_disabled", a.MFA)
	a.MFA = ""
	h.securityDone(w, r, a, "sec.disabled")
}

func (h *Handler) renewBackup(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if err := h.fresh(r, a); err != nil {
		h.wrongCode(w, r, v, "")
		return
	}
	h.showBackupCodes(w, r, a, "backup_codes_renewed", "", "")
}

// securityDone shows the page of a as it is now, with the notice.
func (h *Handler) securityDone(w http.ResponseWriter, r *http.Request, a *account.Account, notice string) {
	v := h.securityPage(r, a)
	v.Notice = v.L.T(notice)
	h.renderSecurity(w, r, http.StatusOK, &v)
}

// securityActions are the activity-log actions of the security events.
var securityActions = map[string]string{
	"mfa_enabled":          audit.ActionMFAEnabled,
	"mfa_disabled":         audit.ActionMFADisabled,
	"backup_codes_renewed": audit.ActionBackupCodesRenewed,
}

func (h *Handler) securityEvent(ctx context.Context, r *http.Request, id, kind, method string) {
	var detail map[string]string
	if method != "" {
		detail = map[string]string{"method": method}
	}
	h.record(r, id, securityActions[kind], detail)
	if h.Security.AddEvent == nil {
		return
	}
	if err := h.Security.AddEvent(ctx, account.Event{AccountID: id, At: h.Now(), Kind: kind, Result: account.ResultOK,
		Method: method, IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		h.Log.ErrorContext(ctx, "account event", "err", err)
	}
}

func (h *Handler) securityError(w http.ResponseWriter, r *http.Request, a *account.Account, what string, err error) {
	h.Log.ErrorContext(r.Context(), what, "account", a, "err", err)
	v := h.securityPage(r, a)
	v.Error = v.L.T("acc.err.internal")
	h.renderSecurity(w, r, http.StatusInternalServerError, &v)
}

// IdleTimeouts bound the citizen's choice of session idle timeout.
type IdleTimeouts struct {
	Default, Min, Max time.Duration
}

// idleChoices are the offered timeouts, in minutes, within the bounds.
func (h *Handler) idleChoices() []int {
	var out []int
	for _, m := range []int{5, 10, 15, 30, 60, 120, 240, 480} {
		d := time.Duration(m) * time.Minute
		if d >= h.Idle.Min && d <= h.Idle.Max {
			out = append(out, m)
		}
	}
	return out
}

// saveSettings stores "notify me of sign-ins from new devices" and the
// idle timeout.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	v.Form = webui.NewForm(r, "idle")
	st := account.Settings{NotifyNewDevice: r.PostFormValue("notify_new_device") == "on"}
	if m := strings.TrimSpace(r.PostFormValue("idle")); m != "" && m != "0" {
		n, err := strconv.Atoi(m)
		if err != nil || !slices.Contains(v.IdleChoices, n) {
			v.Form.Fail("idle", v.L.T("sec.err.idle", int(h.Idle.Min/time.Minute), int(h.Idle.Max/time.Minute)))
			h.renderSecurity(w, r, http.StatusUnprocessableEntity, v)
			return
		}
		st.IdleTimeout = time.Duration(n) * time.Minute
	}
	detail := map[string]string{"notify_new_device": strconv.FormatBool(st.NotifyNewDevice), "idle_minutes": strconv.Itoa(int(st.IdleTimeout / time.Minute))}
	err := h.Activity.Change(r.Context(), h.entry(r, a.ID, audit.ActionSettingsChanged, detail), func(s *account.Store) error {
		return s.SetSettings(r.Context(), a.ID, st)
	})
	if err != nil {
		h.securityError(w, r, a, "save settings", err)
		return
	}
	// The current session takes the new timeout at once; other sessions
	// keep theirs until they end.
	if s, err := h.Sessions.Current(r); err == nil && h.SetIdle != nil {
		d := st.IdleTimeout
		if d == 0 {
			d = h.Idle.Default
		}
		if err := h.SetIdle(r.Context(), s.ID, d); err != nil {
			h.Log.ErrorContext(r.Context(), "session idle timeout", "err", err)
		}
	}
	a.NotifyNewDevice, a.IdleTimeout = st.NotifyNewDevice, st.IdleTimeout
	h.securityDone(w, r, a, "sec.settings.saved")
}
