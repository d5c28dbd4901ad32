package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
)

// The relying-party harness: the real Provider over real stores (accounts,
// clients through the cache, sessions, signing keys under a random master
// key) on a sqldbtest database, served on 127.0.0.1 behind webui.Protect as
// `gosid serve` does, with the issuer bound to the server's URL. A test
// signs a browser in through /test/sign-in (session.Store.Start, the
// cookie exactly as the sign-in pages set it) and drives the protocol with
// plain HTTP, as a relying party and a browser would.

// TestMain (sqldbtest.Main) is in harness_test.go.

type rpOP struct {
	t        *testing.T
	URL      string
	P        *Provider
	DB       *sqldb.DB
	Clock    *sqldbtest.Clock
	Clients  *client.Store // another process's store: `gosid clients …`
	Accounts *account.Store
	Sessions *session.Store
	// Staff grants the roles of the gosid_roles claim.
	Staff *staff.Store
	// FailAccounts makes every account read fail as a database outage
	// would.
	FailAccounts *atomic.Bool
}

// in returns the harness reporting to t, for a subtest.
func (o *rpOP) in(t *testing.T) *rpOP {
	c := *o
	c.t = t
	return &c
}

// rpAccounts is the account store with an outage switch.
type rpAccounts struct {
	*account.Store
	fail *atomic.Bool
}

var errOutage = errors.New("connection refused (simulated outage)")

func (a rpAccounts) Get(ctx context.Context, id string) (*account.Account, error) {
	if a.fail.Load() {
		return nil, errOutage
	}
	return a.Store.Get(ctx, id)
}

