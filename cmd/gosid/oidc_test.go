package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// startOP is startIdP with the issuer bound to the server's own URL and
// the JWKS served, as `gosid serve` does.
func startOP(t *testing.T, db *sqldb.DB, c *sqldbtest.Clock) (*testIdP, *keys.Manager) {
	t.Helper()
	idp, km, _ := startOPParts(t, db, c)
	return idp, km
}

func startOPParts(t testing.TB, db *sqldb.DB, c *sqldbtest.Clock) (*testIdP, *keys.Manager, *idp.IdP) {
	t.Helper()
	return startOPWith(t, db, c, nil)
}

// startOPWith is startOPParts with options changed by mod first.
func startOPWith(t testing.TB, db *sqldb.DB, c *sqldbtest.Clock, mod func(*idpOptions)) (*testIdP, *keys.Manager, *idp.IdP) {
	t.Helper()
	km, err := keys.Open(context.Background(), db, newMasterKey(t), keys.Options{Logger: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	return startOPKeys(t, db, c, km, mod)
}

func testLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// startOPKeys is startOPWith with the keys km (those the commands of a
// test open from --master-key-file: commandKeys).
func startOPKeys(t testing.TB, db *sqldb.DB, c *sqldbtest.Clock, km *keys.Manager, mod func(*idpOptions)) (*testIdP, *keys.Manager, *idp.IdP) {
	t.Helper()
	return startOPServing(t, db, c, km, mod, nil)
}

// startOPServing is startOPKeys whose server's handler is wrap's of the
// identity provider's, when wrap is not nil (a fault in front of it).
func startOPServing(t testing.TB, db *sqldb.DB, c *sqldbtest.Clock, km *keys.Manager, mod func(*idpOptions), wrap func(http.Handler) http.Handler) (*testIdP, *keys.Manager, *idp.IdP) {
	t.Helper()
	log := testLog()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	o := &idpOptions{LockoutThreshold: 3, LockoutDuration: 30 * time.Minute, SessionIdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour, SessionIdleMin: 5 * time.Minute, SessionIdleMax: 4 * time.Hour, DeletionGrace: 30 * 24 * time.Hour,
		Argon2Memory: 8 * 1024, Argon2Time: 1, Argon2Threads: 1}
	if mod != nil {
		mod(o)
	}
	parts, err := buildIdP(o, issuer, db, km, log, false, c.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := parts.Handler(httpx.Options{Logger: log})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &testIdP{URL: issuer, clock: c}, km, parts
}

func pkce() (verifier, challenge string) {
	verifier, _ = bearer.New()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Status       int    `json:"-"`
}

func tokenRequest(t *testing.T, issuer, clientID, secret string, form url.Values) tokenResponse {
	t.Helper()
	req, _ := http.NewRequest("POST", issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	tr.Status = resp.StatusCode
	return tr
}

// TestAuthorizationCodeFlow runs a confidential client through
// authorization code + PKCE with sign-in and consent through the HTML
// forms, then token, ID-token validation against /keys, userinfo, refresh
// rotation and reuse detection, and code reuse.
func TestAuthorizationCodeFlow(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		idp, _ := startOP(t, db, c)
		clients := client.NewStore(db, time.Now)
		const redirect = "http://127.0.0.1:9/callback"
		cl, secret, err := clients.Create(ctx, client.Client{Name: "Банк «Тест»", AuthMethod: "client_secret_basic", RedirectURIs: []string{redirect},
			Scopes: []string{"openid", "fullname", "mobile", "snils", "offline_access"}, GrantTypes: []string{"authorization_code", "refresh_token"}, IDTokenAlg: "ES256"})
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, idp)
		b.register("phone", "+7 912 345-67-89", "+79123456789", "Иванов", "Иван")

		verifier, challenge := pkce()
		q := url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname mobile offline_access"},
			"state": {"st-123"}, "nonce": {"n-456"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		p := b.get("/authorize?" + q.Encode())
		if p.Status != 302 || !strings.HasPrefix(p.Location, "/authorize/continue") {
			t.Fatalf("/authorize: %d → %q %s", p.Status, p.Location, p.Body)
		}
		p = b.get(p.Location)
		p.expectRedirect(t, "/authorize/consent")
		consent := b.get(p.Location)
		if consent.Status != 200 || !strings.Contains(consent.Body, "Банк «Тест»") || !strings.Contains(consent.Body, "(912) ***-**-89") {
			t.Fatalf("consent page: %d\n%s", consent.Status, consent.Body)
		}
		id := strings.TrimPrefix(p.Location, "/authorize/consent?id=")
		id, _ = url.QueryUnescape(id)
		p = b.post("/authorize/consent", url.Values{"id": {id}, "decision": {"allow"}})
		if p.Status != 302 || !strings.HasPrefix(p.Location, redirect+"?") {
			t.Fatalf("consent allow: %d → %q", p.Status, p.Location)
		}
		cb, _ := url.Parse(p.Location)
		if cb.Query().Get("state") != "st-123" || cb.Query().Get("iss") != idp.URL || cb.Query().Get("code") == "" {
			t.Fatalf("authorization response %v: want state, iss and code", cb.Query())
		}
		code := cb.Query().Get("code")

		// A wrong verifier is refused (and spends the code).
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
		tr := tokenRequest(t, idp.URL, cl.ID, secret, exchange)
		if tr.Status != 200 || tr.IDToken == "" || tr.AccessToken == "" || tr.RefreshToken == "" {
			t.Fatalf("code exchange: %d %+v", tr.Status, tr)
		}
		// The ID token verifies against the published keys and carries the claims.
		set, err := jwk.Fetch(ctx, idp.URL+"/keys")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Parse([]byte(tr.IDToken), jwt.WithKeySet(set), jwt.WithIssuer(idp.URL), jwt.WithAudience(cl.ID), jwt.WithValidate(true))
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var nonce, acr, family string
		var amr []any
		_ = tok.Get("nonce", &nonce)
		_ = tok.Get("acr", &acr)
		_ = tok.Get("amr", &amr)
		_ = tok.Get("family_name", &family)
		// Personal data comes from userinfo: the ID token, which travels
		// in logout URLs, holds the protocol claims only (issue 11).
		if nonce != "n-456" || acr != "urn:gosid:loa:simplified" || !slices.Contains(amr, any("pwd")) || family != "" {
			t.Fatalf("ID token claims nonce=%q acr=%q amr=%v family_name=%q", nonce, acr, amr, family)
		}
		if !strings.HasPrefix(tr.IDToken, "eyJhbGciOiJFUzI1NiI") {
			t.Errorf("ID token not signed with the client's ES256")
		}
		// The access token: a JWT typed at+jwt (RFC 9068) that verifies
		// against /keys, and the ID token's at_hash is its hash.
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tr.AccessToken, ".")[0])
		var h struct{ Typ, Alg, Kid string }
		_ = json.Unmarshal(hdr, &h)
		if h.Typ != "at+jwt" || h.Alg != "ES256" || h.Kid == "draft" {
			t.Errorf("access token header %+v, want typ at+jwt, ES256, a published kid", h)
		}
		at, err := jwt.Parse([]byte(tr.AccessToken), jwt.WithKeySet(set), jwt.WithIssuer(idp.URL), jwt.WithValidate(true))
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		var scope, atClient string
		_ = at.Get("scope", &scope)
		_ = at.Get("client_id", &atClient)
		if !strings.Contains(scope, "fullname") || atClient != cl.ID {
			t.Errorf("access token scope %q client_id %q", scope, atClient)
		}
		var atHash string
		_ = tok.Get("at_hash", &atHash)
		sum := sha256.Sum256([]byte(tr.AccessToken))
		if want := base64.RawURLEncoding.EncodeToString(sum[:16]); atHash != "" && atHash != want {
			t.Errorf("at_hash %q, want %q", atHash, want)
		}
		// Userinfo with the access token.
		req, _ := http.NewRequest("GET", idp.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var info map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if resp.StatusCode != 200 || info["phone_number"] != "+79123456789" || info["given_name"] != "Иван" || info["snils"] != nil {
			t.Fatalf("userinfo: %d %v", resp.StatusCode, info)
		}
		// The code again: refused.
		if again := tokenRequest(t, idp.URL, cl.ID, secret, exchange); again.Status != 400 || again.Error != "invalid_grant" {
			t.Fatalf("reused code: %d %q", again.Status, again.Error)
		}
		// ...and what it issued is revoked.
		rt := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
		if rt.Status == 200 {
			t.Fatalf("the refresh token of a reused code still works")
		}
	})
}

// TestRefreshRotation: a refresh token rotates; presenting a rotated one
// again, past the grace window, revokes the family.
func TestRefreshRotation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		idp, _ := startOP(t, db, c)
		clients := client.NewStore(db, time.Now)
		const redirect = "http://127.0.0.1:9/callback"
		cl, secret, err := clients.Create(ctx, client.Client{Name: "Портал", AuthMethod: "client_secret_basic", RedirectURIs: []string{redirect},
			Scopes: []string{"openid", "fullname", "offline_access"}, GrantTypes: []string{"authorization_code", "refresh_token"}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, idp)
		b.register("email", "a.b@example.ru", "a.b@example.ru", "Петров", "Пётр")
		verifier, challenge := pkce()
		q := url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname offline_access"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		p := b.get("/authorize?" + q.Encode())
		p = b.get(p.Location) // first party: no consent
		cb, _ := url.Parse(p.Location)
		code := cb.Query().Get("code")
		if code == "" {
			t.Fatalf("no code: %d %q", p.Status, p.Location)
		}
		tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
		r1 := tr.RefreshToken
		tr2 := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}})
		if tr2.Status != 200 || tr2.RefreshToken == "" || tr2.RefreshToken == r1 {
			t.Fatalf("refresh: %d %+v", tr2.Status, tr2)
		}
		// Within the grace window a retry gets the same successor (its
		// first answer may have been lost); after it, the rotated token is
		// reuse.
		if again := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}}); again.Status != 200 || again.RefreshToken != tr2.RefreshToken {
			t.Fatalf("a retry within the grace window: %d, same successor %v", again.Status, again.RefreshToken == tr2.RefreshToken)
		}
		c.Advance(oidc.DefaultRefreshGrace + time.Second)
		if again := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}}); again.Status == 200 {
			t.Fatal("a rotated refresh token worked again")
		}
		if next := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr2.RefreshToken}}); next.Status == 200 {
			t.Fatal("the family survived the reuse of a rotated token")
		}
	})
}

