package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// The OpenID Connect suite: Node's openid-client v6 (panva's certified
// relying-party library, e2e/node/rp.mjs) against the real `gosid serve`,
// with the citizen's browser played by a Go cookie-jar client through the
// HTML sign-in and consent forms. Clients and the citizen are created with
// `gosid clients create` and `gosid accounts create`.
//
// Not covered here: an expired authorization code (60 s) — a test cannot
// wait that long against the binary; Go tests with an injected clock cover
// it.

const (
	citizenPhone    = "+79123456789"
	citizenPassword = "Zk7#vLq2!mWp"
	fullScope       = "openid fullname mobile snils offline_access"
)

// TestOIDCNodeRP runs every case on the embedded SQLite default.
func TestOIDCNodeRP(t *testing.T) {
	r := newOIDCRig(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("OIDC suite (SQLite) took %s", time.Since(start).Round(10*time.Millisecond)) })

	t.Run("discovery", r.testDiscovery)
	t.Run("code flow, refresh, introspection, revocation", func(t *testing.T) { r.mainFlow(t) })
	t.Run("public client", r.testPublicClient)
	t.Run("client credentials", r.testClientCredentials)
	t.Run("private_key_jwt", r.testPrivateKeyJWT)
	t.Run("openid-client's default client authentication", r.testDefaultClientAuth)

	t.Run("wrong PKCE verifier", r.testWrongVerifier)
	t.Run("reused code", r.testReusedCode)
	t.Run("expired code", func(t *testing.T) {
		t.Skip("a code lives 60 s; the binary's clock cannot be moved, so Go tests with an injected clock cover expiry")
	})
	t.Run("redirect URI one character off", r.testRedirectURIOff)
	t.Run("unknown client", r.testUnknownClient)
	t.Run("wrong client secret", r.testWrongSecret)
	t.Run("private_key_jwt with alg none", r.testAlgNone)
	t.Run("private_key_jwt assertion replayed", r.testAssertionReplay)
	t.Run("refresh token of another client", r.testForeignRefreshToken)
	t.Run("rotated refresh token reused", r.testRotatedRefreshReused)
	t.Run("grant revoked in the account centre", r.testGrantRevocation)
	t.Run("userinfo with a revoked access token", r.testUserinfoRevoked)
	t.Run("claims parameter", r.testClaimsParameter)
	// Last: it ends the citizen's session at Gosid.
	t.Run("RP-initiated logout", r.testLogout)
}

// TestOIDCNodeRPPostgres runs the main flow on PostgreSQL.
func TestOIDCNodeRPPostgres(t *testing.T) {
	requireNode(t)
	r := newOIDCRig(t, "--database-url", sqldbtest.EmptyPostgresURL(t))
	start := time.Now()
	r.testDiscovery(t)
	r.mainFlow(t)
	t.Logf("OIDC main flow (PostgreSQL) took %s", time.Since(start).Round(10*time.Millisecond))
}

// oidcRig is one `gosid serve` with a citizen and registered clients, the
// relying party's host, and the citizen's browser.
type oidcRig struct {
	node      string
	srv       *server
	rpHost    *httptest.Server
	redirect  string // registered redirect URI: the test captures it, never fetches it
	loggedOut string // registered post_logout_redirect_uri, served by rpHost
	logouts   *logoutSink
	browser   *http.Client

	conf    rpClient // confidential, client_secret_basic, refresh tokens
	other   rpClient // a second confidential client
	public  rpClient // auth method none
	machine rpClient // client_credentials only
	keyed   rpClient // private_key_jwt
	// revocable has a back-channel logout URI on rpHost; the citizen
	// revokes its grant in the account centre.
	revocable rpClient
	// plain is registered with the CLI's defaults and used with
	// openid-client's (client_secret_post).
	plain rpClient
}

// logoutSink is the back-channel logout endpoint's record of the logout
// tokens POSTed to it.
type logoutSink struct {
	mu     sync.Mutex
	tokens []string
}

func (s *logoutSink) add(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, token)
}

func (s *logoutSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// after waits up to d for a token beyond the first n received and returns
// it.
func (s *logoutSink) after(t *testing.T, n int, d time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		s.mu.Lock()
		if len(s.tokens) > n {
			tok := s.tokens[n]
			s.mu.Unlock()
			return tok
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no back-channel logout token within %v (the job queue delivers it; a replica polls every second)", d)
		}
	}
}

// rpClient is a registered client as the relying party knows it.
type rpClient struct {
	ID, Name, Secret, AuthMethod string
	JWK                          map[string]any // private key, for private_key_jwt
}

