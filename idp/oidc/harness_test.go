package oidc

// The package's test harness: the real Provider with real stores (accounts,
// clients through the cache, sessions, signing keys under a random master
// key, rate limits) over a sqldbtest database, served on 127.0.0.1 behind
// the cross-origin filter `gosid serve` puts in front of it. Tests drive it
// over HTTP as relying parties and browsers do. A citizen is signed in by a
// session row and its cookie (the login pages are not this package's), and
// authorize runs an authorization request to its code through the real
// /authorize, /authorize/continue and consent endpoints.
//
//	op := startOP(t, db)
//	c, secret := op.client(t, client.Client{AuthMethod: client.AuthSecretBasic})
//	b := op.signedIn(t, op.citizen(t).ID)
//	verifier, challenge := pkce()
//	code := op.code(t, b, c, challenge)
//	r := op.post(t, pathToken, url.Values{…}, basic(c.ID, secret))

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/httpx"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// testRedirect is the redirect URI clients get by default: registered, and
// never fetched (the harness reads the code from the Location header).
const testRedirect = "http://127.0.0.1:9/cb"

// testOP is one Provider on a real HTTP server.
type testOP struct {
	URL      string // the issuer, http://127.0.0.1:port
	DB       *sqldb.DB
	Clock    *sqldbtest.Clock
	P        *Provider
	Keys     *keys.Manager
	Accounts *account.Store
	Clients  *client.Store
	Cache    *client.Cache
	Sessions *session.Store
	Limiter  *ratelimit.Limiter
	// IP is the client address the provider's rate limits see (httpx.ClientIP).
	IP atomic.Pointer[string]
}

