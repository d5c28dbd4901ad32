package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// TestCodeFlowWithRP runs zitadel/oidc's relying party through the code
// flow with PKCE, with both client authentication methods, and checks the
// ID token (signature by the JWKS, iss, aud, nonce, at_hash) and userinfo.
func TestCodeFlowWithRP(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		style    oauth2.AuthStyle
		customer Customer
	}{
		{oauth2.AuthStyleInHeader, Customers()[0]},
		{oauth2.AuthStyleInParams, Customers()[2]}, // no passport, no middle name
	} {
		t.Run(tc.customer.Sub, func(t *testing.T) {
			ctx := context.Background()
			party, err := rp.NewRelyingPartyOIDC(ctx, r.issuer, testClientID, testClientSecret, testRedirect,
				[]string{"openid", "profile"}, rp.WithAuthStyle(tc.style),
				rp.WithVerifierOpts(rp.WithNonce(nonceFrom)))
			if err != nil {
				t.Fatal(err)
			}
			verifier := oauth2.GenerateVerifier()
			authURL, err := url.Parse(rp.AuthURL("state-1", party,
				rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier)), rp.AuthURLOpt(rp.WithURLParam("nonce", "nonce-1"))))
			if err != nil {
				t.Fatal(err)
			}
			p := r.showPage(t, r.client, authURL.Query())
			resp := r.pick(t, r.client, p, tc.customer.Sub)
			q := resp.location.Query()
			if got := resp.location.Scheme + "://" + resp.location.Host + resp.location.Path; got != testRedirect {
				t.Fatalf("redirected to %s", got)
			}
			if q.Get("state") != "state-1" || q.Get("iss") != r.issuer {
				t.Fatalf("callback state %q iss %q, want state-1 and %s", q.Get("state"), q.Get("iss"), r.issuer)
			}
			tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](withNonce(ctx, "nonce-1"), q.Get("code"), party, rp.WithCodeVerifier(verifier))
			if err != nil {
				t.Fatalf("code exchange: %v", err)
			}
			id := tokens.IDTokenClaims
			if id.Subject != tc.customer.Sub || id.Nonce != "nonce-1" || id.Issuer != r.issuer || id.AccessTokenHash == "" {
				t.Fatalf("ID token sub %q nonce %q iss %q at_hash %q", id.Subject, id.Nonce, id.Issuer, id.AccessTokenHash)
			}
			if exp := id.Expiration.AsTime().Sub(id.IssuedAt.AsTime()); exp != tokenTTL {
				t.Errorf("ID token lives %v", exp)
			}
			checkClaims(t, "ID token", tc.customer, id.Claims)
			info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", id.Subject, party)
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			checkClaims(t, "userinfo", tc.customer, info.Claims)
			if time.Until(tokens.Expiry) > tokenTTL || time.Until(tokens.Expiry) < tokenTTL-time.Minute {
				t.Errorf("access token expires at %v", tokens.Expiry)
			}
			// The same code again: refused.
			if _, err := rp.CodeExchange[*oidc.IDTokenClaims](withNonce(ctx, "nonce-1"), q.Get("code"), party, rp.WithCodeVerifier(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("reused code: %v, want invalid_grant", err)
			}
			// The nonce is checked by rp against what the test expects,
			// so a token for another nonce would be refused.
			code := r.code(t, authURL.Query(), tc.customer.Sub)
			if _, err := rp.CodeExchange[*oidc.IDTokenClaims](withNonce(ctx, "another"), code, party, rp.WithCodeVerifier(verifier)); err == nil || !strings.Contains(err.Error(), "nonce") {
				t.Errorf("ID token for another nonce: %v, want a nonce error", err)
			}
		})
	}
}

