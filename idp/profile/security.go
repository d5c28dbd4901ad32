package profile

import (
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Security settings: two-step verification («Двухэтапная проверка»).
//
//	GET  /account/security                 status; ends a step in progress (the citizen left it)
//	POST /account/security/totp            start the authenticator app → GET /account/security/totp
//	GET  /account/security/totp            its step: QR code and secret
//	POST /account/security/totp/confirm    the first code turns it on → GET /account/security/codes
//	POST /account/security/sms             SMS codes as the second factor: a code to the phone → GET /account/security/sms
//	GET  /account/security/sms             its step: the code form
//	POST /account/security/sms/confirm     that code turns it on → GET /account/security/codes
//	POST /account/security/send            an SMS code to confirm a change (SMS accounts) → GET /account/security/disable
//	GET  /account/security/disable         the change form with the code sent
//	POST /account/security/disable         off, with a fresh second factor
//	POST /account/security/backup          new backup codes, with a fresh second factor → GET /account/security/codes
//	GET  /account/security/codes           the new backup codes, until the citizen leaves
//	GET  /account/security/codes.txt       the same as a text file to keep
//
// Each step is post/redirect/get: the POST keeps the step in the flow
// "security" (idp/flow: sealed at rest, bound to the account, 15 minutes)
// and the step's page shows it on GET, so that a reload or the language
// switch shows the same step, not «Method Not Allowed», and backup codes
// are not lost. A GET of a POST-only address (a form shown again with an
// error, then reloaded in the other language) goes to its step's page.
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
	TOTP   TOTPStore
	Backup BackupStore
	// BackupIn and TOTPIn are Backup and TOTP bound to a caller's
	// transaction (backupcode.Store.With, totp.Store.With): renewed
	// codes, or a second factor turned off with its secret and codes
	// removed, come with their activity-log entry, or not at all.
	BackupIn func(q sqldb.Runner) BackupStore
	TOTPIn   func(q sqldb.Runner) TOTPStore
	Codes    *codestep.Step
	Forget   func(ctx context.Context, accountID string) error
	AddEvent func(ctx context.Context, e account.Event) error
}

