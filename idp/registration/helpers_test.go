package registration_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/registration"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

const goodPassword = idptest.GoodPassword

// rig is registration wired as cmd/gosid wires it, on the shared harness.
type rig struct {
	*idptest.Env
	srv *idptest.Server
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	e := idptest.NewEnv(t, db, idptest.Options{})
	h, err := registration.New(registration.Deps{Accounts: e.Accounts, Activity: e.Activity, Passwords: e.Hasher, Policy: password.DefaultPolicy(),
		Flows: e.Flows, Codes: e.Codes, Sessions: e.Sessions, Log: e.Log, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Env: e, srv: e.Serve(t, h.Routes)}
	// A stand-in for the rest of the site: whose session the browser has
	// and how it was authenticated.
	r.srv.Mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, req *http.Request) {
		s, err := e.Sessions.Current(req)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, s.AccountID+" "+strings.Join(s.AMR, " "))
	})
	return r
}

// profile is a complete, valid profile form.
func profile() url.Values {
	return url.Values{"family_name": {"Петрова"}, "given_name": {"Анна"}, "middle_name": {"Сергеевна"},
		"password": {goodPassword}, "password_confirm": {goodPassword}, "consent": {"yes"}}
}

// throughCode takes b through the contact and code steps for a phone (or,
// with by "email", an e-mail).
func (r *rig) throughCode(t *testing.T, b *idptest.Browser, by, contact string) {
	t.Helper()
	b.Post(t, "/register", url.Values{"by": {by}, by: {contact}}).Expect(t, 303, "/register/code")
	b.Post(t, "/register/code", url.Values{"code": {r.Messages.Code(t, contact)}}).Expect(t, 303, "/register/profile")
}

// taken reports whether an account has the verified contact.
func (r *rig) taken(t *testing.T, kind, value string) bool {
	t.Helper()
	ok, err := r.Accounts.Taken(t.Context(), kind, value)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