// checkClaims compares the claims as JSON with the customer's.
func checkClaims(t *testing.T, what string, c Customer, got map[string]any) {
	t.Helper()
	want := map[string]any{
		"sub": c.Sub, "family_name": c.FamilyName, "given_name": c.GivenName, "birthdate": c.BirthDate,
		"snils": c.SNILS, "inn": c.INN, "phone_number": c.Phone, "phone_number_verified": true,
		"email": c.Email, "email_verified": true,
	}
	if c.MiddleName != "" {
		want["middle_name"] = c.MiddleName
	}
	if c.Passport != nil {
		want["passport"] = map[string]any{"series": c.Passport.Series, "number": c.Passport.Number, "issue_date": c.Passport.IssueDate}
	}
	for k, v := range want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(t, v) {
			t.Errorf("%s: %s = %s, want %s", what, k, g, mustJSON(t, v))
		}
	}
	for _, k := range []string{"middle_name", "passport"} {
		if _, ok := want[k]; !ok && got[k] != nil {
			t.Errorf("%s: %s = %v, want none", what, k, got[k])
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDiscoveryAndJWKS(t *testing.T) {
	r := newRig(t)
	resp := r.get(t, r.client, "/.well-known/openid-configuration", nil)
	var d map[string]any
	if err := json.Unmarshal([]byte(resp.body), &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                         r.issuer,
		"authorization_endpoint":                         r.issuer + "/authorize",
		"token_endpoint":                                 r.issuer + "/token",
		"userinfo_endpoint":                              r.issuer + "/userinfo",
		"jwks_uri":                                       r.issuer + "/jwks",
		"response_types_supported":                       []any{"code"},
		"code_challenge_methods_supported":               []any{"S256"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post"},
		"id_token_signing_alg_values_supported":          []any{"RS256"},
		"authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if mustJSON(t, d[k]) != mustJSON(t, v) {
			t.Errorf("discovery %s = %v, want %v", k, d[k], v)
		}
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.get(t, r.client, "/jwks", nil).body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kty"] != "RSA" || set.Keys[0]["alg"] != "RS256" || set.Keys[0]["d"] != nil {
		t.Errorf("JWKS %v: want one public RS256 key", set.Keys)
	}
}

// TestAuthorizeRefusals: a bad client or redirect URI gets a 400 page and
// no redirect; anything else wrong redirects with error=, state and iss.
func TestAuthorizeRefusals(t *testing.T) {
	r := newRig(t)
	type change func(url.Values)
	set := func(k, v string) change { return func(q url.Values) { q.Set(k, v) } }
	del := func(k string) change { return func(q url.Values) { q.Del(k) } }
	for _, tc := range []struct {
		name   string
		change change
		error  string // "" for the 400 page
	}{
		{"no client_id", del("client_id"), ""},
		{"unknown client_id", set("client_id", "someone-else"), ""},
		{"no redirect_uri", del("redirect_uri"), ""},
		{"redirect_uri with a trailing slash", set("redirect_uri", testRedirect+"/"), ""},
		{"redirect_uri with a query", set("redirect_uri", testRedirect+"?x=1"), ""},
		{"redirect_uri of another host", set("redirect_uri", "http://127.0.0.2:9/bank/callback"), ""},
		{"repeated parameter", func(q url.Values) { q.Add("scope", "openid") }, ""},
		{"no response_type", del("response_type"), "invalid_request"},
		{"response_type token", set("response_type", "token"), "unsupported_response_type"},
		{"response_type code id_token", set("response_type", "code id_token"), "unsupported_response_type"},
		{"response_mode fragment", set("response_mode", "fragment"), "invalid_request"},
		{"no scope", del("scope"), "invalid_scope"},
		{"scope without openid", set("scope", "profile email"), "invalid_scope"},
		{"scope openidx", set("scope", "openidx"), "invalid_scope"},
		{"no code_challenge", del("code_challenge"), "invalid_request"},
		{"no code_challenge_method", del("code_challenge_method"), "invalid_request"},
		{"code_challenge_method plain", set("code_challenge_method", "plain"), "invalid_request"},
		{"short code_challenge", set("code_challenge", "abc"), "invalid_request"},
		{"prompt none", set("prompt", "none"), "login_required"},
		{"request object", set("request", "eyJ.x.y"), "request_not_supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := authParams()
			tc.change(q)
			resp := r.get(t, r.client, "/authorize", q)
			if tc.error == "" {
				if resp.status != http.StatusBadRequest || resp.location != nil {
					t.Fatalf("%d, Location %v: want a 400 page", resp.status, resp.location)
				}
				if p := parsePage(t, resp.body); !strings.Contains(p.text, "запрос не принят") || !strings.Contains(p.text, "request refused") {
					t.Errorf("400 page says %q", p.text)
				}
				return
			}
			if resp.status != http.StatusFound || resp.location == nil {
				t.Fatalf("%d: want a redirect with error=%s", resp.status, tc.error)
			}
			got := resp.location.Query()
			if got.Get("error") != tc.error || got.Get("state") != "st-123" || got.Get("iss") != r.issuer || got.Has("code") {
				t.Errorf("redirect %v: want error=%s, state and iss", got, tc.error)
			}
			if !strings.HasPrefix(resp.location.String(), testRedirect+"?") {
				t.Errorf("redirect to %v", resp.location)
			}
		})
	}
	// The other registered redirect URI matches exactly too; no state,
	// no state echoed.
	q, _ := authParams()
	q.Set("redirect_uri", "http://127.0.0.1:9/other")
	q.Del("state")
	q.Set("scope", "profile")
	resp := r.get(t, r.client, "/authorize", q)
	if resp.location == nil || resp.location.Query().Has("state") || !strings.HasPrefix(resp.location.String(), "http://127.0.0.1:9/other?") {
		t.Errorf("second redirect URI, no state: %v", resp.location)
	}
}

func TestTokenRefusals(t *testing.T) {
	r := newRig(t)
	params, verifier := authParams()
	sub := Customers()[0].Sub
	type check struct {
		name   string
		form   func(code string) url.Values
		setup  func(*http.Request)
		status int
		error  string
		burns  bool // the request used the code up
	}
	basic := func(id, secret string) func(*http.Request) {
		return func(req *http.Request) { req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
	}
	without := func(keys ...string) func(string) url.Values {
		return func(code string) url.Values {
			f := tokenForm(code, verifier)
			for _, k := range keys {
				f.Del(k)
			}
			return f
		}
	}
	with := func(k, v string) func(string) url.Values {
		return func(code string) url.Values { f := tokenForm(code, verifier); f.Set(k, v); return f }
	}
	for _, tc := range []check{
		{"no client authentication", without("client_secret"), nil, 401, "invalid_client", false},
		{"wrong secret (post)", with("client_secret", "wrong"), nil, 401, "invalid_client", false},
		{"wrong client (post)", with("client_id", "other"), nil, 401, "invalid_client", false},
		{"wrong secret (basic)", without("client_secret", "client_id"), basic(testClientID, "wrong"), 401, "invalid_client", false},
		{"both methods", without(), basic(testClientID, testClientSecret), 400, "invalid_request", false},
		{"grant_type password", with("grant_type", "password"), nil, 400, "unsupported_grant_type", false},
		{"unknown code", with("code", "nope"), nil, 400, "invalid_grant", false},
		{"wrong redirect_uri", with("redirect_uri", "http://127.0.0.1:9/other"), nil, 400, "invalid_grant", true},
		{"no code_verifier", without("code_verifier"), nil, 400, "invalid_grant", true},
		{"wrong code_verifier", with("code_verifier", oauth2.GenerateVerifier()), nil, 400, "invalid_grant", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := r.code(t, params, sub)
			var setup []func(*http.Request)
			if tc.setup != nil {
				setup = append(setup, tc.setup)
			}
			resp := r.post(t, r.client, "/token", tc.form(code), setup...)
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(resp.body), &e); err != nil || resp.status != tc.status || e.Error != tc.error {
				t.Fatalf("%d %s: want %d %s", resp.status, resp.body, tc.status, tc.error)
			}
			if tc.status == 401 && resp.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			// A request that presented the code with a wrong detail
			// uses it up (it may be stolen); one refused before that
			// leaves it.
			again := r.post(t, r.client, "/token", tokenForm(code, verifier))
			if used := again.status == 400 && strings.Contains(again.body, "invalid_grant"); used != tc.burns {
				t.Errorf("after %q the right request got %d %s", tc.name, again.status, again.body)
			}
		})
	}
	t.Run("basic works", func(t *testing.T) {
		resp := r.post(t, r.client, "/token", without("client_secret", "client_id")(r.code(t, params, sub)), basic(testClientID, testClientSecret))
		if resp.status != 200 || resp.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %s", resp.status, resp.body)
		}
	})
	t.Run("code expires after 60 s", func(t *testing.T) {
		code := r.code(t, params, sub)
		r.clock.add(codeTTL)
		if resp := r.post(t, r.client, "/token", tokenForm(code, verifier)); resp.status != 400 || !strings.Contains(resp.body, "invalid_grant") {
			t.Fatalf("%d %s", resp.status, resp.body)
		}
		code = r.code(t, params, sub)
		r.clock.add(codeTTL - time.Second)
		if resp := r.post(t, r.client, "/token", tokenForm(code, verifier)); resp.status != 200 {
			t.Fatalf("59 s: %d %s", resp.status, resp.body)
		}
	})
}