// req is the base of an rp.mjs request for the client.
func (r *oidcRig) req(c rpClient, fields map[string]any) map[string]any {
	m := map[string]any{"issuer": r.srv.URL, "client_id": c.ID, "auth_method": c.AuthMethod, "client_secret": c.Secret}
	if c.JWK != nil {
		m["private_jwk"] = c.JWK
	}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

func newOIDCRig(t *testing.T, dbArgs ...string) *oidcRig {
	t.Helper()
	r := &oidcRig{node: requireNode(t), logouts: &logoutSink{}}
	r.rpHost = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/logged-out":
			fmt.Fprint(w, "signed out at the relying party")
			return
		case "/backchannel-logout":
			// OpenID Connect Back-Channel Logout 1.0, section 2.5: a form
			// POST with logout_token.
			token := req.PostFormValue("logout_token")
			if req.Method != http.MethodPost || token == "" {
				http.Error(w, "want a POST with logout_token", http.StatusBadRequest)
				return
			}
			r.logouts.add(token)
			return
		}
		http.Error(w, "the test captures callbacks without fetching them", http.StatusTeapot)
	}))
	t.Cleanup(r.rpHost.Close)
	r.redirect, r.loggedOut = r.rpHost.URL+"/cb", r.rpHost.URL+"/logged-out"

	dir := t.TempDir()
	data := append([]string{"--data-dir", dir}, dbArgs...)
	// Serve first: the first start creates the master key the commands need.
	// A short refresh grace lets the reuse test wait it out.
	r.srv = startServer(t, append([]string{"--refresh-token-grace", refreshGrace.String()}, data...)...)

	args := append([]string{"accounts", "create", "--phone", citizenPhone, "--email", "ivan@example.ru",
		"--family-name", "Иванов", "--given-name", "Иван", "--snils", "112-233-445 95", "--json"}, data...)
	if code, out, errOut := gosidEnv(t, []string{"GOSID_PASSWORD=" + citizenPassword}, args...); code != 0 {
		t.Fatalf("gosid accounts create: exit %d\n%s%s", code, out, errOut)
	}

	r.conf = r.createClient(t, data, "Тестовый сайт", "--redirect-uri", r.redirect, "--post-logout-redirect-uri", r.loggedOut,
		"--scopes", fullScope, "--grant-types", "authorization_code,refresh_token", "--auth-method", "client_secret_basic")
	r.other = r.createClient(t, data, "Другой сайт", "--redirect-uri", r.redirect,
		"--scopes", "openid fullname offline_access", "--grant-types", "authorization_code,refresh_token", "--auth-method", "client_secret_basic")
	r.public = r.createClient(t, data, "Мобильное приложение", "--redirect-uri", r.redirect,
		"--scopes", "openid fullname", "--grant-types", "authorization_code", "--auth-method", "none")
	r.machine = r.createClient(t, data, "Партнёрский сервис", "--scopes", "openid", "--grant-types", "client_credentials",
		"--auth-method", "client_secret_basic")

	r.revocable = r.createClient(t, data, "Сайт с выходом", "--redirect-uri", r.redirect,
		"--backchannel-logout-uri", r.rpHost.URL+"/backchannel-logout", "--scopes", "openid fullname offline_access",
		"--grant-types", "authorization_code,refresh_token", "--auth-method", "client_secret_basic")

	r.plain = r.createClient(t, data, "Сайт с настройками по умолчанию", "--redirect-uri", r.redirect,
		"--scopes", "openid fullname offline_access", "--grant-types", "authorization_code,refresh_token")
	r.plain.AuthMethod = "default" // rp.mjs: let openid-client choose

	public, private := clientKeyPair(t)
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, public, 0o600); err != nil {
		t.Fatal(err)
	}
	r.keyed = r.createClient(t, data, "Банк с ключом", "--redirect-uri", r.redirect, "--scopes", "openid fullname",
		"--grant-types", "authorization_code,refresh_token", "--auth-method", "private_key_jwt", "--jwks-file", jwksFile)
	r.keyed.JWK = private

	jar, _ := cookiejar.New(nil)
	r.browser = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return r
}

