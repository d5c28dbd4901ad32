package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Start signs the browser in: it ends the session of any cookie the request
// carries (session fixation defence), creates a new session authenticated
// now with amr, and sets the cookie. ip is the client address as the
// caller's proxy logic determined it.
func (s *Store) Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*Session, error) {
	sess, err := s.Begin(w, r, accountID, amr, ip)
	if err == nil && s.cfg.Started != nil {
		s.cfg.Started(r.Context(), accountID, webui.Lang(r))
	}
	return sess, err
}

// BeginIn is Begin for a sign-in that spends state of its own (the
// one-time flow of its last step): spend runs in the transaction that
// opens the session, so that both commit or neither does — a database
// that fails between leaves the state for the citizen's retry — and the
// cookie is set only after the commit.
func (s *Store) BeginIn(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string, spend func(tx *sqldb.Tx) error) (*Session, error) {
	var o *Opened
	err := s.db.InTx(r.Context(), func(tx *sqldb.Tx) error {
		if err := spend(tx); err != nil {
			return err
		}
		var err error
		o, err = s.With(tx).Open(r, accountID, amr, ip)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.SetCookie(w, o)
	return o.Session, nil
}

// Begin is Start without telling Config.Started: for a caller that does
// what Started would itself (login.Arrivals, which has the account and
// knows whether its language changed).
func (s *Store) Begin(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*Session, error) {
	o, err := s.Open(r, accountID, amr, ip)
	if err != nil {
		return nil, err
	}
	s.SetCookie(w, o)
	return o.Session, nil
}

// Opened is a session Open created, its cookie not yet set.
type Opened struct {
	*Session
	token string
}

// Open is Begin without the cookie: for a caller that opens the session
// in a transaction of its own (s.With(tx)) and sets the cookie with
// SetCookie once it has committed — so that an answer of a failed
// transaction changes no cookie.
func (s *Store) Open(r *http.Request, accountID string, amr []string, ip string) (*Opened, error) {
	ctx := r.Context()
	if c, err := r.Cookie(s.cookieName); err == nil {
		if err := s.endByToken(ctx, c.Value); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
			return nil, err
		}
	}
	token, sess, err := s.Create(ctx, accountID, amr, time.Time{}, ip, r.UserAgent())
	if err != nil {
		return nil, err
	}
	return &Opened{Session: sess, token: token}, nil
}

// SetCookie sets the cookie of a session Open created.
func (s *Store) SetCookie(w http.ResponseWriter, o *Opened) {
	http.SetCookie(w, s.cookie(o.token, o.ExpiresAt))
}

// Gone reports whether err of Current or Lookup is the verdict that there
// is no live session (no cookie, an unknown, ended or expired one): only
// then is the browser sent to sign in; any other error is a store that did
// not answer, 503.
func Gone(err error) bool { return sqldb.Gone(err) }

// Gate is a signed-in page's gate: the request's live session (current
// reads it) and its account (account reads it), or an answer already
// written — to sign in and come back to next when there is no live
// session or its account is gone; the branded 503 with Retry-After when a
// store did not answer, so that a database blip signs nobody out.
func Gate[A any](w http.ResponseWriter, r *http.Request, current func(*http.Request) (*Session, error),
	account func(context.Context, string) (A, error), next string, log *slog.Logger) (*Session, A, bool) {
	var none A
	s, err := current(r)
	what := "session"
	if err == nil {
		a, aerr := account(r.Context(), s.AccountID)
		if aerr == nil {
			return s, a, true
		}
		err, what = aerr, "account of session"
	}
	if !Gone(err) {
		log.ErrorContext(r.Context(), what, "err", err)
		webui.Overloaded(w, err) // an overload's own Retry-After
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return nil, none, false
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusFound)
	return nil, none, false
}

// Current returns the live session of the request's cookie. Errors as
// Lookup's; no cookie is sqldb.ErrNotFound.
func (s *Store) Current(r *http.Request) (*Session, error) {
	c, err := r.Cookie(s.cookieName)
	if err != nil {
		return nil, fmt.Errorf("session: no cookie: %w", sqldb.ErrNotFound)
	}
	return s.Lookup(r.Context(), c.Value)
}

// SignOut ends the session of the request's cookie, if any, and expires the
// cookie. It fails only when the database does; the cookie is expired even
// then.
func (s *Store) SignOut(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, s.cookie("", time.Time{}))
	c, err := r.Cookie(s.cookieName)
	if err != nil {
		return nil
	}
	if err := s.endByToken(r.Context(), c.Value); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return err
	}
	return nil
}

// cookie builds the session cookie; a zero expiry deletes it.
func (s *Store) cookie(token string, expiresAt time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     s.cookieName,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.cfg.Secure,
		SameSite: http.SameSiteLaxMode,
	}
	if expiresAt.IsZero() {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
		return c
	}
	c.MaxAge = max(int(expiresAt.Sub(s.now())/time.Second), 1)
	c.Expires = expiresAt
	return c
}

type contextKey struct{}

// WithSession returns ctx carrying sess, for middleware that resolved the
// request's session once.
func WithSession(ctx context.Context, sess *Session) context.Context {
	return context.WithValue(ctx, contextKey{}, sess)
}

// FromContext returns the session WithSession stored, if any.
func FromContext(ctx context.Context) (*Session, bool) {
	sess, ok := ctx.Value(contextKey{}).(*Session)
	return sess, ok && sess != nil
}