func TestUserinfoRefusals(t *testing.T) {
	r := newRig(t)
	params, verifier := authParams()
	resp := r.post(t, r.client, "/token", tokenForm(r.code(t, params, Customers()[1].Sub), verifier))
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(resp.body), &tok); err != nil || tok.AccessToken == "" || tok.ExpiresIn != 300 {
		t.Fatalf("token: %s", resp.body)
	}
	userinfo := func(auth string) response {
		req, err := http.NewRequest("GET", r.issuer+"/userinfo", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return r.do(t, r.client, req)
	}
	if got := userinfo("Bearer " + tok.AccessToken); got.status != 200 || !strings.Contains(got.body, "Сёмина-Петрова") {
		t.Fatalf("userinfo: %d %s", got.status, got.body)
	}
	for name, auth := range map[string]string{"none": "", "unknown": "Bearer nope", "basic": "Basic " + tok.AccessToken} {
		if got := userinfo(auth); got.status != 401 || got.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, got.status, got.body)
		}
	}
	r.clock.add(tokenTTL)
	if got := userinfo("Bearer " + tok.AccessToken); got.status != 401 || !strings.Contains(got.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("expired token: %d %s", got.status, got.body)
	}
}

// TestPage reads the authorization page as HTML: its labels in both
// languages, every customer, no external resource; and its anti-forgery
// token: bound to the request and to the browser, single use, expiring.
func TestPage(t *testing.T) {
	r := newRig(t)
	params, _ := authParams()
	resp := r.get(t, r.client, "/authorize", params)
	p := parsePage(t, resp.body)
	for _, want := range []string{
		"Песочница банка — тестовый банк, не настоящий", "Sandbox bank — a test bank, not a real one",
		"Отменить", "Cancel", "Иванов Иван Иванович", "15.03.1985", "112-***-*** 95",
		"Сёмина-Петрова Алёна Сергеевна", "Без паспорта / No passport",
	} {
		if !strings.Contains(p.text, want) {
			t.Errorf("page lacks %q: %s", want, p.text)
		}
	}
	for _, c := range Customers() {
		if !slices.Contains(p.customers, c.Sub) {
			t.Errorf("no button for %s", c.Sub)
		}
		if strings.Contains(resp.body, c.SNILS) || strings.Contains(resp.body, c.INN) {
			t.Errorf("page shows %s's SNILS or INN unmasked", c.Sub)
		}
	}
	if !p.cancel || p.token == "" || len(p.external) != 0 {
		t.Errorf("cancel %v, token %q, external resources %v", p.cancel, p.token, p.external)
	}
	if !strings.Contains(resp.body, `name="viewport"`) || !strings.Contains(resp.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("no viewport meta or no strict CSP")
	}
	if !strings.Contains(resp.header.Get("Content-Security-Policy"), "form-action 'self' http://127.0.0.1:9") {
		t.Errorf("CSP form-action does not allow the redirect: %s", resp.header.Get("Content-Security-Policy"))
	}
	sub := Customers()[0].Sub
	refused := func(t *testing.T, resp response) {
		t.Helper()
		if resp.status != http.StatusBadRequest || resp.location != nil {
			t.Fatalf("%d %v: want a 400 page", resp.status, resp.location)
		}
	}

	t.Run("another browser", func(t *testing.T) {
		p := r.showPage(t, r.client, params)
		other := newBrowser(t)
		r.showPage(t, other, params) // has its own cookie
		refused(t, r.pick(t, other, p, sub))
		refused(t, r.pick(t, newBrowser(t), p, sub)) // no cookie at all
		// The right browser still can.
		if resp := r.pick(t, r.client, p, sub); resp.status != http.StatusSeeOther {
			t.Fatalf("%d", resp.status)
		}
	})
	t.Run("no token, a made-up token, a used token", func(t *testing.T) {
		p := r.showPage(t, r.client, params)
		refused(t, r.post(t, r.client, "/authorize", url.Values{"customer": {sub}}))
		refused(t, r.post(t, r.client, "/authorize", url.Values{"request": {randomString(32)}, "customer": {sub}}))
		if resp := r.pick(t, r.client, p, sub); resp.status != http.StatusSeeOther {
			t.Fatalf("%d", resp.status)
		}
		refused(t, r.pick(t, r.client, p, sub))
	})
	t.Run("expired after 10 minutes", func(t *testing.T) {
		p := r.showPage(t, r.client, params)
		r.clock.add(requestTTL)
		refused(t, r.pick(t, r.client, p, sub))
	})
	t.Run("unknown customer", func(t *testing.T) {
		refused(t, r.pick(t, r.client, r.showPage(t, r.client, params), "sandbox-9999"))
	})
	t.Run("the token carries its own request", func(t *testing.T) {
		// Two pages open with different states: each answer carries
		// its own request's state.
		q2, _ := authParams()
		q2.Set("state", "second")
		p1, p2 := r.showPage(t, r.client, params), r.showPage(t, r.client, q2)
		if s := r.pick(t, r.client, p2, sub).location.Query().Get("state"); s != "second" {
			t.Errorf("state %q", s)
		}
		if s := r.pick(t, r.client, p1, sub).location.Query().Get("state"); s != "st-123" {
			t.Errorf("state %q", s)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		p := r.showPage(t, r.client, params)
		resp := r.post(t, r.client, "/authorize", url.Values{"request": {p.token}, "cancel": {"1"}})
		q := resp.location.Query()
		if resp.status != http.StatusSeeOther || q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("iss") != r.issuer || q.Has("code") {
			t.Fatalf("%d %v", resp.status, resp.location)
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := Config{Issuer: "http://localhost:8082", ClientID: "c", ClientSecret: "s", RedirectURIs: []string{"http://localhost:8080/cb"}}
	for name, change := range map[string]func(*Config){
		"no issuer":       func(c *Config) { c.Issuer = "" },
		"relative issuer": func(c *Config) { c.Issuer = "/bank" },
		"issuer query":    func(c *Config) { c.Issuer = "http://localhost:8082?x=1" },
		"no client":       func(c *Config) { c.ClientID = "" },
		"no secret":       func(c *Config) { c.ClientSecret = "" },
		"no redirect":     func(c *Config) { c.RedirectURIs = nil },
		"bad redirect":    func(c *Config) { c.RedirectURIs = []string{"/cb"} },
	} {
		cfg := good
		change(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

// TestIssuerWithPath: the routes follow the issuer's path.
func TestIssuerWithPath(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String() + "/bank/"
	sb, err := New(Config{Issuer: issuer, ClientID: "c", ClientSecret: "s", RedirectURIs: []string{testRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	r := &rig{issuer: strings.TrimSuffix(issuer, "/"), client: newBrowser(t)}
	var d map[string]any
	resp := r.get(t, r.client, "/.well-known/openid-configuration", nil)
	if err := json.Unmarshal([]byte(resp.body), &d); err != nil || d["issuer"] != r.issuer || d["token_endpoint"] != r.issuer+"/token" {
		t.Fatalf("discovery under the path: %d %s", resp.status, resp.body)
	}
	if root, err := http.Get(srv.URL + "/.well-known/openid-configuration"); err != nil || root.StatusCode != http.StatusNotFound {
		t.Errorf("discovery at the root: %v %v", root, err)
	} else {
		root.Body.Close()
	}
}
