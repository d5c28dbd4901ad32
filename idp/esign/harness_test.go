package esign_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/esign"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// TestMain (sqldbtest.Main) is in the package's other test file.

// The OpenSSL-made certificate fixtures of keys/cert.
var fixtures = filepath.Join("..", "..", "keys", "cert", "testdata")

// rig is the e-signature pages on a real server over real stores, with
// the real assurance service and activity log, as cmd/gosid wires them.
type rig struct {
	t        *testing.T
	url      string
	accounts *account.Store
	db       *sqldb.DB
	notified *notices
	handler  *esign.Handler
}

// notices records who was told what.
type notices struct {
	mu   sync.Mutex
	sent map[string][]string // account id → kinds
}

func (n *notices) Account(_ context.Context, a *account.Account, kind, _ string, _ map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[a.ID] = append(n.sent[a.ID], kind)
}

func (n *notices) of(id string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent[id]
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.Open(context.Background(), db, mk, keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := cert.OpenTrustDir(filepath.Join(fixtures, "trust"))
	if err != nil {
		t.Fatal(err)
	}
	crls := cert.NewCRLStore(&cert.HTTPFetcher{Client: &http.Client{Timeout: time.Second}, Timeout: time.Second})
	if err := crls.AddFiles(filepath.Join(fixtures, "ca.crl"), filepath.Join(fixtures, "root.crl")); err != nil {
		t.Fatal(err)
	}
	v := &cert.Verifier{Roots: pool, CRLs: crls}
	accounts := account.NewStore(db, km, time.Now)
	sessions := session.NewStore(db, session.Config{IdleTimeout: time.Hour, Lifetime: time.Hour})
	n := &notices{sent: map[string][]string{}}
	h, err := esign.New(esign.Deps{
		Verify: func(ctx context.Context, sig, content []byte) (*cms.Result, error) {
			return cms.Check(ctx, v, sig, content)
		},
		Store:    esign.NewStore(db, km, time.Now),
		Accounts: accounts, Sessions: sessions, Flows: flow.NewStore(db, km, time.Now),
		Verifier: assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, audit.New(db, km, time.Now), km, time.Now),
		Notifier: n, Limiter: ratelimit.New(db, time.Now), Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	// A stand-in for the rest of the site: /account says whose session it is.
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		s, err := sessions.Current(r)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, s.AccountID)
	})
	// Sign a test account in, as the password page would.
	mux.HandleFunc("POST /test/signin", func(w http.ResponseWriter, r *http.Request) {
		if _, err := sessions.Start(w, r, r.PostFormValue("id"), []string{"pwd"}, "127.0.0.1"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(webui.Protect(mux))
	t.Cleanup(srv.Close)
	return &rig{t: t, url: srv.URL, accounts: accounts, db: db, notified: n, handler: h}
}

// user is a browser: cookies kept, redirects not followed.
type user struct {
	rig *rig
	c   *http.Client
}

func (r *rig) user() *user {
	jar, _ := cookiejar.New(nil)
	return &user{rig: r, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	status   int
	location string
	body     string
}

func (u *user) do(method, path string, form url.Values) reply {
	u.rig.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u.rig.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.rig.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

// whoami is the account the browser is signed in to, or "".
func (u *user) whoami() string {
	if r := u.do("GET", "/account", nil); r.status == 200 {
		return r.body
	}
	return ""
}

var challengeRe = regexp.MustCompile(`<textarea id="challenge" readonly rows="3">([^<]+)</textarea>`)

// sign fetches the page's challenge and returns a signature of it made
// with the fixture citizen's key.
func (u *user) sign(path, citizen string) string {
	u.rig.t.Helper()
	p := u.do("GET", path, nil)
	m := challengeRe.FindStringSubmatch(p.body)
	if m == nil {
		u.rig.t.Fatalf("%s: %d, no challenge", path, p.status)
	}
	return signAs(u.rig.t, citizen, []byte(html.UnescapeString(m[1])))
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signAs(t *testing.T, citizen string, content []byte) string {
	t.Helper()
	signer, _, err := cms.LoadSigner(readFixture(t, citizen+".key"), "")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := cert.ParseCertificates(readFixture(t, citizen+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := cert.ParseCertificates(readFixture(t, "intermediate.pem"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.SignDetached(content, signer, leaf[0], inter, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// snilsOf is the fixture citizen's SNILS, canonical.
func snilsOf(t *testing.T, citizen string) string {
	t.Helper()
	c, err := cert.ParseCertificates(readFixture(t, citizen+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	d := cert.SubjectOf(c[0]).SNILS
	return d[0:3] + "-" + d[3:6] + "-" + d[6:9] + " " + d[9:11]
}

func (r *rig) newAccount(family, given, phone string) *account.Account {
	r.t.Helper()
	a, err := r.accounts.Create(context.Background(), account.New{Name: account.Name{Family: family, Given: given},
		Phone: account.Contact{Value: phone, VerifiedAt: time.Now()}})
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}
