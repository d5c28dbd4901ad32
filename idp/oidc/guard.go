package oidc

import (
	"errors"
	"mime"
	"net/http"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
)

// guard checks what op checks too late or answers too plainly:
//
//   - the client-authenticating endpoints (token, introspection,
//     revocation, device authorization) go through serveClientEndpoint:
//     method, body-only parameters, the client's authentication before op
//     reads anything (a code included), CORS, and RFC 6749 errors;
//   - userinfo answers CORS for its access token's client;
//   - at the authorization endpoint, the client and the exact redirect URI,
//     answered with Gosid's own page in the citizen's language (never a
//     redirect to an unregistered URI).
func (p *Provider) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ep, ok := clientEndpoints[r.URL.Path]; ok {
			p.serveClientEndpoint(w, r, next, ep)
			return
		}
		switch r.URL.Path {
		case pathUserinfo:
			p.userinfoCORS(w, r, next)
			return
		case pathAuthorize:
			if p.authorizeTarget(w, r) {
				p.authorizePage(w, r, next)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorizePage runs op's authorization endpoint and shows Gosid's error
// page instead of op's plain-text refusals (of a request op cannot parse
// or will not redirect: "ErrorType=invalid_request Description=…
// Parent=schema: …"); redirects pass unchanged.
func (p *Provider) authorizePage(w http.ResponseWriter, r *http.Request, next http.Handler) {
	buf := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	next.ServeHTTP(buf, r)
	if mt, _, _ := mime.ParseMediaType(buf.header.Get("Content-Type")); buf.status >= 400 && mt == "text/plain" {
		p.badRequest(w, r, "authz.err.invalid")
		return
	}
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

// authorizeTarget shows Gosid's error page for a request whose client is
// unknown or whose redirect URI is not registered exactly; it reports
// whether the request may go on to op.
func (p *Provider) authorizeTarget(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		p.badRequest(w, r, "authz.err.request")
		return false
	}
	id, redirect := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
	if id == "" || redirect == "" {
		p.badRequest(w, r, "authz.err.request")
		return false
	}
	c, err := p.deps.Clients.Get(r.Context(), id)
	switch {
	case errors.Is(err, sqldb.ErrNotFound) || errors.Is(err, client.ErrInvalidCredentials):
		p.badRequest(w, r, "authz.err.client")
		return false
	case err != nil:
		// A store failure is no verdict: the site is not "unknown".
		p.retryPage(w, r, "read the client", err)
		return false
	}
	if !c.HasRedirectURI(redirect) {
		p.badRequest(w, r, "authz.err.redirect")
		return false
	}
	return true
}

// unavailablePage tells the citizen to try again: a store failed (503).
func (p *Provider) unavailablePage(w http.ResponseWriter, r *http.Request) {
	pg := p.render.NewPage(r, "authz.err.title")
	pg.Error = pg.L.T("authz.err.unavailable")
	if w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	p.render.Render(w, r, http.StatusServiceUnavailable, "consent", consentView{Page: pg})
}

func (p *Provider) badRequest(w http.ResponseWriter, r *http.Request, key string) {
	pg := p.render.NewPage(r, "authz.err.title")
	pg.Error = pg.L.T(key)
	p.render.Render(w, r, http.StatusBadRequest, "consent", consentView{Page: pg})
}
