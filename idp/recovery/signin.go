package recovery

import (
	"context"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

// Signing in with the current password after the code. A lock-out after
// wrong passwords must not become a weapon: whoever types three wrong
// passwords an hour would otherwise keep the owner out for ever. The code
// step proves the owner holds the account's verified phone or e-mail; the
// owner may then sign in with the password they know instead of setting a
// new one. That clears the lock-out. The password is checked only after a
// right code, so this way in tests no passwords for anyone without the
// owner's phone or mailbox; three wrong passwords end the flow, and each
// counts toward the lock-out like a sign-in's.
//
//	POST /recover/signin   the current password, after the code: sign in (or
//	                       the second factor, when the code did not cover it)

// SignIn is what signing in after the code needs; optional on Deps (nil:
// only a new password can be set).
type SignIn struct {
	Passwords interface {
		Verify(ctx context.Context, phc, pw string) (ok, needsRehash bool, err error)
	}
	Accounts interface {
		RecordFailure(ctx context.Context, id string, maxFailures int, lockFor time.Duration) (lockedNow bool, err error)
		ClearLockout(ctx context.Context, id string) error
	}
	// Start starts the session (login.Arrivals).
	Start func(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) error
	// SecondFactor continues at /login/2fa (login.Handler.BeginSecondFactor).
	SecondFactor func(w http.ResponseWriter, r *http.Request, a *account.Account, next string, amr []string)
	// MaxFailures and LockFor are the sign-in lock-out policy.
	MaxFailures int
	LockFor     time.Duration
}

// maxSignInTries wrong current passwords end the flow: a new code is needed.
const maxSignInTries = 3

func (h *Handler) submitSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, version, st, ok := h.code.LoadVerified(w, r)
	if !ok {
		return
	}
	if h.SignIn == nil {
		webui.Redirect(w, r, "/recover/code")
		return
	}
	v := h.passwordPage(r)
	v.SignIn = true
	v.Form = webui.NewForm(r)
	pw := r.PostFormValue("current_password")
	if pw == "" || len(pw) > 1024 {
		v.Form.Fail("current_password", v.L.T("rec.err.current_required"))
		h.render.Render(w, r, http.StatusUnprocessableEntity, "password", v)
		return
	}
	// An unknown login's flow never gets past the code (Pages.Refused);
	// st.AccountID is set here.
	a, err := h.Accounts.Get(ctx, st.AccountID)
	if err != nil {
		h.internal(w, r, "get account", err)
		return
	}
	ip := httpx.ClientIP(r)
	right := false
	if a.PasswordHash != "" {
		// A check that did not run (the hashing pool overloaded) is no
		// wrong password: it answers 503 and counts nothing.
		if right, _, err = h.SignIn.Passwords.Verify(ctx, a.PasswordHash, pw); err != nil {
			h.internal(w, r, "verify password", err)
			return
		}
	}
	if !right {
		if _, err := h.SignIn.Accounts.RecordFailure(ctx, a.ID, h.SignIn.MaxFailures, h.SignIn.LockFor); err != nil {
			h.internal(w, r, "record failure", err)
			return
		}
		h.event(r, a.ID, account.EventSignInFailed, account.ResultFailed, "pwd")
		st.SignInTries++
		if st.SignInTries >= maxSignInTries {
			// The code is spent. A flow that cannot be ended lives on with
			// the tries it had (none more is saved), so each further wrong
			// password ends here again: logged, not shown.
			h.code.End(w, r, token)
			p := h.render.NewPage(r, "rec.title")
			p.Error = p.L.T("rec.err.current_tries")
			h.render.Render(w, r, http.StatusUnauthorized, "start", p)
			return
		}
		if _, err := h.Flows.Save(ctx, flowKind, token, version, st); err != nil {
			h.internal(w, r, "save flow", err)
			return
		}
		v.Form.Fail("current_password", v.L.T("rec.err.current_wrong", maxSignInTries-st.SignInTries))
		h.render.Render(w, r, http.StatusUnauthorized, "password", v)
		return
	}
	if a.Status == account.StatusBlocked {
		v.Error = v.L.T("rec.err.blocked")
		h.render.Render(w, r, http.StatusForbidden, "password", v)
		return
	}
	// After «Это был не я» the old password may be known to someone else:
	// only a new one lifts the suspension (the form above).
	if a.PasswordSuspended() {
		v.Form.Fail("current_password", v.L.T("rec.err.suspended"))
		h.render.Render(w, r, http.StatusForbidden, "password", v)
		return
	}
	// Only one of two racing submissions goes on.
	if !h.code.Finish(w, r, token, version, &st) {
		return
	}
	if err := h.SignIn.Accounts.ClearLockout(ctx, a.ID); err != nil {
		// The flow stays: the citizen tries again.
		h.internal(w, r, "clear lock-out", err)
		return
	}
	method := methodOf(st.Channel)
	amr := []string{"pwd", method}
	// The code covered the second factor only if it is the account's own
	// (SMS codes) or the account has none; an authenticator app is still
	// asked for.
	if a.MFA != "" && !(a.MFA == account.MFASMS && st.Channel == string(message.SMS)) {
		h.code.End(w, r, token)
		h.SignIn.SecondFactor(w, r, a, "", amr)
		return
	}
	amr = append(amr, "mfa")
	if err := h.SignIn.Start(w, r, a.ID, amr, ip); err != nil {
		h.internal(w, r, "start session", err)
		return
	}
	h.code.End(w, r, token)
	h.event(r, a.ID, account.EventSignIn, account.ResultOK, "pwd "+method)
	webui.Redirect(w, r, "/account")
}

func (h *Handler) event(r *http.Request, accountID, kind, result, method string) {
	err := h.Accounts.AddEvent(r.Context(), account.Event{AccountID: accountID, Kind: kind, Result: result, Method: method,
		IP: httpx.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.Log.ErrorContext(r.Context(), "account event", "kind", kind, "err", err)
	}
}