// newRPOP starts the provider over db; mod may change the configuration.
func newRPOP(t *testing.T, db *sqldb.DB, mod func(*Config)) *rpOP {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
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
	o := &rpOP{t: t, URL: "http://" + ln.Addr().String(), DB: db, Clock: sqldbtest.NewClock(time.Now()), FailAccounts: new(atomic.Bool)}
	o.Clients = client.NewStore(db, o.Clock.Now)
	o.Accounts = account.NewStore(db, km, o.Clock.Now)
	o.Sessions = session.NewStore(db, session.Config{Now: o.Clock.Now})
	o.Staff = staff.NewStore(db, account.NewActivity(db, o.Accounts, audit.New(db, km, o.Clock.Now)), o.Clock.Now)
	cfg := Config{Issuer: o.URL}
	_, _ = rand.Read(cfg.CryptoKey[:])
	if mod != nil {
		mod(&cfg)
	}
	o.P, err = New(cfg, Deps{DB: db, Clients: client.NewCache(client.NewStore(db, o.Clock.Now), 0), Accounts: rpAccounts{o.Accounts, o.FailAccounts},
		Signer: km, Sessions: o.Sessions, Roles: o.Staff, Log: log, Now: o.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	o.P.Routes(mux)
	mux.Handle("GET /static/", webui.Static())
	mux.HandleFunc("POST /test/sign-in", func(w http.ResponseWriter, r *http.Request) {
		if _, err := o.Sessions.Start(w, r, r.PostFormValue("account"), []string{"pwd"}, "127.0.0.1"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewUnstartedServer(webui.Protect(mux))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return o
}

// citizen registers an account with every kind of personal data.
func (o *rpOP) citizen() *account.Account {
	o.t.Helper()
	n, _ := rand.Int(rand.Reader, big.NewInt(1e7))
	a, err := o.Accounts.Create(context.Background(), account.New{
		Name:  account.Name{Family: "Иванов", Given: "Иван", Middle: "Иванович"},
		Phone: account.Contact{Value: fmt.Sprintf("+7912%07d", n), VerifiedAt: o.Clock.Now()},
		Email: account.Contact{Value: fmt.Sprintf("ivan.%07d@example.ru", n), VerifiedAt: o.Clock.Now()},
		SNILS: validate.GenerateSNILS(2000000 + int(n.Int64())), BirthDate: time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		o.t.Fatal(err)
	}
	return a
}

const rpRedirect = "http://127.0.0.1:9/cb"
const rpLoggedOut = "http://127.0.0.1:9/bye"

// client registers a confidential client (client_secret_basic, code and
// refresh grants, first party so that no consent is asked) changed by mod.
func (o *rpOP) client(mod func(*client.Client)) (*client.Client, string) {
	o.t.Helper()
	c := client.Client{Name: "Сайт «Тест»", AuthMethod: client.AuthSecretBasic, RedirectURIs: []string{rpRedirect},
		PostLogoutRedirectURIs: []string{rpLoggedOut}, FirstParty: true,
		Scopes:     []string{"openid", "fullname", "birthdate", "mobile", "email", "snils", "offline_access"},
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}}
	if mod != nil {
		mod(&c)
	}
	created, secret, err := o.Clients.Create(context.Background(), c)
	if err != nil {
		o.t.Fatal(err)
	}
	return created, secret
}

// rpBrowser keeps cookies and does not follow redirects.
type rpBrowser struct {
	o *rpOP
	c *http.Client
}

func (o *rpOP) browser() *rpBrowser {
	jar, _ := cookiejar.New(nil)
	return &rpBrowser{o: o, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type rpPage struct {
	Status   int
	Header   http.Header
	Location string
	Body     string
}

func (b *rpBrowser) do(method, ref string, form url.Values, header map[string]string) rpPage {
	b.o.t.Helper()
	u := ref
	if strings.HasPrefix(ref, "/") {
		u = b.o.URL + ref
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.o.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.o.t.Fatalf("%s %s: %v", method, ref, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return rpPage{Status: resp.StatusCode, Header: resp.Header, Location: resp.Header.Get("Location"), Body: string(raw)}
}

func (b *rpBrowser) get(ref string) rpPage { b.o.t.Helper(); return b.do("GET", ref, nil, nil) }
func (b *rpBrowser) post(ref string, form url.Values) rpPage {
	b.o.t.Helper()
	return b.do("POST", ref, form, nil)
}

// signIn gives the browser a session of the account.
func (b *rpBrowser) signIn(a *account.Account) {
	b.o.t.Helper()
	if p := b.post("/test/sign-in", url.Values{"account": {a.ID}}); p.Status != 200 {
		b.o.t.Fatalf("sign-in: %d %s", p.Status, p.Body)
	}
}

// authorize sends the browser to /authorize and through Gosid's own
// redirects (consent allowed) until Gosid answers the client: the last
// page, a redirect to the client or a form_post page.
func (b *rpBrowser) authorize(q url.Values) rpPage {
	b.o.t.Helper()
	p := b.get("/authorize?" + q.Encode())
	for range 6 {
		if p.Status/100 != 3 || !strings.HasPrefix(p.Location, "/") {
			return p
		}
		if strings.HasPrefix(p.Location, "/authorize/consent") {
			id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
			p = b.post("/authorize/consent", url.Values{"id": {id}, "decision": {"allow"}})
			continue
		}
		p = b.get(p.Location)
	}
	return p
}

// callback is the query of a redirect to the client's redirect URI.
func (o *rpOP) callback(p rpPage) url.Values {
	o.t.Helper()
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, rpRedirect+"?") {
		o.t.Fatalf("want a redirect to %s, got %d %q\n%.400s", rpRedirect, p.Status, p.Location, p.Body)
	}
	u, _ := url.Parse(p.Location)
	return u.Query()
}

func pkcePair() (verifier, challenge string) {
	verifier, _ = bearer.New()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// codeRequest is an authorization request of the client with PKCE; the
// verifier is returned.
func codeRequest(c *client.Client, scope string) (url.Values, string) {
	verifier, challenge := pkcePair()
	return url.Values{"client_id": {c.ID}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {scope},
		"state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}, verifier
}

type rpTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Status       int    `json:"-"`
}

func (o *rpOP) token(clientID, secret string, form url.Values) rpTokens {
	o.t.Helper()
	req, _ := http.NewRequest("POST", o.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr rpTokens
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	tr.Status = resp.StatusCode
	return tr
}

// exchange redeems the code of an authorization response.
func (o *rpOP) exchange(c *client.Client, secret string, cb url.Values, verifier string) rpTokens {
	o.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {rpRedirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	tr := o.token(c.ID, secret, form)
	if tr.Status != 200 || tr.AccessToken == "" {
		o.t.Fatalf("code exchange: %d %+v", tr.Status, tr)
	}
	return tr
}

// signedInTokens signs a new browser in as a and runs a code flow of c.
func (o *rpOP) signedInTokens(a *account.Account, c *client.Client, secret, scope string) (*rpBrowser, rpTokens) {
	o.t.Helper()
	b := o.browser()
	b.signIn(a)
	q, verifier := codeRequest(c, scope)
	return b, o.exchange(c, secret, o.callback(b.authorize(q)), verifier)
}

// jwtClaims decodes a JWT's payload (the signature is checked elsewhere).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// userinfo calls userinfo with the token in the Authorization header.
func (o *rpOP) userinfo(token string) rpPage {
	o.t.Helper()
	return o.browser().do("GET", "/userinfo", nil, map[string]string{"Authorization": "Bearer " + token})
}

// introspect asks whether the token is active, as its client.
func (o *rpOP) introspect(clientID, secret, token string) map[string]any {
	o.t.Helper()
	req, _ := http.NewRequest("POST", o.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}
