package passkey

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var t0 = idptest.T0

// env is the package wired as cmd/gosid wires it, over one database.
type env struct {
	db       *sqldb.DB
	clock    *sqldbtest.Clock
	accounts *account.Store
	sessions *session.Store
	store    *Store
	svc      *Service
	log      *slog.Logger
	rpID     string
	origin   string
	ie       *idptest.Env
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv builds the service for https://id.gosid.test over db.
func newEnv(t testing.TB, db *sqldb.DB) *env {
	t.Helper()
	return newEnvAt(t, db, "https://id.gosid.test")
}

func newEnvAt(t testing.TB, db *sqldb.DB, public string) *env {
	t.Helper()
	// The shared harness's platform (its stores seal nothing: the key
	// manager's key generation would dominate these tests).
	ie := idptest.NewEnv(t, db, idptest.Options{Start: t0})
	c := ie.Clock
	e := &env{db: db, clock: c, log: ie.Log, accounts: ie.Accounts, sessions: ie.Sessions, ie: ie}
	e.store = NewStore(db, c.Now)
	cfg, err := ConfigFromPublicURL(public)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Now = c.Now
	e.rpID, e.origin = cfg.RPID, cfg.Origins[0]
	if e.svc, err = NewService(cfg, e.store, e.accounts, e.log); err != nil {
		t.Fatal(err)
	}
	return e
}

// newAccount creates a citizen.
func (e *env) newAccount(t testing.TB) *account.Account {
	t.Helper()
	return e.ie.NewAccount(t, account.New{Name: account.Name{Family: "Иванов", Given: "Иван", Middle: "Иванович"},
		Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: t0}})
}

// authenticator returns a software authenticator for the env's RP.
func (e *env) authenticator(t testing.TB) *softAuthenticator {
	return newSoftAuthenticator(t, e.rpID, e.origin)
}

// register adds a's credential to the account through the service.
func (e *env) register(t testing.TB, accountID string, a *softAuthenticator) *Credential {
	t.Helper()
	ctx := context.Background()
	opts, err := e.svc.BeginRegistration(ctx, accountID)
	if err != nil {
		t.Fatalf("begin registration: %v", err)
	}
	c, err := e.svc.FinishRegistration(ctx, accountID, a.create(t, opts), "", "ru")
	if err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	return c
}

func newTestLimiter(e *env) *ratelimit.Limiter { return ratelimit.New(e.db, e.clock.Now) }

// server is the handler on 127.0.0.1:0 with a cookie-keeping client.
type server struct {
	*env
	h      *Handler
	url    string
	client *http.Client
}

func newServer(t testing.TB, e *env, mut func(*Deps)) *server {
	t.Helper()
	s := &server{env: e}
	d := Deps{Service: e.svc, Accounts: e.accounts, Sessions: e.sessions, Log: e.log, Now: e.clock.Now,
		Activity: e.ie.Activity, StoreIn: func(q sqldb.Runner) Storage { return e.store.With(q) }}
	if mut != nil {
		mut(&d)
	}
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	mux := http.NewServeMux()
	h.Routes(mux)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL
	jar, _ := cookiejar.New(nil)
	s.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s
}

// signIn gives the client a session of accountID.
func (s *server) signIn(t testing.TB, accountID string) {
	t.Helper()
	token, _, err := s.sessions.Create(context.Background(), accountID, []string{"pwd"}, time.Time{}, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := http.NewRequest("GET", s.url, nil)
	s.client.Jar.SetCookies(u.URL, []*http.Cookie{{Name: session.DefaultCookieName, Value: token, Path: "/"}})
}

func (s *server) post(t testing.TB, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return s.do(t, req)
}

func (s *server) get(t testing.TB, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, req)
}

func (s *server) do(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}