type securityView struct {
	webui.Page
	MFA      string
	HasPhone bool
	// QR is the data: URI of the QR code, built here from the PNG that
	// totp.Store made (never from input), hence trusted as a URL.
	QR          template.URL
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

func (h *Handler) showSecurity(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	// Coming back here ends a step in progress: the backup codes are not
	// kept longer than they are needed.
	h.endStep(w, r)
	switch {
	case r.URL.Query().Get("need") == "mfa":
		v.Notice = v.L.T("sec.need_mfa")
	case r.URL.Query().Get("done") == "disabled":
		v.Notice = v.L.T("sec.disabled")
	}
	h.renderSecurity(w, r, http.StatusOK, v)
}

// securityFlow is the flow kind of a step in progress; securityFlowTTL
// how long it may stay open.
const (
	securityFlow    = "security"
	securityFlowTTL = 15 * time.Minute
)

// The steps of the security page, each with its own address.
const (
	stepTOTP    = "totp"    // the QR code and the secret, waiting for the first code
	stepSMS     = "sms"     // an SMS code sent to turn SMS codes on
	stepConfirm = "confirm" // an SMS code sent to confirm turning off or new backup codes
	stepCodes   = "codes"   // new backup codes, shown until the citizen leaves
)

var stepPaths = map[string]string{
	stepTOTP: securityPath + "/totp", stepSMS: securityPath + "/sms",
	stepConfirm: securityPath + "/disable", stepCodes: securityPath + "/codes",
}

// securityState is a step in progress, kept in the flow. It holds the
// authenticator secret and the plaintext backup codes: it lives only in
// the sealed flow row and never reaches a log.
type securityState struct {
	Account   string   `json:"account"`
	Step      string   `json:"step"`
	Secret    string   `json:"secret,omitempty"`
	QR        []byte   `json:"qr,omitempty"` // PNG
	Challenge string   `json:"challenge,omitempty"`
	Codes     []string `json:"codes,omitempty"`
	Notice    string   `json:"notice,omitempty"` // catalog key
}

// LogValue keeps the secret and the codes out of logs.
func (securityState) LogValue() slog.Value { return slog.StringValue("[security step]") }

// goToStep keeps st as a's step in progress and sends the browser to the
// step's page (303).
func (h *Handler) goToStep(w http.ResponseWriter, r *http.Request, a *account.Account, st securityState) {
	st.Account = a.ID
	if err := h.Flows.Begin(w, r, securityFlow, st, securityFlowTTL); err != nil {
		h.securityError(w, r, a, "keep security step", err)
		return
	}
	webui.Redirect(w, r, stepPaths[st.Step])
}

// currentStep is a's step in progress, if the browser has one.
func (h *Handler) currentStep(r *http.Request, a *account.Account) (securityState, bool) {
	var st securityState
	if _, _, err := h.Flows.FromRequest(r, securityFlow, &st); err != nil {
		if !sqldb.Gone(err) {
			h.Log.ErrorContext(r.Context(), "security step", "err", err)
		}
		return securityState{}, false
	}
	// Another citizen's step on a shared browser is not shown.
	return st, st.Account == a.ID
}

// endStep deletes the browser's step in progress, if any.
func (h *Handler) endStep(w http.ResponseWriter, r *http.Request) { h.endFlow(w, r, securityFlow) }

// endFlow deletes the browser's flow of kind, if any, and its cookie.
func (h *Handler) endFlow(w http.ResponseWriter, r *http.Request, kind string) {
	var data struct{}
	token, _, err := h.Flows.FromRequest(r, kind, &data)
	if err != nil {
		return
	}
	if err := h.Flows.End(r.Context(), w, kind, token); err != nil {
		h.Log.ErrorContext(r.Context(), "end flow", "kind", kind, "err", err)
	}
}

// withStep puts st on the view.
func withStep(v *securityView, st securityState) {
	v.Step, v.Challenge, v.BackupCodes = st.Step, st.Challenge, st.Codes
	if st.Secret != "" {
		v.Secret = groupSecret(st.Secret)
	}
	if len(st.QR) > 0 {
		v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(st.QR))
	}
	if st.Notice != "" {
		v.Notice = v.L.T(st.Notice)
	}
	if st.Step == stepConfirm {
		// The status and the change form, with the code sent.
		v.Step, v.CodeSent = "", true
	}
}

// showStep serves the page of step: the step in progress, or the
// security page when there is none (or another one).
func (h *Handler) showStep(step string) securityHandler {
	return func(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
		st, ok := h.currentStep(r, a)
		if !ok || st.Step != step {
			webui.Redirect(w, r, securityPath)
			return
		}
		withStep(v, st)
		h.renderSecurity(w, r, http.StatusOK, v)
	}
}

// toStep answers a GET of a POST-only address: the page of step, keeping
// the query (the language switch).
func toStep(step string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		to := securityPath
		if p, ok := stepPaths[step]; ok {
			to = p
		}
		webui.Redirect(w, r, to+langQuery(r))
	}
}

// langQuery is "?lang=…" when the request chose a language, else "".
func langQuery(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		return "?lang=" + url.QueryEscape(l)
	}
	return ""
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
	h.goToStep(w, r, a, securityState{Step: stepTOTP, Secret: e.Secret, QR: e.PNG})
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

// wrongStepCode shows the step in progress again with its code refused
// (422); without one (it expired) the security page says to start again.
func (h *Handler) wrongStepCode(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView, step string) {
	st, ok := h.currentStep(r, a)
	if !ok || st.Step != step {
		v.Error = v.L.T("sec.err.expired")
		h.renderSecurity(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	withStep(v, st)
	v.Notice = ""
	v.Form.Fail("code", v.L.T("sec.err.code"))
	h.renderSecurity(w, r, http.StatusUnprocessableEntity, v)
}

// confirmTOTP activates the authenticator's secret and turns the factor on
// in one transaction with its activity-log entry: a failure after the code
// was right leaves the secret pending, so the citizen's retry with the
// next code finishes it.
func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	ctx := r.Context()
	code := strings.TrimSpace(r.PostFormValue("code"))
	err := h.Activity.ChangeTx(ctx, h.entry(r, a.ID, audit.ActionMFAEnabled, map[string]string{"method": account.MFATOTP}),
		func(tx *sqldb.Tx, s *account.Store) error {
			if err := h.Security.TOTPIn(tx).Confirm(ctx, a.ID, code); err != nil {
				return err
			}
			return s.SetMFA(ctx, a.ID, account.MFATOTP)
		})
	switch {
	case err != nil && codestep.Judged(err):
		h.wrongStepCode(w, r, a, v, stepTOTP)
	case err != nil:
		h.securityError(w, r, a, "enable mfa", err)
	default:
		h.enabled(w, r, a, account.MFATOTP)
	}
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
		h.renderSecurity(w, r, h.Security.Codes.Refusal(r.Context(), w, err), v)
		return
	}
	h.goToStep(w, r, a, securityState{Step: stepSMS, Challenge: id})
}

