package flow

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gosid/gosid/migrations/sqldb"
)

// CookieName is the name of the cookie of a kind of flow.
func CookieName(kind string) string { return "gosid_flow_" + kind }

// Begin starts a flow of kind and sets its cookie (HttpOnly, SameSite=Lax,
// Path=/, Max-Age ttl, Secure if secure). A flow of the same kind that the
// request's cookie names is deleted first, so restarting leaves no orphan.
func (s *Store) Begin(w http.ResponseWriter, r *http.Request, kind string, data any, ttl time.Duration, secure bool) error {
	if c, err := r.Cookie(CookieName(kind)); err == nil {
		err := s.Delete(r.Context(), kind, c.Value)
		if err != nil && !errors.Is(err, sqldb.ErrNotFound) && !errors.Is(err, sqldb.ErrExpired) {
			return err
		}
	}
	token, err := s.Start(r.Context(), kind, data, ttl)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName(kind),
		Value:    token,
		Path:     "/",
		MaxAge:   max(int(ttl/time.Second), 1),
		Expires:  s.now().Add(ttl),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// FromRequest loads the flow of kind named by the request's cookie into
// data and returns its token and version. No cookie is sqldb.ErrNotFound;
// other errors as Load's.
func (s *Store) FromRequest(r *http.Request, kind string, data any) (string, int, error) {
	c, err := r.Cookie(CookieName(kind))
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
func (s *Store) Clear(w http.ResponseWriter, kind string, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName(kind),
		Path:     "/",
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}
