package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/rs/cors"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/idp/client"
)

// CORS for browser apps. A single-page app (a public client) redeems its
// code, refreshes, calls userinfo and revokes with fetch() from its own
// origin: the origin of one of its registered redirect URIs. So the token,
// revocation and userinfo endpoints answer CORS for exactly those origins,
// per client:
//
//   - an actual request gets Access-Control-Allow-Origin when its Origin is
//     an origin of the client it names (token, revocation: client_id, Basic
//     or the assertion's iss; userinfo: the access token's client), errors
//     included, so that the app can read them;
//   - a preflight names no client (it has no body and no credentials), so it
//     is allowed for an origin that some client registered, for POST (and
//     GET at userinfo) with the headers Authorization and Content-Type;
//   - never Access-Control-Allow-Credentials: these endpoints take no
//     cookie, and no other endpoint answers CORS at all.
//
// The endpoints take no cookie, so they are exempt from the cross-site
// form filter (CrossOriginEndpoints); the pages a session cookie
// authenticates (/authorize, the consent and device forms, /oauth/logout)
// keep it. op's own CORS layer, which allowed every origin with
// credentials on every route, is switched off (provider.CORSOptions).

// CrossOriginEndpoints are the http.ServeMux patterns of the endpoints
// that take no cookie and serve browser apps from other origins, for
// webui.Protect to let through.
func (p *Provider) CrossOriginEndpoints() []string {
	return []string{pathToken, pathRevoke, pathUserinfo}
}

// allowedRequestHeaders are the request headers a browser app may send.
var allowedRequestHeaders = []string{"authorization", "content-type"}

// preflight answers a CORS preflight for an endpoint taking methods; an
// OPTIONS request that is no preflight gets Allow.
func (p *Provider) preflight(w http.ResponseWriter, r *http.Request, methods ...string) {
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		h.Set("Allow", strings.Join(append(slices.Clone(methods), http.MethodOptions), ", "))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Refused: no CORS headers, and the browser does not send the request.
	if !slices.Contains(methods, method) || !headersAllowed(r.Header.Get("Access-Control-Request-Headers")) || !p.originRegistered(r.Context(), origin) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func headersAllowed(list string) bool {
	for _, name := range strings.Split(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "" && !slices.Contains(allowedRequestHeaders, name) {
			return false
		}
	}
	return true
}

// originRegistered reports whether origin is the origin of some client's
// redirect URI.
func (p *Provider) originRegistered(ctx context.Context, origin string) bool {
	if canon, ok := client.RedirectOrigin(origin); !ok || canon != origin {
		return false // "null", paths, odd spellings: never registered
	}
	ok, err := p.deps.Clients.HasRedirectOrigin(ctx, origin)
	if err != nil {
		p.deps.Log.ErrorContext(ctx, "CORS preflight: client look-up", "err", err)
		return false
	}
	return ok
}

// allowOrigin lets the request's Origin read the answer when it is an
// origin of the client clientID's redirect URIs.
func (p *Provider) allowOrigin(w http.ResponseWriter, r *http.Request, clientID string) {
	origin := r.Header.Get("Origin")
	if origin == "" || clientID == "" || !client.ValidID(clientID) {
		return
	}
	c, err := p.deps.Clients.Get(r.Context(), clientID)
	if err != nil || !slices.Contains(c.RedirectOrigins(), origin) {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	// RFC 6750 errors travel in WWW-Authenticate.
	w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate")
}

// userinfoCORS answers the userinfo endpoint's preflights and adds CORS
// headers for the access token's client, then lets op (next) answer.
func (p *Provider) userinfoCORS(w http.ResponseWriter, r *http.Request, next http.Handler) {
	w.Header().Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		p.preflight(w, r, http.MethodGet, http.MethodPost)
		return
	}
	if r.Header.Get("Origin") != "" {
		p.allowOrigin(w, r, p.accessTokenClient(r))
	}
	next.ServeHTTP(w, r)
}

// maxAccessTokenLen bounds the token looked at for CORS.
const maxAccessTokenLen = 16 << 10

// accessTokenClient names the client of the request's access token (the
// Authorization header's, or a form body's), for CORS only: an opaque token
// is decrypted, a JWT's client_id is read without checking the signature
// or expiry. CORS decides which page may read an answer to a request that
// carries no cookie: naming a client lets nothing through that holding the
// token would not, and an app must be able to read that its token expired.
func (p *Provider) accessTokenClient(r *http.Request) string {
	token := ""
	if a := r.Header.Get("Authorization"); len(a) > len(zoidc.PrefixBearer) && strings.EqualFold(a[:len(zoidc.PrefixBearer)], zoidc.PrefixBearer) {
		token = a[len(zoidc.PrefixBearer):]
	} else if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		token = r.PostFormValue("access_token")
	}
	if token == "" || len(token) > maxAccessTokenLen {
		return ""
	}
	if plain, err := p.op.Crypto().Decrypt(token); err == nil {
		id, _, _ := strings.Cut(plain, ":")
		if tid, err := parseTokenID(id); err == nil {
			return tid.ClientID
		}
		return ""
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ClientID string `json:"client_id"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.ClientID
}

// CORSOptions switches op's CORS layer off: op's router applies it to
// every route it serves, with every origin allowed and credentials.
func (w provider) CORSOptions() *cors.Options { return nil }
