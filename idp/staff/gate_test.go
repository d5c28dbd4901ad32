package staff_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestStrong(t *testing.T) {
	for amr, want := range map[string]bool{
		"pwd": false, "pwd otp": false, "swk": false, "hwk": false, "sms": false, "user": false,
		"swk user": true, "hwk user": true, "pwd otp mfa": true, "sc mfa": true, "sc": true,
	} {
		if got := staff.Strong(strings.Fields(amr)); got != want {
			t.Errorf("Strong(%s) = %v", amr, got)
		}
	}
}

// gateRig serves /desk to operators and supervisors and /agency to
// officers, behind the gate, over a real session store.
type gateRig struct {
	*rig
	srv *idptest.Server
}

func newGateRig(t *testing.T, db *sqldb.DB) *gateRig {
	r := newRig(t, db)
	g, err := staff.NewGate(r.store, r.env.Sessions, r.env.Accounts, r.env.Log)
	if err != nil {
		t.Fatal(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		m, ok := staff.FromContext(req.Context())
		if !ok {
			http.Error(w, "no member", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "member %s roles %d", m.AccountID, len(m.Grants))
	})
	srv := r.env.Serve(t, func(mux *http.ServeMux) {
		mux.Handle("GET /desk", g.Require(page, staff.RoleOperator, staff.RoleSupervisor))
		mux.Handle("GET /agency", g.Require(page, staff.RoleOfficer))
	})
	ctx := context.Background()
	if err := r.store.AddOrg(ctx, office("mfc-77-001")); err != nil {
		t.Fatal(err)
	}
	return &gateRig{rig: r, srv: srv}
}

// operator is a confirmed account holding the operator role.
func (r *gateRig) operator(t *testing.T) *account.Account {
	t.Helper()
	a := r.confirmed(t)
	if err := r.store.Grant(context.Background(), a.ID, staff.RoleOperator, "mfc-77-001", admin); err != nil {
		t.Fatal(err)
	}
	return a
}

func expectDenied(t *testing.T, a idptest.Answer, reason, link string) {
	t.Helper()
	if a.Status != http.StatusForbidden || a.Header.Get("X-Gosid-Denied") != reason {
		t.Fatalf("want 403 %s, got %d %q: %s", reason, a.Status, a.Header.Get("X-Gosid-Denied"), a.Body)
	}
	if !a.Has("Нет доступа") {
		t.Errorf("denied page without its title: %s", a.Body)
	}
	if link != "" && !a.Has(`href="`+link) {
		t.Errorf("denied page (%s) without the link %s: %s", reason, link, a.Body)
	}
}

func TestGate(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newGateRig(t, db)
		ctx := context.Background()

		t.Run("no session", func(t *testing.T) {
			r.srv.Browser().Get(t, "/desk?account=1").Expect(t, http.StatusFound, "/login?next=%2Fdesk%3Faccount%3D1")
		})
		t.Run("strong sign-ins pass", func(t *testing.T) {
			op := r.operator(t)
			for _, amr := range [][]string{{"swk", "user"}, {"hwk", "user"}, {"pwd", "otp", "mfa"}, {"sc", "mfa"}} {
				b := r.srv.Browser()
				b.SignIn(t, op.ID, amr...)
				a := b.Get(t, "/desk")
				if a.Status != http.StatusOK || !a.Has("member "+op.ID+" roles 1") {
					t.Fatalf("%v: %d %s", amr, a.Status, a.Body)
				}
				// The first staff page gives the session the staff idle timeout.
				if s := b.Session(t); s.IdleTimeout != staff.IdleTimeout {
					t.Fatalf("%v: idle timeout %v", amr, s.IdleTimeout)
				}
			}
		})
		t.Run("not confirmed", func(t *testing.T) {
			op := r.operator(t)
			// The level drops after the grant (evidence disputed).
			if err := r.env.Accounts.SetLevel(ctx, op.ID, op.Level, "standard"); err != nil {
				t.Fatal(err)
			}
			b := r.srv.Browser()
			b.SignIn(t, op.ID, "swk", "user")
			expectDenied(t, b.Get(t, "/desk"), staff.DeniedLevel, "/account/confirm")
		})
		t.Run("password only", func(t *testing.T) {
			op := r.operator(t)
			b := r.srv.Browser()
			b.SignIn(t, op.ID, "pwd")
			expectDenied(t, b.Get(t, "/desk"), staff.DeniedMFA, "/account/security")
			if s := b.Session(t); s.IdleTimeout != 0 {
				t.Fatalf("a denied session got the staff idle timeout: %v", s.IdleTimeout)
			}
			// With a second factor set up, the page offers the step-up.
			if err := r.env.Accounts.SetMFA(ctx, op.ID, account.MFATOTP); err != nil {
				t.Fatal(err)
			}
			expectDenied(t, b.Get(t, "/desk"), staff.DeniedMFA, "/login/2fa?stepup=1&next=%2Fdesk")
			for _, amr := range [][]string{{"pwd", "otp"}, {"swk"}, {"hwk"}} {
				b := r.srv.Browser()
				b.SignIn(t, op.ID, amr...)
				expectDenied(t, b.Get(t, "/desk"), staff.DeniedMFA, "")
			}
		})
		t.Run("no role", func(t *testing.T) {
			b := r.srv.Browser()
			b.SignIn(t, r.confirmed(t).ID, "swk", "user")
			expectDenied(t, b.Get(t, "/desk"), staff.DeniedRole, "")
			// An operator is not an officer.
			b.SignIn(t, r.operator(t).ID, "swk", "user")
			expectDenied(t, b.Get(t, "/agency"), staff.DeniedRole, "")
		})
		t.Run("a citizen keeps their own session", func(t *testing.T) {
			// Not staff: a staff page is closed to them, but the staff idle
			// rule does not end their 30-minute session.
			b := r.srv.Browser()
			b.SignIn(t, r.confirmed(t).ID, "swk", "user")
			r.env.Clock.Advance(20 * time.Minute)
			expectDenied(t, b.Get(t, "/desk"), staff.DeniedRole, "")
			if s := b.Session(t); s.IdleTimeout != 0 {
				t.Fatalf("the citizen's session got the staff idle timeout: %v", s.IdleTimeout)
			}
		})
		t.Run("revoked while signed in", func(t *testing.T) {
			op := r.operator(t)
			b := r.srv.Browser()
			b.SignIn(t, op.ID, "swk", "user")
			b.Get(t, "/desk").Expect(t, http.StatusOK, "")
			if err := r.store.Revoke(ctx, op.ID, staff.RoleOperator, "mfc-77-001", admin); err != nil {
				t.Fatal(err)
			}
			expectDenied(t, b.Get(t, "/desk"), staff.DeniedRole, "")
		})
		t.Run("idle after a staff page", func(t *testing.T) {
			op := r.operator(t)
			b := r.srv.Browser()
			b.SignIn(t, op.ID, "swk", "user")
			b.Get(t, "/desk").Expect(t, http.StatusOK, "")
			r.env.Clock.Advance(14 * time.Minute)
			b.Get(t, "/desk").Expect(t, http.StatusOK, "")
			r.env.Clock.Advance(staff.IdleTimeout + time.Second)
			b.Get(t, "/desk").Expect(t, http.StatusFound, "/login?next=%2Fdesk")
			if _, err := r.env.Sessions.Lookup(ctx, b.Token); err == nil {
				t.Fatal("an idle staff session lives on")
			}
		})
		t.Run("idle before the first staff page", func(t *testing.T) {
			// A session with the citizen's 30-minute timeout, unused for 20
			// minutes, is alive for the account centre but not for the desk.
			op := r.operator(t)
			b := r.srv.Browser()
			b.SignIn(t, op.ID, "swk", "user")
			r.env.Clock.Advance(20 * time.Minute)
			b.Get(t, "/desk").Expect(t, http.StatusFound, "/login?next=%2Fdesk")
			if _, err := r.env.Sessions.Lookup(ctx, b.Token); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("the idle session was not ended: %v", err)
			}
		})
	})
}
