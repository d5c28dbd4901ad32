package profile

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// «Это был не я». A contact change sends the previous phone or e-mail a
// notice with a link (account.Store.OfferUndo). Whoever holds that contact
// can, within Deps.Undo.TTL (7 days) and once:
//
//	GET  /account/undo?token=…   what will happen; changes nothing, so that
//	                             mail scanners that open links do no harm
//	POST /account/undo           token: the previous contact comes back (unless another account
//	                             has verified it since), every session of the account ends (and
//	                             the sites are told), remembered devices are forgotten, and
//	                             password sign-in is suspended until the password is recovered
//
// No session is needed: the owner may have been signed out by the intruder.
// Every step goes to the activity log.

// DefaultUndoTTL is how long an undo link works.
const DefaultUndoTTL = 7 * 24 * time.Hour

// UndoLinks reads undo links (account.Store.Undo).
type UndoLinks interface {
	Undo(ctx context.Context, token string) (*account.ContactUndo, error)
}

// UndoDeps are the undo pages' dependencies (on Deps).
type UndoDeps struct {
	// PublicURL is the address the links start with (the issuer).
	PublicURL string
	// TTL is how long a link works (DefaultUndoTTL).
	TTL   time.Duration
	Links UndoLinks
}

// undoLink is the page of token, for the notice.
func (h *Handler) undoLink(token string) string {
	return strings.TrimSuffix(h.Undo.PublicURL, "/") + "/account/undo?" + url.Values{"token": {token}}.Encode()
}

type undoView struct {
	webui.Page
	// State: confirm, done, invalid, expired.
	State string
	Token string
	Kind  string
	// Masked is the previous contact.
	Masked string
	// Taken: another account has verified the previous contact since; it
	// is not restored.
	Taken bool
}

func (h *Handler) undoPage(r *http.Request) undoView {
	return undoView{Page: h.render.NewPage(r, "undo.title")}
}

// undoFailed shows a link that cannot be used.
func (h *Handler) undoFailed(w http.ResponseWriter, r *http.Request, v undoView, err error) {
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		v.State = "invalid"
		h.render.Render(w, r, http.StatusNotFound, "undo", v)
	case errors.Is(err, sqldb.ErrExpired):
		v.State = "expired"
		h.render.Render(w, r, http.StatusGone, "undo", v)
	default:
		h.internal(w, r, "undo link", err)
	}
}

func (h *Handler) showUndo(w http.ResponseWriter, r *http.Request) {
	v := h.undoPage(r)
	token := r.URL.Query().Get("token")
	u, err := h.Undo.Links.Undo(r.Context(), token)
	if err != nil {
		h.undoFailed(w, r, v, err)
		return
	}
	v.State, v.Token, v.Kind, v.Masked, v.Taken = "confirm", token, u.Kind, maskContact(u.Kind, u.OldValue), u.Taken
	other := "en"
	if v.L.Lang == "en" {
		other = "ru"
	}
	v.OtherLangURL = "/account/undo?" + url.Values{"lang": {other}, "token": {token}}.Encode()
	h.render.Render(w, r, http.StatusOK, "undo", v)
}

func (h *Handler) submitUndo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := h.undoPage(r)
	token := r.PostFormValue("token")
	var u *account.ContactUndo
	var err error
	var ended []string
	// Twice at most: the previous contact may change hands between the
	// reading and the change, which then changes nothing.
	for range 2 {
		if u, err = h.Undo.Links.Undo(ctx, token); err != nil {
			break
		}
		detail := map[string]string{"field": u.Kind, "value": maskContact(u.Kind, u.OldValue), "restored": "yes", "password": "suspended"}
		if u.Taken {
			detail["restored"] = "no"
		}
		e := audit.Entry{AccountID: u.AccountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: u.AccountID},
			Action: audit.ActionContactChangeUndone, Detail: detail, IP: httpx.ClientIP(r)}
		// The undo, every session's end and their entries: one
		// transaction, so that a failure leaves the link to try again.
		err = h.Activity.Apply(ctx, func(tx *sqldb.Tx, s *account.Store) ([]audit.Entry, error) {
			ended = nil // an attempt run again starts afresh
			if _, err := s.UndoContactChange(ctx, token, u.Taken); err != nil {
				return nil, err
			}
			var err error
			ended, err = h.endEverywhere(ctx, h.Centre.SessionsIn(tx), u.AccountID)
			es := []audit.Entry{e}
			for _, id := range ended {
				es = append(es, h.entry(r, u.AccountID, audit.ActionSessionEnded, map[string]string{"session": id, "reason": "undo"}))
			}
			return es, err
		})
		if !errors.Is(err, account.ErrUndoChanged) {
			break
		}
	}
	if err != nil {
		h.undoFailed(w, r, v, err)
		return
	}
	h.tellEnded(ctx, u.AccountID, ended)
	if h.Security.Forget != nil {
		if err := h.Security.Forget(ctx, u.AccountID); err != nil {
			h.Log.ErrorContext(ctx, "forget remembered devices", "err", err)
		}
	}
	v.State, v.Kind, v.Masked, v.Taken = "done", u.Kind, maskContact(u.Kind, u.OldValue), u.Taken
	h.render.Render(w, r, http.StatusOK, "undo", v)
}

// endEverywhere ends every session of the account in sessions (bound to
// the undo's transaction) and returns the ids of those that were active,
// for their activity-log entries and to tell the sites that got tokens in
// them (back-channel logout) once committed.
func (h *Handler) endEverywhere(ctx context.Context, sessions SessionAdmin, accountID string) ([]string, error) {
	list, err := sessions.List(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if _, err := sessions.EndAll(ctx, accountID, ""); err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids, nil
}