// createClient registers a client with `gosid clients create`.
func (r *oidcRig) createClient(t *testing.T, data []string, name string, args ...string) rpClient {
	t.Helper()
	args = append(append([]string{"clients", "create", "--name", name, "--json"}, args...), data...)
	code, out, errOut := gosid(t, args...)
	if code != 0 {
		t.Fatalf("gosid %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	var c struct {
		ID         string `json:"client_id"`
		Secret     string `json:"client_secret"`
		AuthMethod string `json:"token_endpoint_auth_method"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ID == "" {
		t.Fatalf("gosid clients create: %v\n%s", err, out)
	}
	return rpClient{ID: c.ID, Name: name, Secret: c.Secret, AuthMethod: c.AuthMethod}
}

// clientKeyPair makes a P-256 key for private_key_jwt: the public JWKS to
// register and the private JWK for openid-client.
func clientKeyPair(t *testing.T) (publicJWKS []byte, private map[string]any) {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: "rp-key-1", jwk.AlgorithmKey: jwa.ES256(), jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := jwk.PublicKeyOf(k)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	if publicJWKS, err = json.Marshal(set); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &private); err != nil {
		t.Fatal(err)
	}
	return publicJWKS, private
}

// ---- the browser ----

type page struct {
	Status   int
	Location string
	Body     string
}

func (r *oidcRig) abs(t *testing.T, ref string) string {
	t.Helper()
	base, _ := url.Parse(r.srv.URL)
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("URL %q: %v", ref, err)
	}
	return u.String()
}

func (r *oidcRig) do(t *testing.T, method, ref string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, r.abs(t, ref), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := r.browser.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, ref, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b)}
}

func (r *oidcRig) get(t *testing.T, ref string) page { t.Helper(); return r.do(t, "GET", ref, nil) }
func (r *oidcRig) post(t *testing.T, ref string, form url.Values) page {
	t.Helper()
	return r.do(t, "POST", ref, form)
}

// ---- the relying party's steps ----

// authFlow is one authorization request: what rp.mjs made and where the
// browser went.
type authFlow struct {
	URL      string   `json:"url"`
	Verifier string   `json:"verifier"`
	State    string   `json:"state"`
	Nonce    string   `json:"nonce"`
	Callback string   // the authorization response, captured at the redirect URI
	Steps    []string // the IdP's pages the browser passed through
}

func (r *oidcRig) authorize(t *testing.T, c rpClient, scope string, params map[string]string) authFlow {
	t.Helper()
	var a authFlow
	fields := map[string]any{"redirect_uri": r.redirect, "scope": scope}
	if params != nil {
		fields["params"] = params
	}
	if e := runRP(t, r.node, "authorize", r.req(c, fields), &a); e != nil {
		t.Fatalf("authorize: %s", e)
	}
	return a
}

// signIn starts an authorization request and takes the browser through
// sign-in and consent until Gosid sends it to the redirect URI.
func (r *oidcRig) signIn(t *testing.T, c rpClient, scope string) authFlow {
	t.Helper()
	a := r.authorize(t, c, scope, nil)
	p := r.get(t, a.URL)
	for range 10 {
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
			t.Fatalf("authorization for %s, after %v: %d, want a redirect\n%.600s", c.Name, a.Steps, p.Status, p.Body)
		}
		if strings.HasPrefix(p.Location, r.redirect+"?") {
			a.Callback = p.Location
			cb, _ := url.Parse(a.Callback)
			if q := cb.Query(); q.Get("error") != "" {
				t.Fatalf("authorization for %s: error %s %q", c.Name, q.Get("error"), q.Get("error_description"))
			}
			return a
		}
		u, _ := url.Parse(r.abs(t, p.Location))
		if u.Host != strings.TrimPrefix(r.srv.URL, "http://") {
			t.Fatalf("authorization for %s: redirect to %s", c.Name, p.Location)
		}
		a.Steps = append(a.Steps, u.Path)
		switch u.Path {
		case "/login":
			p = r.post(t, "/login", url.Values{"login": {citizenPhone}, "password": {citizenPassword}, "next": {u.Query().Get("next")}})
			if p.Status != http.StatusSeeOther {
				t.Fatalf("POST /login: %d → %q\n%.600s", p.Status, p.Location, p.Body)
			}
		case "/authorize/consent":
			if cp := r.get(t, u.String()); cp.Status != 200 || !strings.Contains(cp.Body, c.Name) {
				t.Fatalf("consent page: %d, want one naming %q\n%.600s", cp.Status, c.Name, cp.Body)
			}
			p = r.post(t, "/authorize/consent", url.Values{"id": {u.Query().Get("id")}, "decision": {"allow"}})
		default:
			p = r.get(t, u.String())
		}
	}
	t.Fatalf("authorization for %s: too many redirects: %v", c.Name, a.Steps)
	return a
}

type rpTokens struct {
	AccessToken  string         `json:"access_token"`
	RefreshToken string         `json:"refresh_token"`
	IDToken      string         `json:"id_token"`
	TokenType    string         `json:"token_type"`
	Scope        string         `json:"scope"`
	Claims       map[string]any `json:"claims"`
	Userinfo     map[string]any `json:"userinfo"`
}

// exchange has openid-client redeem the authorization response (and fetch
// userinfo); extra fields change the client authentication.
func (r *oidcRig) exchange(t *testing.T, c rpClient, a authFlow, extra map[string]any) (rpTokens, *rpError) {
	t.Helper()
	fields := map[string]any{"callback_url": a.Callback, "verifier": a.Verifier, "state": a.State, "nonce": a.Nonce}
	for k, v := range extra {
		fields[k] = v
	}
	var tok rpTokens
	e := runRP(t, r.node, "callback", r.req(c, fields), &tok)
	return tok, e
}

func (r *oidcRig) mustExchange(t *testing.T, c rpClient, a authFlow) rpTokens {
	t.Helper()
	tok, e := r.exchange(t, c, a, nil)
	if e != nil {
		t.Fatalf("code exchange for %s: %s", c.Name, e)
	}
	if tok.AccessToken == "" || tok.IDToken == "" || tok.Claims == nil {
		t.Fatalf("code exchange for %s: %+v", c.Name, tok)
	}
	return tok
}

func (r *oidcRig) refresh(t *testing.T, c rpClient, token string) (rpTokens, *rpError) {
	t.Helper()
	var tok rpTokens
	e := runRP(t, r.node, "refresh", r.req(c, map[string]any{"refresh_token": token}), &tok)
	return tok, e
}

func (r *oidcRig) introspect(t *testing.T, c rpClient, token string) map[string]any {
	t.Helper()
	var out map[string]any
	if e := runRP(t, r.node, "introspect", r.req(c, map[string]any{"token": token}), &out); e != nil {
		t.Fatalf("introspection by %s: %s", c.Name, e)
	}
	return out
}

func (r *oidcRig) revoke(t *testing.T, c rpClient, token, hint string) {
	t.Helper()
	if e := runRP(t, r.node, "revoke", r.req(c, map[string]any{"token": token, "token_type_hint": hint}), nil); e != nil {
		t.Fatalf("revocation by %s: %s", c.Name, e)
	}
}

// wantOAuthError requires a refusal with the OAuth error code (and the
// HTTP status, unless 0).
func wantOAuthError(t *testing.T, what string, e *rpError, code string, status int) {
	t.Helper()
	switch {
	case e == nil:
		t.Errorf("%s: accepted, want %s", what, code)
	case e.Error != code || (status != 0 && e.Status != status):
		t.Errorf("%s: %s, want %d %s", what, e, status, code)
	}
}

func active(m map[string]any) bool { return m["active"] == true }

// checkIDToken checks, beyond what openid-client already validated
// (signature against /keys, iss, aud, nonce, exp), Gosid's claims.
func (r *oidcRig) checkIDToken(t *testing.T, c rpClient, a authFlow, claims map[string]any) {
	t.Helper()
	aud, _ := claims["aud"].(string)
	if auds, ok := claims["aud"].([]any); ok && len(auds) == 1 {
		aud, _ = auds[0].(string)
	}
	amr, _ := claims["amr"].([]any)
	authTime, _ := claims["auth_time"].(float64)
	exp, _ := claims["exp"].(float64)
	now := float64(time.Now().Unix())
	switch {
	case claims["iss"] != r.srv.URL || aud != c.ID || claims["nonce"] != a.Nonce:
		t.Errorf("ID token iss=%v aud=%v nonce=%v, want %s %s %s", claims["iss"], claims["aud"], claims["nonce"], r.srv.URL, c.ID, a.Nonce)
	case claims["acr"] != "urn:gosid:loa:simplified":
		t.Errorf("ID token acr=%v, want urn:gosid:loa:simplified", claims["acr"])
	case !slices.Contains(amr, any("pwd")):
		t.Errorf("ID token amr=%v, want pwd in it", claims["amr"])
	case authTime < now-600 || authTime > now+5:
		t.Errorf("ID token auth_time=%v, want the sign-in's time (now %v)", claims["auth_time"], now)
	case exp <= now:
		t.Errorf("ID token exp=%v is past", claims["exp"])
	case claims["family_name"] != nil || claims["given_name"] != nil || claims["phone_number"] != nil || claims["snils"] != nil:
		// Personal data comes from userinfo: the ID token travels in
		// logout URLs (issue 11).
		t.Errorf("ID token carries personal claims: %v", claims)
	case claims["sub"] == nil || claims["sub"] == "":
		t.Errorf("ID token without sub")
	}
}

// code signs in (with the session and grant the citizen already has) and
// returns a fresh authorization response.
func (r *oidcRig) code(t *testing.T, c rpClient, scope string) authFlow {
	t.Helper()
	return r.signIn(t, c, scope)
}

// ---- positive cases ----

func (r *oidcRig) testDiscovery(t *testing.T) {
	var d struct {
		Metadata map[string]any `json:"metadata"`
	}
	if e := runRP(t, r.node, "discovery", r.req(r.conf, nil), &d); e != nil {
		t.Fatalf("discovery: %s", e)
	}
	m := d.Metadata
	for name, want := range map[string]string{"issuer": r.srv.URL, "authorization_endpoint": r.srv.URL + "/authorize",
		"token_endpoint": r.srv.URL + "/oauth/token", "userinfo_endpoint": r.srv.URL + "/userinfo", "jwks_uri": r.srv.URL + "/keys",
		"introspection_endpoint": r.srv.URL + "/oauth/introspect", "revocation_endpoint": r.srv.URL + "/oauth/revoke",
		"end_session_endpoint": r.srv.URL + "/oauth/logout"} {
		if m[name] != want {
			t.Errorf("discovery %s = %v, want %s", name, m[name], want)
		}
	}
	for name, want := range map[string]string{"code_challenge_methods_supported": "S256", "response_types_supported": "code",
		"token_endpoint_auth_methods_supported": "private_key_jwt", "grant_types_supported": "refresh_token", "scopes_supported": "snils"} {
		if list, _ := m[name].([]any); !slices.Contains(list, any(want)) {
			t.Errorf("discovery %s = %v, want %s in it", name, m[name], want)
		}
	}
}

// mainFlow: code + PKCE through the sign-in and consent forms, the ID token
// and userinfo, refresh rotation, introspection and revocation.
func (r *oidcRig) mainFlow(t *testing.T) {
	a := r.signIn(t, r.conf, fullScope)
	if !slices.Contains(a.Steps, "/login") || !slices.Contains(a.Steps, "/authorize/consent") {
		t.Errorf("first authorization passed through %v, want sign-in and consent", a.Steps)
	}
	cb, _ := url.Parse(a.Callback)
	if q := cb.Query(); q.Get("code") == "" || q.Get("state") != a.State || q.Get("iss") != r.srv.URL {
		t.Fatalf("authorization response %s: want code, state and iss=%s", a.Callback, r.srv.URL)
	}
	tok := r.mustExchange(t, r.conf, a)
	r.checkIDToken(t, r.conf, a, tok.Claims)
	if tok.RefreshToken == "" {
		t.Errorf("no refresh token for offline_access")
	}
	u := tok.Userinfo
	if u["sub"] != tok.Claims["sub"] || u["family_name"] != "Иванов" || u["given_name"] != "Иван" ||
		u["phone_number"] != citizenPhone || u["snils"] == nil || u["snils"] == "" {
		t.Errorf("userinfo: %v", u)
	}

	// A second authorization goes straight back: session and grant exist.
	if again := r.code(t, r.conf, fullScope); !slices.Equal(again.Steps, []string{"/authorize/continue"}) {
		t.Errorf("second authorization passed through %v, want no sign-in and no consent", again.Steps)
	}

	// Refresh with rotation.
	tok2, e := r.refresh(t, r.conf, tok.RefreshToken)
	if e != nil {
		t.Fatalf("refresh: %s", e)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == "" || tok2.AccessToken == tok.AccessToken {
		t.Errorf("refresh did not rotate: refresh %t, access %t", tok2.RefreshToken != tok.RefreshToken, tok2.AccessToken != tok.AccessToken)
	}
	if tok2.Claims != nil && tok2.Claims["sub"] != tok.Claims["sub"] {
		t.Errorf("refreshed ID token sub=%v, want %v", tok2.Claims["sub"], tok.Claims["sub"])
	}

	// Introspection: active, then inactive once revoked.
	in := r.introspect(t, r.conf, tok2.AccessToken)
	if !active(in) || in["client_id"] != r.conf.ID || in["sub"] != tok.Claims["sub"] || !strings.Contains(fmt.Sprint(in["scope"]), "fullname") {
		t.Errorf("introspection of a fresh access token: %v", in)
	}
	r.revoke(t, r.conf, tok2.AccessToken, "access_token")
	if in := r.introspect(t, r.conf, tok2.AccessToken); active(in) {
		t.Errorf("introspection after revocation: %v, want active false", in)
	}
	var info map[string]any
	if e := runRP(t, r.node, "userinfo", r.req(r.conf, map[string]any{"access_token": tok2.AccessToken}), &info); e == nil {
		t.Errorf("userinfo with a revoked access token: %v", info)
	}
	r.revoke(t, r.conf, tok2.RefreshToken, "refresh_token")
	_, e = r.refresh(t, r.conf, tok2.RefreshToken)
	wantOAuthError(t, "refresh with a revoked refresh token", e, "invalid_grant", 400)
}

func (r *oidcRig) testPublicClient(t *testing.T) {
	a := r.signIn(t, r.public, "openid fullname")
	if !slices.Contains(a.Steps, "/authorize/consent") {
		t.Errorf("a new client's authorization passed through %v, want consent", a.Steps)
	}
	tok := r.mustExchange(t, r.public, a)
	r.checkIDToken(t, r.public, a, tok.Claims)
	if tok.RefreshToken != "" {
		t.Errorf("a refresh token without offline_access")
	}
	if tok.Userinfo["family_name"] != "Иванов" || tok.Userinfo["phone_number"] != nil {
		t.Errorf("userinfo for openid fullname: %v", tok.Userinfo)
	}
}

func (r *oidcRig) testClientCredentials(t *testing.T) {
	var tok rpTokens
	if e := runRP(t, r.node, "client_credentials", r.req(r.machine, nil), &tok); e != nil {
		t.Fatalf("client_credentials: %s", e)
	}
	if tok.AccessToken == "" || tok.IDToken != "" || tok.RefreshToken != "" {
		t.Errorf("client_credentials: %+v, want an access token only", tok)
	}
	if in := r.introspect(t, r.machine, tok.AccessToken); !active(in) || in["client_id"] != r.machine.ID {
		t.Errorf("introspection of a client_credentials token: %v", in)
	}
	if e := runRP(t, r.node, "userinfo", r.req(r.machine, map[string]any{"access_token": tok.AccessToken}), nil); e == nil {
		t.Errorf("userinfo answered for a client's own token")
	}
	// A client not registered for the grant is refused.
	e := runRP(t, r.node, "client_credentials", r.req(r.conf, nil), nil)
	wantOAuthError(t, "client_credentials by a client without the grant", e, "unauthorized_client", 0)
}

func (r *oidcRig) testPrivateKeyJWT(t *testing.T) {
	a := r.signIn(t, r.keyed, "openid fullname")
	tok := r.mustExchange(t, r.keyed, a)
	r.checkIDToken(t, r.keyed, a, tok.Claims)
	// The same authentication at introspection.
	if in := r.introspect(t, r.keyed, tok.AccessToken); !active(in) || in["client_id"] != r.keyed.ID {
		t.Errorf("introspection with private_key_jwt: %v", in)
	}
}

// testDefaultClientAuth: a client registered with the CLI's defaults,
// used with openid-client's (which sends the secret in the body), gets
// tokens, introspects and revokes them. Introspection answered its
// client_secret_post with a plain-text 401 before.
func (r *oidcRig) testDefaultClientAuth(t *testing.T) {
	c := r.plain
	a := r.signIn(t, c, "openid fullname offline_access")
	tok := r.mustExchange(t, c, a)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	if in := r.introspect(t, c, tok.AccessToken); !active(in) || in["client_id"] != c.ID || in["sub"] != tok.Claims["sub"] {
		t.Errorf("introspection: %v", in)
	}
	r.revoke(t, c, tok.RefreshToken, "refresh_token")
	_, e := r.refresh(t, c, tok.RefreshToken)
	wantOAuthError(t, "refresh after revocation", e, "invalid_grant", 400)
	r.revoke(t, c, tok.AccessToken, "access_token")
	if in := r.introspect(t, c, tok.AccessToken); active(in) {
		t.Errorf("introspection after revocation: %v, want active false", in)
	}
	// A wrong secret: openid-client reads the JSON error.
	wrong := c
	wrong.Secret += "x"
	var out map[string]any
	e = runRP(t, r.node, "introspect", r.req(wrong, map[string]any{"token": tok.AccessToken}), &out)
	wantOAuthError(t, "introspection with a wrong secret", e, "invalid_client", 401)
	e = runRP(t, r.node, "revoke", r.req(wrong, map[string]any{"token": tok.AccessToken}), nil)
	wantOAuthError(t, "revocation with a wrong secret", e, "invalid_client", 401)
}

// testLogout: RP-initiated logout with id_token_hint. An unregistered
// post_logout_redirect_uri is not redirected to; the registered one is, and
// the citizen is then signed out of Gosid.
func (r *oidcRig) testLogout(t *testing.T) {
	a := r.code(t, r.conf, fullScope)
	tok := r.mustExchange(t, r.conf, a)
	endSession := func(postLogout string) string {
		var out struct {
			URL string `json:"url"`
		}
		if e := runRP(t, r.node, "end_session_url", r.req(r.conf, map[string]any{"id_token_hint": tok.IDToken,
			"post_logout_redirect_uri": postLogout, "state": "bye-1"}), &out); e != nil {
			t.Fatalf("end_session_url: %s", e)
		}
		return out.URL
	}

	evil := r.rpHost.URL + "/logged-outx"
	p := r.get(t, endSession(evil))
	if strings.HasPrefix(p.Location, evil) || p.Status < 400 {
		t.Errorf("logout with an unregistered post_logout_redirect_uri: %d → %q, want an error and no redirect", p.Status, p.Location)
	}

	p = r.get(t, endSession(r.loggedOut))
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d %q, want a redirect to %s\n%.600s", p.Status, p.Location, r.loggedOut, p.Body)
	}
	// The IdP may show a page of its own first; the browser must land on
	// the registered URI with the state.
	for range 5 {
		if strings.HasPrefix(p.Location, r.loggedOut) {
			break
		}
		p = r.get(t, p.Location)
	}
	landed, _ := url.Parse(p.Location)
	if !strings.HasPrefix(p.Location, r.loggedOut) || landed.Query().Get("state") != "bye-1" {
		t.Fatalf("logout ended at %d %q, want %s?state=bye-1", p.Status, p.Location, r.loggedOut)
	}
	resp, err := r.browser.Get(p.Location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("landing page of the relying party: %d", resp.StatusCode)
	}

	// Signed out of Gosid: the next authorization asks for the password.
	if next := r.signIn(t, r.conf, fullScope); !slices.Contains(next.Steps, "/login") {
		t.Errorf("after RP-initiated logout the authorization passed through %v: the Gosid session survived", next.Steps)
	}
	// The logged-out session's tokens no longer work.
	_, e := r.refresh(t, r.conf, tok.RefreshToken)
	wantOAuthError(t, "refresh after RP-initiated logout", e, "invalid_grant", 400)
	e = runRP(t, r.node, "userinfo", r.req(r.conf, map[string]any{"access_token": tok.AccessToken}), nil)
	wantBearerChallenge(t, "userinfo after RP-initiated logout", e)
}

// testGrantRevocation: the citizen withdraws a site's access in the
// account centre. The site's refresh token is refused at once, the site
// receives a signed back-channel logout token, and its next authorization
// asks for consent again.
func (r *oidcRig) testGrantRevocation(t *testing.T) {
	const scope = "openid fullname offline_access"
	c := r.revocable
	a := r.signIn(t, c, scope)
	if !slices.Contains(a.Steps, "/authorize/consent") {
		t.Errorf("first authorization of %s passed through %v, want consent", c.Name, a.Steps)
	}
	tok := r.mustExchange(t, c, a)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	tok2, e := r.refresh(t, c, tok.RefreshToken)
	if e != nil {
		t.Fatalf("refresh before revocation: %s", e)
	}

	seen := r.logouts.count()
	revokedAt := time.Now()
	r.revokeGrant(t, c)

	_, e = r.refresh(t, c, tok2.RefreshToken)
	wantOAuthError(t, "refresh after the citizen revoked the site's access", e, "invalid_grant", 400)
	if in := r.introspect(t, c, tok2.AccessToken); active(in) {
		t.Errorf("access token after the citizen revoked the site's access: introspection %v, want active false", in)
	}

	r.checkLogoutToken(t, c, r.logouts.after(t, seen, 20*time.Second), tok.Claims["sub"], revokedAt)

	again := r.signIn(t, c, scope)
	if !slices.Contains(again.Steps, "/authorize/consent") {
		t.Errorf("authorization after revocation passed through %v, want consent again", again.Steps)
	}
	tok3 := r.mustExchange(t, c, again)
	if _, e := r.refresh(t, c, tok3.RefreshToken); e != nil {
		t.Errorf("refresh after consenting again: %s", e)
	}
}

// revokeGrant presses the site's "revoke access" button on /account/apps
// as the citizen's browser, then the confirmation's: it posts the form as
// the confirmation page has it.
func (r *oidcRig) revokeGrant(t *testing.T, c rpClient) {
	t.Helper()
	p := r.get(t, "/account/apps")
	confirm := "/account/apps?revoke=" + url.QueryEscape(c.ID)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, c.Name) || !strings.Contains(html.UnescapeString(p.Body), `href="`+confirm+`"`) {
		t.Fatalf("GET /account/apps: %d, want a page listing %q with a link to %s\n%.600s", p.Status, c.Name, confirm, p.Body)
	}
	p = r.get(t, confirm)
	form := formFields(t, p.Body, "/account/apps/revoke", "client_id", c.ID)
	p = r.post(t, "/account/apps/revoke", form)
	if p.Status != http.StatusSeeOther || p.Location != "/account/apps?done=1" {
		t.Fatalf("POST /account/apps/revoke: %d → %q, want 303 to /account/apps?done=1\n%.600s", p.Status, p.Location, p.Body)
	}
	p = r.get(t, p.Location)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Доступ отозван") || strings.Contains(p.Body, c.Name) {
		t.Errorf("/account/apps after revocation: %d, want the notice and no %q\n%.600s", p.Status, c.Name, p.Body)
	}
}

var (
	formRE  = regexp.MustCompile(`(?s)<form\b[^>]*>.*?</form>`)
	inputRE = regexp.MustCompile(`<input\b[^>]*>`)
	attrRE  = regexp.MustCompile(`\b(action|type|name|value)="([^"]*)"`)
)

