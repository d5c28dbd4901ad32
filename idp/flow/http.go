package flow

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// CookieName is the base name of the cookie of a kind of flow; the browser
// sees it as the store's SecureCookies flag has webui.CookieName give it.
func CookieName(kind string) string { return "gosid_flow_" + kind }

// SecureCookies returns the store with its cookies named and marked for an
// IdP served over HTTPS (secure): "__Host-gosid_flow_<kind>", always
// Secure. FromRequest reads the cookie by the same name, so the flag is set
// here once, where the store is made, rather than by each caller.
func (s *Store) SecureCookies(secure bool) *Store {
	c := *s
	c.secure = secure
	return &c
}

// cookieName is the name under which the cookie of kind is set and read.
func (s *Store) cookieName(kind string) string { return webui.CookieName(CookieName(kind), s.secure) }

// Begin starts a flow of kind and sets its cookie (HttpOnly, SameSite=Lax,
// Path=/, Max-Age ttl, Secure with the store's SecureCookies). A
// flow of the same kind that the request's cookie names is deleted first,
// so restarting leaves no orphan.
func (s *Store) Begin(w http.ResponseWriter, r *http.Request, kind string, data any, ttl time.Duration) error {
	if c, err := r.Cookie(s.cookieName(kind)); err == nil {
		err := s.Delete(r.Context(), kind, c.Value)
		if err != nil && !sqldb.Gone(err) {
			return err
		}
	}
	token, err := s.Start(r.Context(), kind, data, ttl)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(kind),
		Value:    token,
		Path:     "/",
		MaxAge:   max(int(ttl/time.Second), 1),
		Expires:  s.now().Add(ttl),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// End ends the flow of kind named by token once it has done its work: its
// cookie is dropped and its row deleted. A flow already gone is no error;
// one whose row cannot be deleted expires unused, and the error says why.
func (s *Store) End(ctx context.Context, w http.ResponseWriter, kind, token string) error {
	s.Clear(w, kind)
	if err := s.Delete(ctx, kind, token); err != nil && !sqldb.Gone(err) {
		return err
	}
	return nil
}

// FromRequest loads the flow of kind named by the request's cookie into
// data and returns its token and version. No cookie is sqldb.ErrNotFound;
// other errors as Load's.
func (s *Store) FromRequest(r *http.Request, kind string, data any) (string, int, error) {
	c, err := r.Cookie(s.cookieName(kind))
	if err != nil {
		return "", 0, fmt.Errorf("flow: no %s cookie: %w", kind, sqldb.ErrNotFound)
	}
	version, err := s.Load(r.Context(), kind, c.Value, data)
	if err != nil {
		return "", 0, err
	}
	return c.Value, version, nil
}

// Clear expires the cookie of kind. Call it when the flow is finished or
// found expired.
func (s *Store) Clear(w http.ResponseWriter, kind string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(kind),
		Path:     "/",
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}