// sendCode sends an SMS code that confirms a security change.
func (h *Handler) sendCode(r *http.Request, a *account.Account) (string, error) {
	return h.Security.Codes.Issue(r.Context(), codestep.Send{Purpose: "security", Channel: message.SMS, To: a.Phone.Value,
		IP: httpx.ClientIP(r), Lang: webui.Lang(r), Kind: notice.KindCodeLogin})
}

func (h *Handler) confirmSMS(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if err := h.smsCode(r, a); err != nil {
		if !codestep.Judged(err) {
			h.securityError(w, r, a, "check sms code", err)
			return
		}
		h.wrongStepCode(w, r, a, v, stepSMS)
		return
	}
	h.enable(w, r, a, account.MFASMS)
}

// smsCode checks the form's code against its challenge to a's phone.
func (h *Handler) smsCode(r *http.Request, a *account.Account) error {
	id := r.PostFormValue("challenge")
	if id == "" {
		return otp.ErrNotFound
	}
	return h.Security.Codes.Check(r.Context(), id, "security", a.Phone.Value, strings.TrimSpace(r.PostFormValue("code")))
}

// enable turns the factor on, with its activity-log entry in the same
// transaction, and shows new backup codes.
func (h *Handler) enable(w http.ResponseWriter, r *http.Request, a *account.Account, method string) {
	ctx := r.Context()
	err := h.Activity.Change(ctx, h.entry(r, a.ID, audit.ActionMFAEnabled, map[string]string{"method": method}),
		func(s *account.Store) error { return s.SetMFA(ctx, a.ID, method) })
	if err != nil {
		h.securityError(w, r, a, "enable mfa", err)
		return
	}
	h.enabled(w, r, a, method)
}

// enabled records that a's factor method is on and shows the new backup
// codes.
func (h *Handler) enabled(w http.ResponseWriter, r *http.Request, a *account.Account, method string) {
	h.securityEvent(r.Context(), r, a.ID, "mfa_enabled", method)
	a.MFA = method
	h.showBackupCodes(w, r, a, "sec.enabled")
}

// showBackupCodes makes a's new backup codes and shows them, with the
// notice when given, on the codes step.
func (h *Handler) showBackupCodes(w http.ResponseWriter, r *http.Request, a *account.Account, notice string) {
	codes, err := h.Security.Backup.Generate(r.Context(), a.ID)
	if err != nil {
		h.securityError(w, r, a, "backup codes", err)
		return
	}
	h.goToStep(w, r, a, securityState{Step: stepCodes, Codes: codes, Notice: notice})
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
		return h.smsCode(r, a)
	}
	return totp.ErrNotEnrolled
}

func (h *Handler) sendConfirmation(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	id, err := h.sendCode(r, a)
	if err != nil {
		v.Error = codestep.Explain(err, v.L)
		h.renderSecurity(w, r, h.Security.Codes.Refusal(r.Context(), w, err), v)
		return
	}
	h.goToStep(w, r, a, securityState{Step: stepConfirm, Challenge: id, Notice: "sec.code_sent"})
}

// wrongFreshCode shows the change form again with the code refused (422),
// keeping the SMS code sent, if any.
func (h *Handler) wrongFreshCode(w http.ResponseWriter, r *http.Request, v *securityView) {
	v.Challenge = r.PostFormValue("challenge")
	v.Form.Fail("code", v.L.T("sec.err.code"))
	h.renderSecurity(w, r, http.StatusUnprocessableEntity, v)
}