// startOP builds the provider over db with the clock at now and serves it;
// mod, if given, changes the configuration and dependencies first.
func startOP(t testing.TB, db *sqldb.DB, mod ...func(*Config, *Deps)) *testOP {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(ctx, db, mk, keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &testOP{URL: "http://" + ln.Addr().String(), DB: db, Clock: sqldbtest.NewClock(time.Now()), Keys: km}
	ip := "192.0.2.1"
	o.IP.Store(&ip)
	now := o.Clock.Now
	o.Accounts = account.NewStore(db, km, now)
	o.Clients = client.NewStore(db, now)
	o.Cache = client.NewCache(o.Clients, time.Second)
	o.Sessions = session.NewStore(db, session.Config{Now: now})
	o.Limiter = ratelimit.New(db, now)
	var key [32]byte
	copy(key[:], km.BlindIndex("op-crypto-key", "v1"))
	cfg := Config{Issuer: o.URL, CryptoKey: key}
	deps := Deps{DB: db, Clients: o.Cache, Accounts: o.Accounts, Signer: km, Sessions: o.Sessions, Log: log, Now: now,
		Limiter: o.Limiter}
	for _, m := range mod {
		m(&cfg, &deps)
	}
	if o.P, err = New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	o.P.Routes(mux)
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(km.JSON())
	})
	// The cross-origin filter as `gosid serve` wires it, inside the
	// middleware that resolves the client's address.
	srv := httptest.NewUnstartedServer(httpx.Wrap("idp", webui.Protect(mux, o.P.CrossOriginEndpoints()...),
		httpx.Options{ClientIP: func(*http.Request) string { return *o.IP.Load() }}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return o
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var phoneSeq atomic.Int64

// citizen creates an account with a verified phone.
func (o *testOP) citizen(t testing.TB) *account.Account {
	t.Helper()
	phone := fmt.Sprintf("+7903%07d", phoneSeq.Add(1))
	a, err := o.Accounts.Create(context.Background(), account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
		Phone: account.Contact{Value: phone, VerifiedAt: o.Clock.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client registers c with defaults for what it leaves empty: a name, the
// test redirect URI, openid and fullname, the authorization_code grant
// (with a redirect URI) and client_secret_basic. It returns the client and
// its secret (empty for methods without one).
func (o *testOP) client(t testing.TB, c client.Client) (*client.Client, string) {
	t.Helper()
	if c.Name == "" {
		c.Name = "Тестовый сайт"
	}
	if c.AuthMethod == "" {
		c.AuthMethod = client.AuthSecretBasic
	}
	if c.GrantTypes == nil {
		c.GrantTypes = []string{client.GrantAuthorizationCode}
	}
	if c.RedirectURIs == nil && c.AllowsGrant(client.GrantAuthorizationCode) {
		c.RedirectURIs = []string{testRedirect}
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "fullname"}
	}
	created, secret, err := o.Clients.Create(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return created, secret
}

// clientKey is a private_key_jwt client's key pair.
type clientKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

// newClientKey makes a P-256 key; jwks is its public JWKS to register.
func newClientKey(t testing.TB, kid string) (k clientKey, jwks string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return clientKey{kid: kid, priv: priv}, string(b)
}

// keyedClient registers a private_key_jwt client with a fresh key.
func (o *testOP) keyedClient(t testing.TB, c client.Client) (*client.Client, clientKey) {
	t.Helper()
	k, jwks := newClientKey(t, "k1")
	c.AuthMethod, c.JWKS = client.AuthPrivateKeyJWT, jwks
	created, _ := o.client(t, c)
	return created, k
}

// assertion signs a client assertion for clientID with k: iss and sub the
// client, aud the issuer, a fresh jti, iat now (the provider's clock when
// it has one) and exp in a minute; claims overrides or (with a nil value)
// removes claims.
func (o *testOP) assertion(t testing.TB, k clientKey, clientID string, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	if o.Clock != nil {
		now = o.Clock.Now()
	}
	jti, _ := bearer.New()
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": o.URL, "jti": jti, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	for name, v := range claims {
		if v == nil {
			delete(c, name)
			continue
		}
		c[name] = v
	}
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withAssertion is the form fields of private_key_jwt client authentication.
func withAssertion(form url.Values, assertion string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	out.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	out.Set("client_assertion", assertion)
	return out
}

// browser is a citizen's user agent: it keeps cookies and does not follow
// redirects, so that each step's answer is checked.
type browser struct {
	op *testOP
	c  *http.Client
}

// signedIn returns a browser with a fresh session of the account, signed
// in with a password now.
func (o *testOP) signedIn(t testing.TB, accountID string) *browser {
	t.Helper()
	token, _, err := o.Sessions.Create(context.Background(), accountID, []string{"pwd"}, time.Time{}, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(o.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: token, Path: "/"}})
	return &browser{op: o, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// reply is an HTTP response, read.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body as a JSON object (nil if it is not one).
func (r reply) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(r.Body), &m) != nil {
		return nil
	}
	return m
}

// Str is a string member of the JSON body.
func (r reply) Str(name string) string {
	s, _ := r.JSON()[name].(string)
	return s
}

func (r reply) String() string {
	return fmt.Sprintf("%d %s %.400s", r.Status, r.Header.Get("Content-Type"), r.Body)
}

func (b *browser) do(t testing.TB, method, ref string, form url.Values, mods ...func(*http.Request)) reply {
	t.Helper()
	return do(t, b.c, method, b.op.abs(ref), form, mods...)
}

func (o *testOP) abs(ref string) string {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		return ref
	}
	return o.URL + ref
}

// do sends a request (form, when not nil, as the urlencoded body) and reads
// the answer.
func do(t testing.TB, c *http.Client, method, u string, form url.Values, mods ...func(*http.Request)) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, m := range mods {
		m(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// doBody sends a request with a raw body of the content type.
func doBody(t testing.TB, method, u, contentType, body string, mods ...func(*http.Request)) reply {
	t.Helper()
	return do(t, plainClient, method, u, nil, append([]func(*http.Request){func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", contentType)
	}}, mods...)...)
}

var plainClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post sends a form to the provider as a relying party's server does.
func (o *testOP) post(t testing.TB, path string, form url.Values, mods ...func(*http.Request)) reply {
	t.Helper()
	return do(t, plainClient, http.MethodPost, o.abs(path), form, mods...)
}

// basic adds client_secret_basic credentials (form-encoded, RFC 6749
// section 2.3.1).
func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

// header sets a request header.
func header(name, value string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// pkce returns a fresh S256 verifier and its challenge.
func pkce() (verifier, challenge string) {
	verifier, _ = bearer.New()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize runs an authorization request for c from the browser, through
// consent if asked, and returns the authorization response's parameters.
// q holds parameters beyond the defaults (response_type code, the client's
// first redirect URI, scope openid, a state).
func (o *testOP) authorize(t testing.TB, b *browser, c *client.Client, q url.Values) url.Values {
	t.Helper()
	params := url.Values{"client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st"}}
	for k, v := range q {
		params[k] = v
	}
	p := b.do(t, http.MethodGet, pathAuthorize+"?"+params.Encode(), nil)
	for range 6 {
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
			t.Fatalf("authorization: %s, want a redirect", p)
		}
		loc := p.Header.Get("Location")
		if strings.HasPrefix(loc, params.Get("redirect_uri")+"?") {
			u, _ := url.Parse(loc)
			return u.Query()
		}
		u, err := url.Parse(o.abs(loc))
		if err != nil {
			t.Fatal(err)
		}
		if u.Path == pathConsent {
			p = b.do(t, http.MethodPost, pathConsent, url.Values{"id": {u.Query().Get("id")}, "decision": {"allow"}})
			continue
		}
		p = b.do(t, http.MethodGet, u.RequestURI(), nil)
	}
	t.Fatalf("authorization: too many redirects")
	return nil
}

// code runs an authorization request with the PKCE challenge (and extra
// parameters, if any) and returns the code.
func (o *testOP) code(t testing.TB, b *browser, c *client.Client, challenge string, extra ...string) string {
	t.Helper()
	q := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	cb := o.authorize(t, b, c, q)
	if cb.Get("code") == "" {
		t.Fatalf("authorization response without a code: %v", cb)
	}
	return cb.Get("code")
}

// codeExchange is the token request of a code, without client
// authentication.
func codeExchange(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {verifier}}
}

// with returns form with name set to value ("" deletes it).
func with(form url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
			continue
		}
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// introspect asks whether token is active, as the client with the given
// authentication.
func (o *testOP) active(t testing.TB, token string, form url.Values, mods ...func(*http.Request)) bool {
	t.Helper()
	r := o.post(t, pathIntrospect, with(form, "token", token), mods...)
	if r.Status != http.StatusOK {
		t.Fatalf("introspection: %s", r)
	}
	return r.JSON()["active"] == true
}

// wantError checks an RFC 6749 section 5.2 error response: the status,
// the error code, a JSON body that is only that, and no-store.
func wantError(t testing.TB, what string, r reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.Str("error") != code {
		t.Errorf("%s: %s, want %d %s", what, r, status, code)
		return
	}
	checkErrorShape(t, what, r)
}

// checkErrorShape checks that an error answer is RFC 6749 section 5.2
// JSON, never cached, and free of library-internal text.
func checkErrorShape(t testing.TB, what string, r reply) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json: %s", what, ct, r)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
	}
	m := r.JSON()
	if m == nil || m["error"] == nil {
		t.Errorf("%s: not a JSON error object: %s", what, r)
		return
	}
	for k := range m {
		if k != "error" && k != "error_description" {
			t.Errorf("%s: unexpected member %q in %s", what, k, r.Body)
		}
	}
	d, _ := m["error_description"].(string)
	for _, leak := range []string{"Parent=", "ErrorType=", "schema", "sql", "SQLSTATE", "go-jose", "square/", ": "} {
		if strings.Contains(d, leak) {
			t.Errorf("%s: error_description %q carries internal text (%q)", what, d, leak)
		}
	}
}

// auth is how a request authenticates its client.
type auth struct {
	// Method is client.AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT
	// or AuthNone.
	Method string
	Secret string
	Key    clientKey
	// Claims override the assertion's (private_key_jwt).
	Claims map[string]any
}

// call posts form to path as client c, authenticated as a says.
func (o *testOP) call(t testing.TB, path string, c *client.Client, a auth, form url.Values, mods ...func(*http.Request)) reply {
	t.Helper()
	switch a.Method {
	case client.AuthSecretBasic:
		mods = append(mods, basic(c.ID, a.Secret))
	case client.AuthSecretPost:
		form = with(form, "client_id", c.ID, "client_secret", a.Secret)
	case client.AuthPrivateKeyJWT:
		form = withAssertion(form, o.assertion(t, a.Key, c.ID, a.Claims))
	case client.AuthNone:
		form = with(form, "client_id", c.ID)
	default:
		t.Fatalf("unknown auth method %q", a.Method)
	}
	return o.post(t, path, form, mods...)
}

// tokens redeems a fresh code of c (signed in as b, PKCE, scope) and
// returns the token response.
func (o *testOP) tokens(t testing.TB, b *browser, c *client.Client, a auth, scope string) reply {
	t.Helper()
	verifier, challenge := pkce()
	code := o.code(t, b, c, challenge, "scope", scope)
	r := o.call(t, pathToken, c, a, with(codeExchange(code, verifier), "redirect_uri", c.RedirectURIs[0]))
	if r.Status != http.StatusOK || r.Str("access_token") == "" {
		t.Fatalf("code exchange for %s: %s", c.Name, r)
	}
	return r
}