// formFields returns the hidden fields of the form on page that posts to
// action and has field name = value (so a token a later version adds to
// the form is sent too).
func formFields(t *testing.T, page, action, name, value string) url.Values {
	t.Helper()
	for _, f := range formRE.FindAllString(page, -1) {
		open := f[:strings.IndexByte(f, '>')]
		if attrs := attrMap(open); attrs["action"] != action {
			continue
		}
		fields := url.Values{}
		for _, in := range inputRE.FindAllString(f, -1) {
			if a := attrMap(in); a["type"] == "hidden" && a["name"] != "" {
				fields.Add(a["name"], a["value"])
			}
		}
		if fields.Get(name) == value {
			return fields
		}
	}
	t.Fatalf("no form posting to %s with %s=%s on the page", action, name, value)
	return nil
}

func attrMap(tag string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// checkLogoutToken validates a back-channel logout token as a relying
// party must (OpenID Connect Back-Channel Logout 1.0, section 2.6): its
// signature with a key of the issuer's JWKS, typ logout+jwt, iss, aud, a
// recent iat, jti, the logout event, sub or sid, and no nonce. sub, if
// present, must be the ID token's.
func (r *oidcRig) checkLogoutToken(t *testing.T, c rpClient, token string, sub any, notBefore time.Time) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("logout token is not a compact JWS: %q", token)
	}
	var header struct{ Alg, Kid, Typ string }
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(raw, &header) != nil {
		t.Fatalf("logout token header %q: %v", parts[0], err)
	}
	if header.Typ != "logout+jwt" {
		t.Errorf("logout token typ %q, want logout+jwt", header.Typ)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(header.Alg)
	if !ok || header.Alg == "none" || strings.HasPrefix(header.Alg, "HS") {
		t.Fatalf("logout token alg %q", header.Alg)
	}
	var set jwks
	if p := r.get(t, "/keys"); p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &set) != nil {
		t.Fatalf("GET /keys: %d %.300s", p.Status, p.Body)
	}
	var key jwk.Key
	for _, k := range set.Keys {
		if k["kid"] == header.Kid {
			raw, _ := json.Marshal(k)
			var err error
			if key, err = jwk.ParseKey(raw); err != nil {
				t.Fatalf("JWKS key %s: %v", header.Kid, err)
			}
		}
	}
	if key == nil {
		t.Fatalf("logout token kid %q is not in the issuer's JWKS", header.Kid)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(alg, key))
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("logout token claims: %v", err)
	}

	aud, _ := claims["aud"].([]any)
	if s, ok := claims["aud"].(string); ok {
		aud = []any{s}
	}
	events, _ := claims["events"].(map[string]any)
	_, isObject := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any)
	iat, _ := claims["iat"].(float64)
	exp, hasExp := claims["exp"].(float64)
	now := float64(time.Now().Unix())
	if claims["iss"] != r.srv.URL {
		t.Errorf("logout token iss %v, want %s", claims["iss"], r.srv.URL)
	}
	if !slices.Contains(aud, any(c.ID)) {
		t.Errorf("logout token aud %v, want %s in it", claims["aud"], c.ID)
	}
	if iat < float64(notBefore.Unix())-5 || iat > now+5 {
		t.Errorf("logout token iat %v, want the revocation's time (%d–%v)", claims["iat"], notBefore.Unix(), now)
	}
	if hasExp && exp <= now {
		t.Errorf("logout token exp %v is past", claims["exp"])
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Errorf("logout token without jti: %v", claims)
	}
	if !isObject {
		t.Errorf("logout token events %v, want the back-channel logout event with a JSON object", claims["events"])
	}
	gotSub, _ := claims["sub"].(string)
	sid, _ := claims["sid"].(string)
	switch {
	case gotSub == "" && sid == "":
		t.Errorf("logout token with neither sub nor sid: %v", claims)
	case gotSub != "" && gotSub != sub:
		t.Errorf("logout token sub %q, want the ID token's %v", gotSub, sub)
	}
	if _, ok := claims["nonce"]; ok {
		t.Errorf("logout token carries a nonce: %v", claims)
	}
}