// authorize runs the browser part of a code flow for a signed-in browser
// and returns the callback query.
func authorize(t *testing.T, b *browser, q url.Values) url.Values {
	t.Helper()
	p := b.get("/authorize?" + q.Encode())
	for i := 0; i < 5 && p.Status/100 == 3; i++ {
		if strings.HasPrefix(p.Location, "/authorize/consent") {
			id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
			p = b.post("/authorize/consent", url.Values{"id": {id}, "decision": {"allow"}})
			continue
		}
		if !strings.HasPrefix(p.Location, "/") {
			break
		}
		p = b.get(p.Location)
	}
	u, err := url.Parse(p.Location)
	if err != nil || p.Status != 302 || strings.HasPrefix(p.Location, "/") {
		t.Fatalf("authorization did not come back to the client: %d %q", p.Status, p.Location)
	}
	return u.Query()
}

func TestClientCredentialsIntrospectRevoke(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
	clients := client.NewStore(db, time.Now)
	partner, secret, err := clients.Create(ctx, client.Client{Name: "Банк-партнёр", AuthMethod: "client_secret_post",
		Scopes: []string{"openid", "snils"}, GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {partner.ID}, "client_secret": {secret}, "scope": {"snils"}}
	resp, err := http.PostForm(idp.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tr tokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if resp.StatusCode != 200 || tr.AccessToken == "" || tr.IDToken != "" || tr.RefreshToken != "" {
		t.Fatalf("client_credentials: %d %+v", resp.StatusCode, tr)
	}
	introspect := func() map[string]any {
		req, _ := http.NewRequest("POST", idp.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(partner.ID, secret)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		return m
	}
	if m := introspect(); m["active"] != true || m["client_id"] != partner.ID || m["scope"] != "snils" {
		t.Fatalf("introspection of a live token: %v", m)
	}
	r, err := http.PostForm(idp.URL+"/oauth/revoke", url.Values{"token": {tr.AccessToken}, "client_id": {partner.ID}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if m := introspect(); m["active"] != false {
		t.Fatalf("introspection after revocation: %v", m)
	}
	// Wrong secret.
	form.Set("client_secret", "wrong")
	resp, _ = http.PostForm(idp.URL+"/oauth/token", form)
	resp.Body.Close()
	if resp.StatusCode != 400 && resp.StatusCode != 401 {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
}

func TestAuthorizationRules(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	c := sqldbtest.NewClock(time.Now())
	idp, _ := startOP(t, db, c)
	clients := client.NewStore(db, time.Now)
	const redirect = "http://127.0.0.1:9/cb"
	public, _, err := clients.Create(ctx, client.Client{Name: "Мобильное приложение", AuthMethod: "none", RedirectURIs: []string{redirect},
		Scopes: []string{"openid", "fullname"}, GrantTypes: []string{"authorization_code"}})
	if err != nil {
		t.Fatal(err)
	}
	strict, strictSecret, err := clients.Create(ctx, client.Client{Name: "Налоговая", AuthMethod: "client_secret_basic", RedirectURIs: []string{redirect},
		Scopes: []string{"openid", "fullname"}, GrantTypes: []string{"authorization_code"}, MinLevel: "standard", FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = strictSecret
	b := newBrowser(t, idp)
	anon := newBrowser(t, idp)

	// A public client without PKCE is refused, back at its redirect URI.
	p := b.get("/authorize?" + url.Values{"client_id": {public.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}}.Encode())
	if p.Status != 302 || !strings.Contains(p.Location, "error=invalid_request") {
		t.Fatalf("public client without PKCE: %d %q", p.Status, p.Location)
	}
	// A redirect URI differing by one character: no redirect at all.
	p = b.get("/authorize?" + url.Values{"client_id": {public.ID}, "redirect_uri": {redirect + "x"}, "response_type": {"code"}, "scope": {"openid"}}.Encode())
	if p.Status != 400 || p.Location != "" {
		t.Fatalf("unregistered redirect URI: %d %q", p.Status, p.Location)
	}
	// prompt=none without a session: login_required.
	_, challenge := pkce()
	base := url.Values{"client_id": {public.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"s1"}}
	q := url.Values{}
	for k, v := range base {
		q[k] = v
	}
	q.Set("prompt", "none")
	p = anon.get("/authorize?" + q.Encode())
	p = anon.get(p.Location)
	if !strings.Contains(p.Location, "error=login_required") || !strings.Contains(p.Location, "state=s1") {
		t.Fatalf("prompt=none without a session: %d %q", p.Status, p.Location)
	}
	// A simplified account at a client that needs standard: an explanation,
	// and cancelling answers unmet_authentication_requirements.
	b.register("phone", "+79031234567", "+79031234567", "Смирнов", "Олег")
	q = url.Values{"client_id": {strict.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname"}, "state": {"s2"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	p = b.get("/authorize?" + q.Encode())
	level := b.get(p.Location)
	if level.Status != 200 || !strings.Contains(level.Body, "Стандартная") {
		t.Fatalf("level page: %d", level.Status)
	}
	p = b.get(p.Location + "&cancel=1")
	if !strings.Contains(p.Location, "error=unmet_authentication_requirements") {
		t.Fatalf("cancel at the level page: %q", p.Location)
	}
	// Consent denied: access_denied.
	q = base
	q.Set("state", "s3")
	p = b.get("/authorize?" + q.Encode())
	p = b.get(p.Location)
	id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
	p = b.post("/authorize/consent", url.Values{"id": {id}, "decision": {"deny"}})
	if !strings.Contains(p.Location, "error=access_denied") {
		t.Fatalf("consent denied: %q", p.Location)
	}
}

// TestExpiredCode: a code is good for 60 seconds.
func TestExpiredCode(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	c := sqldbtest.NewClock(time.Now())
	idp, _ := startOP(t, db, c)
	cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
		RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Scopes: []string{"openid"}, GrantTypes: []string{"authorization_code"}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, idp)
	b.register("phone", "+79051112233", "+79051112233", "Орлов", "Ян")
	verifier, challenge := pkce()
	cb := authorize(t, b, url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	c.Advance(61 * time.Second)
	tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
	if tr.Status != 400 || tr.Error != "invalid_grant" || tr.AccessToken != "" {
		t.Fatalf("expired code: %d %+v", tr.Status, tr)
	}
}

func TestDeviceFlow(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
	kiosk, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Терминал МФЦ", AuthMethod: "client_secret_basic",
		Scopes: []string{"openid", "fullname"}, GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", idp.URL+"/oauth/device_authorization", strings.NewReader(url.Values{"scope": {"openid fullname"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(kiosk.ID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&da)
	resp.Body.Close()
	if resp.StatusCode != 200 || da.DeviceCode == "" || da.UserCode == "" {
		t.Fatalf("device authorization: %d %+v", resp.StatusCode, da)
	}
	poll := func() tokenResponse {
		return tokenRequest(t, idp.URL, kiosk.ID, secret, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}})
	}
	if tr := poll(); tr.Error != "authorization_pending" {
		t.Fatalf("before approval: %+v", tr)
	}
	b := newBrowser(t, idp)
	b.register("phone", "+79061112233", "+79061112233", "Киоскова", "Анна")
	p := b.post("/device", url.Values{"user_code": {strings.ToLower(da.UserCode)}})
	if p.Status != 200 || !strings.Contains(p.Body, "Терминал МФЦ") {
		t.Fatalf("device code entry: %d", p.Status)
	}
	b.post("/device", url.Values{"user_code": {da.UserCode}, "decision": {"allow"}}).expectRedirect(t, "/device?done=approved")
	if tr := poll(); tr.Status != 200 || tr.AccessToken == "" || tr.IDToken == "" {
		t.Fatalf("after approval: %d %+v", tr.Status, tr)
	}
	if tr := poll(); tr.Status == 200 {
		t.Fatal("a device code gave tokens twice")
	}
}

func TestEndSession(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
	cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
		RedirectURIs: []string{"http://127.0.0.1:9/cb"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/bye"},
		Scopes: []string{"openid", "offline_access"}, GrantTypes: []string{"authorization_code", "refresh_token"}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, idp)
	b.register("phone", "+79071112233", "+79071112233", "Выходов", "Пётр")
	verifier, challenge := pkce()
	cb := authorize(t, b, url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "scope": {"openid offline_access"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
	// An unregistered post-logout URI is not followed.
	p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if strings.Contains(p.Location, "evil.example") {
		t.Fatalf("open redirect at end-session: %q", p.Location)
	}
	// An invalid logout request changes nothing.
	if p := b.get("/account"); p.Status != 200 {
		t.Fatalf("session after a refused logout: %d", p.Status)
	}
	p = b.get("/oauth/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"z"}}.Encode())
	if p.Status/100 != 3 || !strings.HasPrefix(p.Location, "http://127.0.0.1:9/bye") || !strings.Contains(p.Location, "state=z") {
		t.Fatalf("end-session: %d %q", p.Status, p.Location)
	}
	b.get("/account").expectRedirect(t, "/login")
	if tr.RefreshToken == "" {
		t.Fatal("no refresh token to check")
	}
	if again := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}); again.Status == 200 {
		t.Fatal("refresh token survived the logout")
	}
}

// TestBackchannelLogout: signing out at Gosid sends a signed logout token
// to the client that got tokens in the session; a client that is down gets
// it on a later attempt.
func TestBackchannelLogout(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		idp, _, parts := startOPParts(t, db, c)
		var mu sync.Mutex
		var got []string
		down, tries := true, 0
		rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			tries++
			if down {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			got = append(got, r.PostFormValue("logout_token"))
		}))
		defer rp.Close()
		cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{"http://127.0.0.1:9/cb"}, BackchannelLogoutURI: rp.URL + "/bcl",
			Scopes: []string{"openid"}, GrantTypes: []string{"authorization_code"}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, idp)
		b.register("phone", "+79081112233", "+79081112233", "Логаутов", "Иван")
		verifier, challenge := pkce()
		cb := authorize(t, b, url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "scope": {"openid"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
			"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
		idTok, err := jwt.ParseInsecure([]byte(tr.IDToken))
		if err != nil {
			t.Fatal(err)
		}
		var sid string
		if err := idTok.Get("sid", &sid); err != nil || sid == "" {
			t.Fatalf("ID token has no sid: %v", err)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")

		// The first attempt finds the client down; the retry waits for
		// the back-off (20 s on the IdP's clock).
		deliverLogouts(t, parts, 1, func() int { mu.Lock(); defer mu.Unlock(); return tries })
		mu.Lock()
		down = false
		mu.Unlock()
		c.Advance(30 * time.Second) // past the first back-off
		deliverLogouts(t, parts, 1, func() int { mu.Lock(); defer mu.Unlock(); return len(got) })
		set, err := jwk.Fetch(ctx, idp.URL+"/keys")
		if err != nil {
			t.Fatal(err)
		}
		// Signed at delivery, on the IdP's clock (moved past the back-off).
		lt, err := jwt.Parse([]byte(got[0]), jwt.WithKeySet(set), jwt.WithIssuer(idp.URL), jwt.WithAudience(cl.ID), jwt.WithClock(jwt.ClockFunc(c.Now)))
		if err != nil {
			t.Fatalf("logout token: %v", err)
		}
		var events map[string]any
		var ltSID string
		_ = lt.Get("events", &events)
		_ = lt.Get("sid", &ltSID)
		sub, _ := lt.Subject()
		idSub, _ := idTok.Subject()
		if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok || ltSID != sid || sub != idSub {
			t.Fatalf("logout token claims: events=%v sid=%q (want %q) sub=%q", events, ltSID, sid, sub)
		}
		if _, ok := lt.Get("nonce", new(string)), true; ok {
			var n string
			if lt.Get("nonce", &n) == nil {
				t.Fatal("a logout token must not carry a nonce")
			}
		}
		time.Sleep(time.Second)
		if mu.Lock(); len(got) != 1 || tries != 2 {
			t.Fatalf("a delivered logout token was sent again: %d tokens in %d tries", len(got), tries)
		}
		mu.Unlock()
	})
}
