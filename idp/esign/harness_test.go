package esign_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/idptest"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/esign"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
)

// TestMain (sqldbtest.Main) is in the package's other test file.

// rig is the e-signature pages on a real server over real stores, with
// the real assurance service and activity log, as cmd/gosid wires them.
type rig struct {
	t        *testing.T
	env      *idptest.Env
	srv      *idptest.Server
	url      string
	accounts *account.Store
	db       *sqldb.DB
	notified *idptest.Messages
	handler  *esign.Handler
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	// The clock starts at the real time: the fixtures' certificates are
	// valid now, and signatures carry the real signing time.
	e := idptest.NewEnv(t, db, idptest.Options{Keys: true, Start: time.Now(), Session: session.Config{IdleTimeout: time.Hour, Lifetime: time.Hour}})
	h, err := esign.New(esign.Deps{
		Verify:   idptest.CertVerify(t),
		Store:    esign.NewStore(db, e.Keys, e.Clock.Now),
		Accounts: e.Accounts, Sessions: idptest.Sessions{Store: e.Sessions}, Flows: e.Flows,
		Verifier: assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return e.Accounts.With(q) }, e.Audit, e.Keys, e.Clock.Now),
		Notifier: e.Messages, Limiter: e.Limiter, Log: e.Log, Now: e.Clock.Now, Activity: e.Activity,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := e.Serve(t, h.Routes)
	// A stand-in for the rest of the site: /account says whose session it is.
	srv.Mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		s, err := e.Sessions.Current(r)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, s.AccountID)
	})
	// Sign a test account in, as the password page would.
	srv.Mux.HandleFunc("POST /test/signin", func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.Sessions.Start(w, r, r.PostFormValue("id"), []string{"pwd"}, "127.0.0.1"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return &rig{t: t, env: e, srv: srv, url: srv.URL, accounts: e.Accounts, db: db, notified: e.Messages, handler: h}
}

// user is a browser: cookies kept, redirects not followed.
type user struct {
	rig *rig
	b   *idptest.Browser
}

func (r *rig) user() *user { return &user{rig: r, b: r.srv.Browser()} }

type reply struct {
	status   int
	location string
	body     string
}

func (u *user) do(method, path string, form url.Values) reply {
	u.rig.t.Helper()
	a := u.b.Form(u.rig.t, method, path, form)
	return reply{a.Status, a.Location, a.Body}
}

// whoami is the account the browser is signed in to, or "".
func (u *user) whoami() string {
	if r := u.do("GET", "/account", nil); r.status == 200 {
		return r.body
	}
	return ""
}

// sign fetches the page's challenge and returns a signature of it made
// with the fixture citizen's key.
func (u *user) sign(path, citizen string) string {
	u.rig.t.Helper()
	return u.b.SignPage(u.rig.t, path, citizen)
}

// holderAccount is Иванов Иван's account whose SNILS a registry verified:
// the one the test certificate "citizen256" signs in to.
func (r *rig) holderAccount(phone string) *account.Account {
	r.t.Helper()
	a := r.newAccount("Иванов", "Иван", phone)
	if _, err := r.accounts.VerifySNILS(context.Background(), a.ID, idptest.SNILSOf(r.t, "citizen256"), "registry"); err != nil {
		r.t.Fatal(err)
	}
	return a
}

func (r *rig) newAccount(family, given, phone string) *account.Account {
	r.t.Helper()
	a, err := r.accounts.Create(context.Background(), account.New{Name: account.Name{Family: family, Given: given},
		Phone: account.Contact{Value: phone, VerifiedAt: r.env.Clock.Now()}})
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}