// testClaimsParameter: personal claims in the ID token by the claims
// parameter (OpenID Connect Core 5.5), as openid-client validates it: only
// those named, of consented scopes.
func (r *oidcRig) testClaimsParameter(t *testing.T) {
	a := r.authorize(t, r.conf, fullScope, map[string]string{"claims": `{"id_token": {"family_name": null, "snils": {"essential": true}}}`})
	p := r.get(t, a.URL)
	for range 5 {
		if strings.HasPrefix(p.Location, r.redirect+"?") {
			break
		}
		p = r.get(t, p.Location)
	}
	a.Callback = p.Location
	tok := r.mustExchange(t, r.conf, a)
	c := tok.Claims
	if c["family_name"] != "Иванов" || c["snils"] != "112-233-445 95" || c["given_name"] != nil || c["phone_number"] != nil {
		t.Errorf("ID token by the claims parameter: %v, want family_name and snils only", c)
	}
}

// testUserinfoRevoked: openid-client's userinfo call with a revoked access
// token fails with 401 and the RFC 6750 challenge.
func (r *oidcRig) testUserinfoRevoked(t *testing.T) {
	tok := r.mustExchange(t, r.conf, r.code(t, r.conf, fullScope))
	r.revoke(t, r.conf, tok.AccessToken, "access_token")
	e := runRP(t, r.node, "userinfo", r.req(r.conf, map[string]any{"access_token": tok.AccessToken}), nil)
	wantBearerChallenge(t, "userinfo with a revoked access token", e)
}

