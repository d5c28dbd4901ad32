package login

import (
	"context"
	"net/http"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/webui"
)

// Bank is a bank the sign-in page offers («Войти через …»).
type Bank struct{ ID, Name string }

// Banks lists the banks a citizen may sign in with; verification plugs
// them in (idp.UseBanks), since idp imports nothing of it.
type Banks interface {
	SignInBanks(ctx context.Context, lang string) ([]Bank, error)
}

// UseBanks shows «Войти через …» for b's banks on the sign-in page
// (before serving).
func (h *Handler) UseBanks(b Banks) { h.banks = b }

// offeredBanks are the sign-in page's banks; a failure hides them and is
// logged: password sign-in must not depend on the banks' table.
func (h *Handler) offeredBanks(r *http.Request) []Bank {
	if h.banks == nil {
		return nil
	}
	bs, err := h.banks.SignInBanks(r.Context(), webui.Lang(r))
	if err != nil {
		h.log.ErrorContext(r.Context(), "banks for the sign-in page", "err", err)
		return nil
	}
	return bs
}

// renderLogin shows the sign-in page with status. The banks are read
// only here, when the page is shown: a sign-in that succeeds never needs
// them; nor does a 503, which during an outage could not read them and
// under a burst of sign-ins must not cost the database a statement.
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	if status < http.StatusInternalServerError {
		v.Banks = h.offeredBanks(r)
	}
	h.render.Render(w, r, status, "login", v)
}

// Federated completes a sign-in that another party proved (a bank's ID
// service, amr "fed"): the account's rules apply as to a password
// sign-in — a blocked account or one whose sign-in is locked out is
// refused on the sign-in page, an account with a second factor is asked
// for it (an outside sign-in is one factor), a pending deletion is
// cancelled (Arrivals) — and the browser then goes to next. It reports
// whether the citizen got in or went on to the second factor.
func (h *Handler) Federated(w http.ResponseWriter, r *http.Request, accountID, next string) bool {
	ctx := r.Context()
	next = webui.SafeNext(next)
	v := loginView{Page: h.render.NewPage(r, "login.title"), Next: next, ESignature: h.cfg.ESignature}
	a, err := h.mfa.Get(ctx, accountID)
	if err != nil {
		h.unavailable(w, r, v, "account of a federated sign-in", err)
		return false
	}
	ip := httpx.ClientIP(r)
	now := h.cfg.Now()
	switch {
	case a.Status == account.StatusBlocked:
		h.fedEvent(ctx, a.ID, account.EventSignInFailed, account.ResultDenied, r)
		v.Error = v.L.T("login.err.blocked")
		h.renderLogin(w, r, http.StatusForbidden, v)
		return false
	case a.Locked(now):
		// Locked out after wrong passwords: another way in must not lift
		// the lock; recovery by code does, as for password sign-in.
		h.fedEvent(ctx, a.ID, account.EventSignInFailed, account.ResultDenied, r)
		v.Error = v.L.T("login.err.locked", v.L.Minutes(minutes(a.LockedUntil.Sub(now))))
		v.Locked = true
		h.renderLogin(w, r, http.StatusForbidden, v)
		return false
	}
	if a.MFA != "" && !h.mfa.Devices.Trusted(ctx, r, a.ID, ip) {
		h.beginMFA(w, r, a, next, "", []string{"fed"})
		return true
	}
	if _, err := h.sessions.Start(w, r, a.ID, []string{"fed"}, ip); err != nil {
		h.unavailable(w, r, v, "start session", err)
		return false
	}
	h.fedEvent(ctx, a.ID, account.EventSignIn, account.ResultOK, r)
	webui.RedirectNext(w, r, next, h.cfg.Home)
	return true
}

func (h *Handler) fedEvent(ctx context.Context, accountID, kind, result string, r *http.Request) {
	err := h.accounts.AddEvent(ctx, account.Event{AccountID: accountID, Kind: kind, Result: result, Method: "fed",
		IP: httpx.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.log.ErrorContext(ctx, "account event", "kind", kind, "err", err)
	}
}
