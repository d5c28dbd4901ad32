package oidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// fromPage makes a request look as a browser sends fetch() from a page of
// origin.
func fromPage(origin string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Sec-Fetch-Mode", "cors")
	}
}

// preflight sends a CORS preflight for method with the request headers.
func (o *testOP) preflight(t testing.TB, path, origin, method, headers string) reply {
	t.Helper()
	mods := []func(*http.Request){fromPage(origin), header("Access-Control-Request-Method", method)}
	if headers != "" {
		mods = append(mods, header("Access-Control-Request-Headers", headers))
	}
	return do(t, plainClient, http.MethodOptions, o.URL+path, nil, mods...)
}

func allowsOrigin(r reply, origin string) bool {
	return r.Header.Get("Access-Control-Allow-Origin") == origin && r.Header.Get("Access-Control-Allow-Credentials") == ""
}

func listHas(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

// TestCORSForBrowserApps: a single-page app (a public client) redeems its
// code, calls userinfo and revokes its token from its own origin, the
// origin of a registered redirect URI; other origins get no CORS
// permission, and nobody gets credentials. Before, the cross-origin filter
// refused the app's POST with a bare 403, and op's CORS layer allowed any
// origin with credentials.
func TestCORSForBrowserApps(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		const spa, spaAlt, evil = "https://spa.example", "https://app.spa.example:8443", "https://evil.example"
		app, _ := op.client(t, client.Client{Name: "Одностраничное приложение", AuthMethod: client.AuthNone,
			RedirectURIs: []string{spa + "/cb", spaAlt + "/signed-in"}, Scopes: []string{"openid", "fullname", "offline_access"},
			GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
		const site = "https://site.example"
		web, webSecret := op.client(t, client.Client{RedirectURIs: []string{site + "/cb"}})
		b := op.signedIn(t, op.citizen(t).ID)

		for _, p := range []struct{ path, method, headers string }{
			{pathToken, "POST", "content-type"},
			{pathRevoke, "POST", "content-type"},
			{pathUserinfo, "GET", "authorization"},
			{pathUserinfo, "POST", "Authorization, Content-Type"},
		} {
			for _, origin := range []string{spa, spaAlt} {
				r := op.preflight(t, p.path, origin, p.method, p.headers)
				if r.Status/100 != 2 || !allowsOrigin(r, origin) || !listHas(r.Header.Get("Access-Control-Allow-Methods"), p.method) ||
					!listHas(r.Header.Get("Access-Control-Allow-Headers"), "authorization") ||
					!listHas(r.Header.Get("Access-Control-Allow-Headers"), "content-type") || !strings.Contains(r.Header.Get("Vary"), "Origin") {
					t.Errorf("preflight %s %s from %s: %d %v", p.method, p.path, origin, r.Status, r.Header)
				}
			}
			for _, origin := range []string{evil, "null", spa + ".evil.example", "http://spa.example"} {
				if r := op.preflight(t, p.path, origin, p.method, p.headers); r.Header.Get("Access-Control-Allow-Origin") != "" ||
					r.Header.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("preflight %s %s from %s: %v, want no CORS permission", p.method, p.path, origin, r.Header)
				}
			}
			if r := op.preflight(t, p.path, spa, p.method, "x-custom"); r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("preflight %s %s asking for header x-custom: %v, want no permission", p.method, p.path, r.Header)
			}
		}
		if r := op.preflight(t, pathToken, spa, "PUT", ""); r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight PUT %s: %v, want no permission", pathToken, r.Header)
		}

		// The code flow as the app's page runs it.
		verifier, challenge := pkce()
		code := op.code(t, b, app, challenge, "scope", "openid fullname offline_access")
		exchange := with(codeExchange(code, verifier), "redirect_uri", spa+"/cb", "client_id", app.ID)
		r := op.post(t, pathToken, exchange, fromPage(spa))
		if r.Status != http.StatusOK || !allowsOrigin(r, spa) {
			t.Fatalf("code exchange from %s: %s %v", spa, r, r.Header)
		}
		at, rt := r.Str("access_token"), r.Str("refresh_token")
		bearer := header("Authorization", "Bearer "+at)
		if u := do(t, plainClient, http.MethodGet, op.URL+pathUserinfo, nil, fromPage(spa), bearer); u.Status != http.StatusOK || !allowsOrigin(u, spa) ||
			u.Str("family_name") != "Иванов" {
			t.Errorf("userinfo from %s: %s %v", spa, u, u.Header)
		}
		if u := do(t, plainClient, http.MethodGet, op.URL+pathUserinfo, nil, fromPage(spaAlt), bearer); !allowsOrigin(u, spaAlt) {
			t.Errorf("userinfo from %s: %v", spaAlt, u.Header)
		}
		// The same token from other origins, including another client's.
		for _, origin := range []string{evil, site} {
			if u := do(t, plainClient, http.MethodGet, op.URL+pathUserinfo, nil, fromPage(origin), bearer); u.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("userinfo of the app's token from %s: %v, want no CORS permission", origin, u.Header)
			}
			r := op.post(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {app.ID}}, fromPage(origin))
			if r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("the app's token request from %s: %v, want no CORS permission", origin, r.Header)
			}
		}
		// Errors reach the app's page too, so that it can show them.
		r = op.post(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {app.ID}}, fromPage(spa))
		if r.Status != http.StatusBadRequest || !allowsOrigin(r, spa) {
			t.Errorf("an error for the app: %s %v", r, r.Header)
		}
		if r := op.post(t, pathRevoke, url.Values{"token": {rt}, "client_id": {app.ID}}, fromPage(spa)); r.Status != http.StatusOK || !allowsOrigin(r, spa) {
			t.Errorf("revocation from %s: %s %v", spa, r, r.Header)
		}
		// A confidential client with a redirect URI at site: its origin is
		// allowed for its own requests, not for the app's.
		if r := op.post(t, pathRevoke, url.Values{"token": {"x"}}, fromPage(site), basic(web.ID, webSecret)); r.Status != http.StatusOK || !allowsOrigin(r, site) {
			t.Errorf("revocation by the site's client from its origin: %s %v", r, r.Header)
		}
	})
}