// wantBearerChallenge requires a userinfo refusal with 401, error
// invalid_token and WWW-Authenticate: Bearer error="invalid_token".
func wantBearerChallenge(t *testing.T, what string, e *rpError) {
	t.Helper()
	if e == nil {
		t.Errorf("%s: accepted", what)
		return
	}
	challenge := ""
	if e.Exchange != nil && e.Exchange.Response != nil {
		challenge = e.Exchange.Response.Headers["www-authenticate"]
	}
	if e.Status != 401 || e.Error != "invalid_token" || !strings.HasPrefix(challenge, "Bearer") || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("%s: %s\n    WWW-Authenticate %q; want 401 with Bearer error=\"invalid_token\"", what, e, challenge)
	}
}

// ---- negative cases ----

func (r *oidcRig) testWrongVerifier(t *testing.T) {
	a := r.code(t, r.conf, fullScope)
	a.Verifier = strings.Repeat("A", 43)
	_, e := r.exchange(t, r.conf, a, nil)
	wantOAuthError(t, "code exchange with a wrong PKCE verifier", e, "invalid_grant", 400)
}

func (r *oidcRig) testReusedCode(t *testing.T) {
	a := r.code(t, r.conf, fullScope)
	tok := r.mustExchange(t, r.conf, a)
	_, e := r.exchange(t, r.conf, a, map[string]any{"skip_userinfo": true})
	wantOAuthError(t, "a code exchanged twice", e, "invalid_grant", 400)
	// What the first exchange issued is revoked.
	_, e = r.refresh(t, r.conf, tok.RefreshToken)
	wantOAuthError(t, "refresh token of a reused code", e, "invalid_grant", 400)
	if in := r.introspect(t, r.conf, tok.AccessToken); active(in) {
		t.Errorf("access token of a reused code: introspection %v, want active false", in)
	}
}

