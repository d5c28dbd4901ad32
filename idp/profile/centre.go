package profile

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Sessions and data sharing in the account centre.
//
//	GET  /account/sessions          every active session: browser, system, IP, first and last activity
//	POST /account/sessions/end      end one (id) or, with id=others, all but this one; at once on
//	                                every replica, and the sites that got tokens in them are told
//	GET  /account/apps              every site the citizen shares data with, what and since when
//	POST /account/apps/revoke       withdraw a site's access (its tokens stop working; back-channel logout)

// SessionAdmin lists and ends the citizen's sessions (session.Store).
type SessionAdmin interface {
	List(ctx context.Context, accountID string) ([]session.Session, error)
	EndForAccount(ctx context.Context, accountID, id string) error
	EndAll(ctx context.Context, accountID, exceptID string) (int, error)
}

// Grants lists and revokes what sites were allowed.
type Grants interface {
	Grants(ctx context.Context, accountID string) ([]oidc.SiteGrant, error)
	// RevokeGrant revokes in q, the transaction of its activity-log
	// entry.
	RevokeGrant(ctx context.Context, q sqldb.Runner, accountID, clientID string) error
}

// CentreDeps are the account centre's dependencies (on Deps).
type CentreDeps struct {
	Sessions SessionAdmin
	// SessionsIn is Sessions bound to a caller's transaction
	// (session.Store.With): a session ends with its activity-log entry,
	// or not at all.
	SessionsIn func(q sqldb.Runner) SessionAdmin
	Grants     Grants
	// Ended is told of each session ended here (back-channel logout).
	Ended func(ctx context.Context, accountID, sessionID string) error
}

type sessionRow struct {
	ID, Browser, System, IP string
	Created, LastSeen       string
	Current                 bool
}

type sessionsView struct {
	webui.Page
	Rows []sessionRow
}

// withSession adapts fn, a page of the signed-in citizen's session s, to a
// route; without a session the browser goes to sign in first.
func (h *Handler) withSession(fn func(w http.ResponseWriter, r *http.Request, s *session.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.Sessions.Current(r)
		if err != nil && !session.Gone(err) {
			h.internal(w, r, "session", err)
			return
		}
		if err != nil {
			http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusFound)
			return
		}
		fn(w, r, s)
	}
}

func (h *Handler) showSessions(w http.ResponseWriter, r *http.Request, s *session.Session) {
	list, err := h.Centre.Sessions.List(r.Context(), s.AccountID)
	v := sessionsView{Page: h.page(r, "cen.sessions.title", "sessions")}
	if err != nil {
		h.Log.ErrorContext(r.Context(), "list sessions", "err", err)
		v.Error = v.L.T("acc.err.internal")
	}
	for _, x := range list {
		b, sys := webui.DescribeUA(x.UserAgent)
		v.Rows = append(v.Rows, sessionRow{ID: x.ID, Browser: b, System: sys, IP: x.IP, Current: x.ID == s.ID,
			Created: h.localTime(x.CreatedAt), LastSeen: h.localTime(x.LastSeenAt)})
	}
	noteBack(r, &v.Page, "done", "cen.sessions.ended")
	h.render.Render(w, r, http.StatusOK, "sessions", v)
}

func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request, s *session.Session) {
	ctx := r.Context()
	target := r.PostFormValue("id")
	list, err := h.Centre.Sessions.List(ctx, s.AccountID)
	if err != nil {
		h.Log.ErrorContext(ctx, "list sessions", "err", err)
		h.render.ErrorPage(w, r, http.StatusInternalServerError)
		return
	}
	// The sessions end with their entries in one transaction: all or none.
	var ended []string
	err = h.Activity.Apply(ctx, func(tx *sqldb.Tx, _ *account.Store) ([]audit.Entry, error) {
		ended = nil // an attempt run again starts afresh
		var es []audit.Entry
		sessions := h.Centre.SessionsIn(tx)
		for _, x := range list {
			if x.ID == s.ID || (target != "others" && x.ID != target) {
				continue
			}
			switch err := sessions.EndForAccount(ctx, s.AccountID, x.ID); {
			case errors.Is(err, sqldb.ErrNotFound):
				continue // ended meanwhile
			case err != nil:
				return nil, err
			}
			ended = append(ended, x.ID)
			es = append(es, h.entry(r, s.AccountID, audit.ActionSessionEnded, map[string]string{"session": x.ID}))
		}
		return es, nil
	})
	if err != nil {
		h.internal(w, r, "end session", err)
		return
	}
	h.tellEnded(ctx, s.AccountID, ended)
	webui.Redirect(w, r, "/account/sessions?done=1")
}

// tellEnded tells Centre.Ended of each session ended (back-channel
// logout); a failure is logged.
func (h *Handler) tellEnded(ctx context.Context, accountID string, ids []string) {
	if h.Centre.Ended == nil {
		return
	}
	for _, id := range ids {
		if err := h.Centre.Ended(ctx, accountID, id); err != nil {
			h.Log.ErrorContext(ctx, "after ending a session", "err", err)
		}
	}
}

type appRow struct {
	ClientID, Name, Granted string
	Items                   []string
}

type appsView struct {
	webui.Page
	Apps []appRow
	// Confirm is the site whose access the citizen is about to revoke
	// (?revoke=client_id): the page asks to confirm, without script.
	Confirm *appRow
}

func (h *Handler) showApps(w http.ResponseWriter, r *http.Request, s *session.Session) {
	v := appsView{Page: h.page(r, "cen.apps.title", "apps")}
	gs, err := h.Centre.Grants.Grants(r.Context(), s.AccountID)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "list grants", "err", err)
		v.Error = v.L.T("acc.err.internal")
	}
	for _, g := range gs {
		row := appRow{ClientID: g.ClientID, Name: g.ClientName, Granted: h.localTime(g.GrantedAt)}
		for _, sc := range client.ShownScopes(g.Scopes) {
			if ks, ok := client.LookupScope(sc); ok {
				row.Items = append(row.Items, v.L.Pick(ks.RU, ks.EN))
			}
		}
		v.Apps = append(v.Apps, row)
	}
	if id := r.URL.Query().Get("revoke"); id != "" {
		for i := range v.Apps {
			if v.Apps[i].ClientID == id {
				v.Confirm = &v.Apps[i]
			}
		}
	}
	noteBack(r, &v.Page, "done", "cen.apps.revoked")
	h.render.Render(w, r, http.StatusOK, "apps", v)
}

// revokeApp withdraws a site's access once confirmed (confirm=yes, the
// button of the page ?revoke= shows); without it, it asks first.
func (h *Handler) revokeApp(w http.ResponseWriter, r *http.Request, s *session.Session) {
	clientID := r.PostFormValue("client_id")
	if r.PostFormValue("confirm") != "yes" {
		webui.Redirect(w, r, "/account/apps?"+url.Values{"revoke": {clientID}}.Encode())
		return
	}
	ctx := r.Context()
	err := h.Activity.ChangeTx(ctx, h.entry(r, s.AccountID, audit.ActionGrantRevoked, map[string]string{"client": clientID}),
		func(tx *sqldb.Tx, _ *account.Store) error {
			return h.Centre.Grants.RevokeGrant(ctx, tx, s.AccountID, clientID)
		})
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		h.Log.ErrorContext(ctx, "revoke grant", "err", err)
		h.render.ErrorPage(w, r, http.StatusInternalServerError)
		return
	}
	webui.Redirect(w, r, "/account/apps?done=1")
}

// localTime shows a time in Moscow time, as the portal does.
func (h *Handler) localTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(h.msk).Format("02.01.2006 15:04") + " МСК"
}
