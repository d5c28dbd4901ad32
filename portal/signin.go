package portal

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/auth"
)

// sessionCookie names the portal's session cookie (webui.CookieName adds
// __Host- under TLS).
const sessionCookie = "gosid_portal"

func (h *Handler) cookieName() string { return webui.CookieName(sessionCookie, h.cfg.Secure) }

// binding ties a sign-in to the browser that began it (login CSRF).
func (h *Handler) binding() webui.Binding {
	return webui.Binding{Name: "gosid_portal_login", Secure: h.cfg.Secure, TTL: auth.LoginTTL}
}

func (h *Handler) cookie(r *http.Request) string {
	c, err := r.Cookie(h.cookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *Handler) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

type sessionKey struct{}

// session is the request's portal session, or nil.
func session(r *http.Request) *auth.Session {
	s, _ := r.Context().Value(sessionKey{}).(*auth.Session)
	return s
}

// withSession finds the request's session once, for every page and the
// layout (the sign-out button). Static files, the agency API (bearer
// tokens) and the protocol endpoints need none: a page's stylesheet and
// script must not cost a session look-up, or a profile refresh, each.
func (h *Handler) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := h.cookie(r)
		if c == "" || h.auth == nil || sessionless(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := h.auth.Lookup(r.Context(), c)
		if err != nil {
			h.log.ErrorContext(r.Context(), "portal session", "err", err)
			h.render.ErrorPage(w, r, http.StatusServiceUnavailable)
			return
		}
		if sess == nil {
			h.setCookie(w, "", -1) // ended: forget it
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

// portalPage is what every portal page's layout shows: webui's page, and
// the citizen's unread notices.
type portalPage struct {
	webui.Page
	Unread int
	// Officer: the citizen is an agency's officer (the back-office link).
	Officer bool
}

// sessionless are the paths served without the citizen's session.
func sessionless(path string) bool {
	return strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, agencyPrefix+"/") ||
		path == auth.BackchannelPath || path == auth.JWKSPath || path == "/healthz" || path == notifyPath ||
		strings.HasPrefix(path, sandboxAcquirerPrefix+"/")
}

// page is NewPage with the signed-in state and the unread count.
func (h *Handler) page(r *http.Request, titleKey string) portalPage {
	p := portalPage{Page: h.render.NewPage(r, titleKey)}
	if sess := session(r); sess != nil {
		p.SignedIn = true
		p.Unread = h.unread(r.Context(), sess.Subject)
		p.Officer = len(agencies(sess)) > 0
	}
	return p
}

// needOf reads a step-up's need from a query: level and mfa.
func needOf(q url.Values) auth.Need {
	n := auth.Need{MFA: q.Get("mfa") == "1"}
	if auth.Rank(q.Get("level")) > 0 {
		n.Level = q.Get("level")
	}
	return n
}

// loginPath is where a page that needs more sends the citizen.
func loginPath(returnTo string, need auth.Need) string {
	q := url.Values{"return": {returnTo}}
	if need.Level != "" {
		q.Set("level", need.Level)
	}
	if need.MFA {
		q.Set("mfa", "1")
	}
	return "/login?" + q.Encode()
}

// login sends the browser to sign in at the identity provider (GET
// /login?return=/path[&level=L][&mfa=1][&again=1]; again: the restart of
// a sign-in whose code was spent, auth.RestartError).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	returnTo := webui.SafeNext(r.URL.Query().Get("return"))
	if returnTo == "" {
		returnTo = "/"
	}
	begin := h.auth.Begin
	if r.URL.Query().Get("again") == "1" {
		begin = h.auth.BeginAgain
	}
	u, err := begin(r.Context(), returnTo, needOf(r.URL.Query()), webui.Lang(r), h.binding().Begin(w, r))
	if err != nil {
		h.signinFailed(w, r, err)
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// callback completes a sign-in (GET /auth/callback).
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	sess, cookie, returnTo, err := h.auth.Finish(r.Context(), r.URL.Query(), h.cookie(r), h.binding().Of(r))
	var restart *auth.RestartError
	if errors.As(err, &restart) {
		h.log.WarnContext(r.Context(), "portal sign-in starts again", "reason", err.Error())
		http.Redirect(w, r, loginPath(cmp.Or(webui.SafeNext(returnTo), "/"), restart.Need)+"&again=1", http.StatusFound)
		return
	}
	if err != nil {
		h.signinFailed(w, r, err)
		return
	}
	if h.db != nil {
		if err := h.remember(r.Context(), sess, webui.Lang(r)); err != nil {
			h.log.ErrorContext(r.Context(), "citizen's contacts not kept", "err", err)
		}
	}
	h.setCookie(w, cookie, 0)
	webui.RedirectNext(w, r, returnTo, "/")
}

// signinFailedView explains a sign-in that did not work.
type signinFailedView struct {
	portalPage
	Reason string
	Retry  bool
}

func (h *Handler) signinFailed(w http.ResponseWriter, r *http.Request, err error) {
	l := h.render.Localizer(r)
	v := signinFailedView{portalPage: h.page(r, "signin.failed"), Retry: true}
	status := http.StatusBadGateway
	switch {
	case errors.Is(err, auth.ErrCancelled):
		v.Reason, status = l.T("signin.cancelled"), http.StatusOK
	case errors.Is(err, auth.ErrNoSecondFactor):
		v.Reason, status = l.T("signin.no_mfa"), http.StatusOK
	case errors.Is(err, auth.ErrOtherBrowser):
		v.Reason, status = l.T("signin.other_browser"), http.StatusBadRequest
	case errors.Is(err, auth.ErrUnknownFlow):
		v.Reason, status = l.T("signin.expired"), http.StatusBadRequest
	case errors.Is(err, auth.ErrRefused):
		v.Reason = l.T("signin.refused")
	case errors.Is(err, auth.ErrUnavailable):
		v.Reason, status = l.T("signin.unavailable"), http.StatusServiceUnavailable
	default:
		v.Reason, status = l.T("signin.unavailable"), http.StatusInternalServerError
	}
	h.log.WarnContext(r.Context(), "portal sign-in failed", "reason", err.Error())
	if status == http.StatusServiceUnavailable {
		// The callback keeps the sign-in for a retry (auth.Finish): the
		// browser, or the citizen, may come back with the same address.
		w.Header().Set("Retry-After", "2")
	}
	h.render.Render(w, r, status, "signin_failed", v)
}

// logout ends the portal session and sends the browser to sign out at the
// identity provider (POST /logout).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	u, err := h.auth.LogoutURL(r.Context(), h.cookie(r), webui.Lang(r))
	if err != nil {
		// Not signed out yet: the cookie stays, the citizen presses
		// «Выйти» again (503 with Retry-After, or 500 for a fault).
		h.fail(w, r, err)
		return
	}
	h.setCookie(w, "", -1)
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// require wraps a page that needs a signed-in citizen meeting need: a
// citizen not signed in, or signed in below the need, is sent to sign in
// (again) and comes back to the same address; one whose sign-in already
// asked for this need and still falls short sees why.
func (h *Handler) require(need auth.Need, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := session(r)
		switch {
		case h.auth == nil:
			h.render.ErrorPage(w, r, http.StatusNotFound)
		case sess != nil && sess.Meets(need):
			next(w, r)
		case sess != nil && sess.StepUp == need:
			h.render.Render(w, r, http.StatusForbidden, "need_more", needMoreView{portalPage: h.page(r, "need.title"), Need: need,
				Level: sess.Profile.Level, Retry: loginPath(r.URL.RequestURI(), need), IdP: h.cfg.IdPURL})
		default:
			back := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				back = "/"
			}
			http.Redirect(w, r, loginPath(back, need), http.StatusFound)
		}
	}
}

// needMoreView says what a page needs that the account lacks.
type needMoreView struct {
	portalPage
	Need  auth.Need
	Level string
	Retry string
	IdP   string
}

// jwks publishes the portal's client key (GET /jwks.json), for an identity
// provider that has the portal registered with a jwks_uri.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write([]byte(h.auth.Key().JWKS()))
}
