package recovery_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/recovery"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/internal/webui"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

const goodPassword = idptest.GoodPassword

// rig is recovery wired as cmd/gosid wires it, with signing in by the
// current password after the code, on the shared harness.
type rig struct {
	*idptest.Env
	t       *testing.T
	srv     *idptest.Server
	devices *login.Devices
	// secondFactor records hand-overs to /login/2fa.
	secondFactor []string
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	e := idptest.NewEnv(t, db, idptest.Options{Session: session.Config{IdleTimeout: time.Hour, Lifetime: time.Hour}})
	r := &rig{Env: e, t: t, devices: &login.Devices{DB: db, Now: e.Clock.Now}}
	h, err := recovery.New(recovery.Deps{Accounts: e.Accounts, Passwords: e.Hasher, Policy: password.DefaultPolicy(),
		Flows: e.Flows, Codes: e.Codes, Sessions: e.Sessions, Notifier: e.Messages, Log: e.Log,
		Forget: r.devices.Forget, Activity: e.Activity,
		SignIn: &recovery.SignIn{Passwords: e.Hasher, Accounts: e.Accounts, MaxFailures: 3, LockFor: 30 * time.Minute,
			Start: func(w http.ResponseWriter, req *http.Request, id string, amr []string, ip string) error {
				_, err := e.Sessions.Start(w, req, id, amr, ip)
				return err
			},
			SecondFactor: func(w http.ResponseWriter, req *http.Request, a *account.Account, next string, amr []string) {
				r.secondFactor = append(r.secondFactor, a.ID)
				webui.Redirect(w, req, "/login/2fa")
			}}})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = e.Serve(t, h.Routes)
	// A stand-in for the rest of the site: /account says whose session it
	// is and how it was authenticated.
	r.srv.Mux.HandleFunc("GET /account", func(w http.ResponseWriter, req *http.Request) {
		s, err := e.Sessions.Current(req)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, s.AccountID+" "+strings.Join(s.AMR, " "))
	})
	return r
}

// lockedAccount is an account whose password sign-in someone locked.
func (r *rig) lockedAccount(phone, mfa string) *account.Account {
	r.t.Helper()
	ctx := context.Background()
	a := r.NewAccount(r.t, account.New{Phone: account.Contact{Value: phone, VerifiedAt: r.Clock.Now()}, PasswordHash: r.Hash(r.t, goodPassword)})
	if mfa != "" {
		if err := r.Accounts.SetMFA(ctx, a.ID, mfa); err != nil {
			r.t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := r.Accounts.RecordFailure(ctx, a.ID, 3, 30*time.Minute); err != nil {
			r.t.Fatal(err)
		}
	}
	if got := r.Account(r.t, a.ID); !got.Locked(r.Clock.Now()) {
		r.t.Fatal("not locked")
	}
	return a
}

// browser answers in tuples, for the sign-in tests.
type browser struct {
	*idptest.Browser
	r *rig
}

func (r *rig) browser() *browser { return &browser{r.srv.Browser(), r} }

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.r.t.Helper()
	a := b.Post(b.r.t, path, form)
	return a.Status, a.Location, a.Body
}

func (b *browser) get(path string) (int, string) {
	b.r.t.Helper()
	a := b.Get(b.r.t, path)
	return a.Status, a.Body
}

// throughCode runs the recovery's first two steps for login, whose code
// goes to phone.
func (b *browser) throughCode(phone string) {
	b.r.t.Helper()
	b.Post(b.r.t, "/recover", url.Values{"login": {phone}}).Expect(b.r.t, 303, "/recover/code")
	b.Post(b.r.t, "/recover/code", url.Values{"code": {b.r.Messages.Code(b.r.t, phone)}}).Expect(b.r.t, 303, "/recover/password")
}