// TestNoCredentialedCORS: no route allows an arbitrary origin, let alone
// with credentials (op's rs/cors reflected every Origin with
// Access-Control-Allow-Credentials: true on every route it served).
func TestNoCredentialedCORS(t *testing.T) {
	op := startOP(t, sqldbtest.SQLite(t))
	const evil = "https://evil.example"
	for _, path := range []string{pathAuthorize, pathContinue, pathConsent, pathToken, pathIntrospect, pathRevoke, pathUserinfo, pathEndSession,
		pathDevice, "/device", "/.well-known/openid-configuration", "/keys"} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodOptions} {
			mods := []func(*http.Request){fromPage(evil), header("Access-Control-Request-Method", "POST"),
				header("Access-Control-Request-Headers", "authorization, content-type")}
			r := do(t, plainClient, m, op.URL+path, url.Values{}, mods...)
			if acao := r.Header.Get("Access-Control-Allow-Origin"); acao == evil || r.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q, Access-Control-Allow-Credentials %q", m, path, evil, acao,
					r.Header.Get("Access-Control-Allow-Credentials"))
			}
		}
	}
}

// TestCookieEndpointsKeepCrossOriginProtection: the endpoints a browser's
// session cookie authenticates still refuse cross-site form posts; the
// token, revocation and userinfo endpoints, which take no cookie, do not.
func TestCookieEndpointsKeepCrossOriginProtection(t *testing.T) {
	op := startOP(t, sqldbtest.SQLite(t))
	b := op.signedIn(t, op.citizen(t).ID)
	for _, path := range []string{pathConsent, "/device", pathEndSession, pathAuthorize} {
		if r := b.do(t, http.MethodPost, path, url.Values{"x": {"1"}}, fromPage("https://evil.example")); r.Status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, r.Status)
		}
	}
	for _, path := range []string{pathToken, pathRevoke, pathUserinfo} {
		if r := b.do(t, http.MethodPost, path, url.Values{"x": {"1"}}, fromPage("https://evil.example")); r.Status == http.StatusForbidden {
			t.Errorf("cross-site POST %s: 403 from the cookie filter: %s", path, r)
		}
	}
}
