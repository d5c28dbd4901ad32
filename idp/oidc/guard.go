package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/migrations/sqldb"
)

// guard checks what op checks too late or answers too plainly:
//
//   - at the token endpoint, the client's credentials (Basic secret or
//     client assertion) before op redeems the code, so that a request with
//     bad credentials neither spends a code nor gets anything but
//     invalid_client (RFC 6749 section 5.2); the assertion's signature,
//     algorithm and unused jti are checked here, and op's verification then
//     records the jti;
//   - at the authorization endpoint, the client and the exact redirect URI,
//     answered with Gosid's own page in the citizen's language (never a
//     redirect to an unregistered URI).
func (p *Provider) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == pathToken && r.Method == http.MethodPost:
			if err := p.preAuthenticate(r); err != nil {
				writeOAuthError(w, http.StatusUnauthorized, "invalid_client", err.Error())
				return
			}
			alg := ""
			if id := requestClientID(r); id != "" {
				if c, err := p.deps.Clients.Get(r.Context(), id); err == nil {
					alg = c.IDTokenAlg
				}
			}
			r = r.WithContext(context.WithValue(r.Context(), draftCtxKey{}, true))
			p.finishSigning(w, r, next, alg)
			return
		case r.URL.Path == pathAuthorize:
			if !p.authorizeTarget(w, r) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeOAuthError(w http.ResponseWriter, status int, kind, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// No WWW-Authenticate challenge, as op's own invalid_client answers:
	// certified clients (openid-client) then read the JSON error body.
	w.WriteHeader(status)
	_ = jsonEncode(w, map[string]string{"error": kind, "error_description": desc})
}

var errBadClient = errors.New("client authentication failed")

// preAuthenticate checks a token request's client credentials, when it
// carries any; requests without credentials are left to op (public
// clients, and op's own invalid_client).
func (p *Provider) preAuthenticate(r *http.Request) error {
	ctx := r.Context()
	if id, secret, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if _, err := p.deps.Clients.CheckSecret(ctx, id, secret); err != nil {
			return errBadClient
		}
		return nil
	}
	if err := r.ParseForm(); err != nil {
		return nil // op answers invalid_request
	}
	if secret := r.PostForm.Get("client_secret"); secret != "" {
		if _, err := p.deps.Clients.CheckSecret(ctx, r.PostForm.Get("client_id"), secret); err != nil {
			return errBadClient
		}
		return nil
	}
	if a := r.PostForm.Get("client_assertion"); a != "" {
		if r.PostForm.Get("client_assertion_type") != zoidc.ClientAssertionTypeJWTAssertion {
			return errors.New("unsupported client_assertion_type")
		}
		return p.checkAssertion(ctx, a)
	}
	return nil
}

// checkAssertion verifies a client assertion without recording its jti.
func (p *Provider) checkAssertion(ctx context.Context, assertion string) error {
	jws, err := jose.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return errors.New("client assertion: not a JWS with an accepted algorithm")
	}
	k := &assertionKeys{p: p}
	c, _, jti, err := k.verify(ctx, jws)
	if err != nil {
		return err
	}
	used, err := p.store.jtiUsed(ctx, c.ID, jti)
	if err != nil {
		return err
	}
	if used {
		return errors.New("client assertion: jti already used (replay)")
	}
	return nil
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
	if err != nil {
		if !errors.Is(err, sqldb.ErrNotFound) && !errors.Is(err, client.ErrInvalidCredentials) {
			p.deps.Log.ErrorContext(r.Context(), "authorize: client", "err", err)
		}
		p.badRequest(w, r, "authz.err.client")
		return false
	}
	if !c.HasRedirectURI(redirect) {
		p.badRequest(w, r, "authz.err.redirect")
		return false
	}
	return true
}

func (p *Provider) badRequest(w http.ResponseWriter, r *http.Request, key string) {
	pg := p.render.NewPage(r, "authz.err.title")
	pg.Error = pg.L.T(key)
	p.render.Render(w, r, http.StatusBadRequest, "consent", consentView{Page: pg})
}