// testRedirectURIOff: a redirect URI one character off the registered one
// gets Gosid's own error page, never a redirect.
func (r *oidcRig) testRedirectURIOff(t *testing.T) {
	off := strings.TrimSuffix(r.redirect, "/cb") + "/cc"
	a := r.authorize(t, r.conf, fullScope, map[string]string{"redirect_uri": off})
	p := r.get(t, a.URL)
	if p.Status != http.StatusBadRequest || p.Location != "" {
		t.Errorf("authorization with redirect_uri %s: %d → %q, want 400 and no redirect\n%.400s", off, p.Status, p.Location, p.Body)
	}
}

func (r *oidcRig) testUnknownClient(t *testing.T) {
	unknown := rpClient{ID: "gsd_AAAAAAAAAAAAAAAAAAAAAA", Name: "Неизвестный", Secret: "not-a-secret", AuthMethod: "client_secret_basic"}
	a := r.authorize(t, unknown, "openid", nil)
	if p := r.get(t, a.URL); p.Status != http.StatusBadRequest || p.Location != "" {
		t.Errorf("authorization by an unknown client: %d → %q, want 400 and no redirect\n%.400s", p.Status, p.Location, p.Body)
	}
	// A real code presented by an unknown client.
	real := r.code(t, r.conf, fullScope)
	_, e := r.exchange(t, unknown, real, nil)
	wantOAuthError(t, "code exchange by an unknown client", e, "invalid_client", 401)
}

