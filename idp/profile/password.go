package profile

import (
	"context"
	"net/http"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/webui"
)

// Password change in the account centre: the current password, then a new
// one under the policy. The other sessions end, the owner is notified, and
// the change goes to the event log.
//
//	GET  /account/password
//	POST /account/password
//
// Both need a fresh session (Deps.Reauth). The account's remembered
// devices are forgotten.

const passwordPath = "/account/password"

// PasswordDeps are the password page's dependencies (on Deps).
type PasswordDeps struct {
	Verify    func(ctx context.Context, phc, pw string) (ok, needsRehash bool, err error)
	Hash      func(ctx context.Context, pw string) (string, error)
	Policy    password.Policy
	EndOthers func(ctx context.Context, accountID, exceptID string) (int, error)
	Notify    func(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
	AddEvent  func(ctx context.Context, e account.Event) error
	// Forget drops the account's remembered devices: whoever knew the old
	// password may hold one and skip the second factor with it.
	Forget func(ctx context.Context, accountID string) error
}

type passwordView struct {
	webui.Page
	Rules []password.Rule
}

func (h *Handler) passwordPage(r *http.Request) passwordView {
	p := h.page(r, "pwd.title", "security")
	return passwordView{Page: p, Rules: h.Password.Policy.Rules(p.L.Lang)}
}

func (h *Handler) showPassword(w http.ResponseWriter, r *http.Request) {
	// Re-authenticate before the form rather than after typing it.
	if _, ok := h.sensitive(w, r, passwordPath); !ok {
		return
	}
	h.render.Render(w, r, http.StatusOK, "password", h.passwordPage(r))
}

func (h *Handler) submitPassword(w http.ResponseWriter, r *http.Request) {
	a, ok := h.sensitive(w, r, passwordPath)
	if !ok {
		return
	}
	ctx := r.Context()
	v := h.passwordPage(r)
	v.Form = webui.NewForm(r)
	current, pw, confirm := r.PostFormValue("current_password"), r.PostFormValue("password"), r.PostFormValue("password_confirm")
	currentOK := false
	if current == "" {
		v.Form.Fail("current_password", v.L.T("pwd.err.current_empty"))
	} else if ok, _, err := h.Password.Verify(ctx, a.PasswordHash, current); err != nil {
		// Not checked (the hashing pool overloaded): no verdict.
		h.failPassword(w, r, v, "verify current password", err)
		return
	} else if !ok {
		v.Form.Fail("current_password", v.L.T("pwd.err.current"))
	} else {
		currentOK = true
	}
	v.Rules = h.Password.Policy.ExplainNew(v.Form, pw, confirm, a.PolicyContext(), v.L.Lang, v.L.T("pwd.err.confirm"))
	// The current password again is no change; said only to whoever
	// proved they know it.
	if currentOK && v.Form.Err("password") == "" && pw == current {
		v.Form.Fail("password", v.L.T("pwd.err.same"))
	}
	if !v.Form.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "password", v)
		return
	}
	hash, err := h.Password.Hash(ctx, pw)
	if err == nil {
		// The password and its activity-log entry in one transaction.
		err = h.Activity.Change(ctx, h.entry(r, a.ID, audit.ActionPasswordChanged, nil),
			func(s *account.Store) error { return s.SetPassword(ctx, a.ID, hash) })
	}
	if err != nil {
		h.failPassword(w, r, v, "change password", err)
		return
	}
	if s, err := h.Sessions.Current(r); err == nil {
		if _, err := h.Password.EndOthers(ctx, a.ID, s.ID); err != nil {
			h.Log.ErrorContext(ctx, "end other sessions", "err", err)
		}
	}
	if h.Password.Forget != nil {
		if err := h.Password.Forget(ctx, a.ID); err != nil {
			h.Log.ErrorContext(ctx, "forget remembered devices", "err", err)
		}
	}
	h.Password.Notify(ctx, a, notice.KindNoticePasswordChanged, v.L.Lang, nil)
	if err := h.Password.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventPasswordChanged, Result: account.ResultOK,
		Method: "pwd", IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		h.Log.ErrorContext(ctx, "account event", "err", err)
	}
	v = h.passwordPage(r)
	v.Notice = v.L.T("pwd.changed")
	h.render.Render(w, r, http.StatusOK, "password", v)
}

// failPassword answers a failure on the password page: 503 with
// Retry-After when the hashing pool refused for overload, else 500.
func (h *Handler) failPassword(w http.ResponseWriter, r *http.Request, v passwordView, what string, err error) {
	h.render.Fail(w, r, h.Log, "password", &v, &v.Page, "acc.err.internal", what, err)
}
