package profile

import (
	"context"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Activity is the account's activity log: every change, by whom and when.
type Activity interface {
	// Change runs fn, the change, on the account store bound to one
	// transaction, and appends e in the same transaction: both or neither.
	Change(ctx context.Context, e audit.Entry, fn func(accounts *account.Store) error) error
	// ChangeTx is Change with the transaction, for work queued with it
	// and for changes of other stores bound to it (backup codes, a
	// site's grant).
	ChangeTx(ctx context.Context, e audit.Entry, fn func(tx *sqldb.Tx, accounts *account.Store) error) error
	// Apply is ChangeTx with the entries fn returns, for changes whose
	// entries are known only once made (the sessions ended).
	Apply(ctx context.Context, fn func(tx *sqldb.Tx, accounts *account.Store) ([]audit.Entry, error)) error
	// Record appends e alone, for what changes no row (an export
	// downloaded).
	Record(ctx context.Context, e audit.Entry) error
	List(ctx context.Context, accountID string, since time.Time, limit int) ([]audit.Entry, error)
}

// entry is a change the signed-in citizen made from this request.
func (h *Handler) entry(r *http.Request, accountID, action string, detail map[string]string) audit.Entry {
	return audit.Entry{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID},
		Action: action, Detail: detail, IP: httpx.ClientIP(r)}
}

// record appends what changed no row (an export downloaded); a failure
// is logged. Changes go through Activity.Change, ChangeTx or Apply.
func (h *Handler) record(r *http.Request, accountID, action string, detail map[string]string) {
	if err := h.Activity.Record(r.Context(), h.entry(r, accountID, action, detail)); err != nil {
		h.Log.ErrorContext(r.Context(), "activity log", "action", action, "err", err)
	}
}

// page starts a page of the account centre in the given section.
func (h *Handler) page(r *http.Request, title, tab string) webui.Page {
	p := h.render.NewPage(r, title)
	p.SignedIn, p.Tab = true, tab
	return p
}

// noteBack puts the notice key on p when the page is shown again after a
// redirect that set the query flag to "1" (?done=1: a change was made).
func noteBack(r *http.Request, p *webui.Page, flag, key string) {
	if r.URL.Query().Get(flag) == "1" {
		p.Notice = p.L.T(key)
	}
}