func (r *oidcRig) testWrongSecret(t *testing.T) {
	a := r.code(t, r.conf, fullScope)
	wrong := r.conf
	wrong.Secret += "x"
	_, e := r.exchange(t, wrong, a, nil)
	wantOAuthError(t, "code exchange with a wrong client secret", e, "invalid_client", 401)
}

func (r *oidcRig) testAlgNone(t *testing.T) {
	a := r.code(t, r.keyed, "openid fullname")
	tok, e := r.exchange(t, r.keyed, a, map[string]any{"alg_none": true})
	wantOAuthError(t, "code exchange with an unsigned (alg none) client assertion", e, "invalid_client", 401)
	if e == nil && tok.AccessToken != "" {
		t.Errorf("tokens were issued for an unsigned client assertion")
	}
}

// testAssertionReplay: one client assertion, presented twice.
func (r *oidcRig) testAssertionReplay(t *testing.T) {
	var as struct {
		Assertion string `json:"assertion"`
	}
	if e := runRP(t, r.node, "assertion", r.req(r.keyed, nil), &as); e != nil || as.Assertion == "" {
		t.Fatalf("assertion: %s", e)
	}
	first := r.code(t, r.keyed, "openid fullname")
	if _, e := r.exchange(t, r.keyed, first, map[string]any{"assertion": as.Assertion}); e != nil {
		t.Fatalf("first use of a client assertion: %s", e)
	}
	second := r.code(t, r.keyed, "openid fullname")
	tok, e := r.exchange(t, r.keyed, second, map[string]any{"assertion": as.Assertion, "skip_userinfo": true})
	wantOAuthError(t, "a client assertion (same jti) presented again", e, "invalid_client", 401)
	if e == nil && tok.AccessToken != "" {
		t.Errorf("tokens were issued for a replayed client assertion")
	}
}

func (r *oidcRig) testForeignRefreshToken(t *testing.T) {
	a := r.signIn(t, r.other, "openid fullname offline_access")
	tok := r.mustExchange(t, r.other, a)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for the other client")
	}
	_, e := r.refresh(t, r.conf, tok.RefreshToken)
	wantOAuthError(t, "refresh with another client's refresh token", e, "invalid_grant", 400)
}

// refreshGrace is the e2e servers' --refresh-token-grace: long enough
// that a loaded CI machine retries within it (1s flaked), short enough to
// wait out.
const refreshGrace = 3 * time.Second

func (r *oidcRig) testRotatedRefreshReused(t *testing.T) {
	tok := r.mustExchange(t, r.conf, r.code(t, r.conf, fullScope))
	tok2, e := r.refresh(t, r.conf, tok.RefreshToken)
	if e != nil {
		t.Fatalf("refresh: %s", e)
	}
	// Within the grace a retry (its answer lost) gets the same successor.
	again, e := r.refresh(t, r.conf, tok.RefreshToken)
	if e != nil || again.RefreshToken != tok2.RefreshToken {
		t.Fatalf("a retry within the refresh grace: %v, same successor %v", e, again.RefreshToken == tok2.RefreshToken)
	}
	time.Sleep(refreshGrace + 200*time.Millisecond)
	_, e = r.refresh(t, r.conf, tok.RefreshToken)
	wantOAuthError(t, "a rotated refresh token presented again", e, "invalid_grant", 400)
	_, e = r.refresh(t, r.conf, tok2.RefreshToken)
	wantOAuthError(t, "the newest refresh token of a family revoked by reuse", e, "invalid_grant", 400)
	if in := r.introspect(t, r.conf, tok2.AccessToken); active(in) {
		t.Errorf("access token of a revoked family: introspection %v, want active false", in)
	}
}