func (h *Handler) disableMFA(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if err := h.fresh(r, a); err != nil {
		if !codestep.Judged(err) {
			h.securityError(w, r, a, "check the second factor", err)
			return
		}
		h.wrongFreshCode(w, r, v)
		return
	}
	ctx := r.Context()
	// The second factor goes with its secret and codes and the entry, or
	// not at all.
	err := h.Activity.ChangeTx(ctx, h.entry(r, a.ID, audit.ActionMFADisabled, map[string]string{"method": a.MFA}),
		func(tx *sqldb.Tx, s *account.Store) error {
			if err := s.SetMFA(ctx, a.ID, ""); err != nil {
				return err
			}
			if err := h.Security.TOTPIn(tx).Remove(ctx, a.ID); err != nil {
				return err
			}
			return h.Security.BackupIn(tx).Remove(ctx, a.ID)
		})
	if err == nil {
		// Remembered devices skip a factor there is no more.
		err = h.Security.Forget(ctx, a.ID)
	}
	if err != nil {
		h.securityError(w, r, a, "disable mfa", err)
		return
	}
	h.securityEvent(ctx, r, a.ID, "mfa_disabled", a.MFA)
	h.endStep(w, r)
	webui.Redirect(w, r, securityPath+"?done=disabled")
}

func (h *Handler) renewBackup(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	if err := h.fresh(r, a); err != nil {
		if !codestep.Judged(err) {
			h.securityError(w, r, a, "check the second factor", err)
			return
		}
		h.wrongFreshCode(w, r, v)
		return
	}
	ctx := r.Context()
	var codes []string
	err := h.Activity.ChangeTx(ctx, h.entry(r, a.ID, audit.ActionBackupCodesRenewed, nil), func(tx *sqldb.Tx, _ *account.Store) error {
		var err error
		codes, err = h.Security.BackupIn(tx).Generate(ctx, a.ID)
		return err
	})
	if err != nil {
		h.securityError(w, r, a, "backup codes", err)
		return
	}
	h.securityEvent(ctx, r, a.ID, "backup_codes_renewed", "")
	h.goToStep(w, r, a, securityState{Step: stepCodes, Codes: codes, Notice: "sec.renewed"})
}

// downloadCodes serves the backup codes of the codes step as a text file,
// headed in both languages.
func (h *Handler) downloadCodes(w http.ResponseWriter, r *http.Request, a *account.Account, v *securityView) {
	st, ok := h.currentStep(r, a)
	if !ok || st.Step != stepCodes {
		webui.Redirect(w, r, securityPath)
		return
	}
	var b strings.Builder
	for _, k := range []string{"sec.codes.file.title", "sec.codes.file.lead"} {
		t := securityCatalog[k]
		fmt.Fprintf(&b, "%s\r\n%s\r\n", t[0], t[1])
	}
	fmt.Fprintf(&b, "%s\r\n\r\n", h.Now().In(h.msk).Format("02.01.2006 15:04 MST"))
	for i, c := range st.Codes {
		fmt.Fprintf(&b, "%2d. %s\r\n", i+1, c)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gosid-backup-codes.txt"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

// securityEvent adds the event kind (of method) to the sign-in history;
// the activity log has the change already.
func (h *Handler) securityEvent(ctx context.Context, r *http.Request, id, kind, method string) {
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
	status := http.StatusInternalServerError
	if webui.Overloaded(w, err) { // its own Retry-After
		status = http.StatusServiceUnavailable
	} else if sqldb.Unavailable(err) {
		w.Header().Set("Retry-After", "5")
		status = http.StatusServiceUnavailable
	}
	h.renderSecurity(w, r, status, &v)
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

// securityDone shows the page of a as it is now, with the notice.
func (h *Handler) securityDone(w http.ResponseWriter, r *http.Request, a *account.Account, notice string) {
	v := h.securityPage(r, a)
	v.Notice = v.L.T(notice)
	h.renderSecurity(w, r, http.StatusOK, &v)
}
