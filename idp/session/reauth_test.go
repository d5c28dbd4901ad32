package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestReauthFresh: the rule of sensitive changes is the age of the
// session's latest authentication, as stored: a sign-in is fresh for
// exactly maxAge, a step-up or re-authentication makes the same session
// (same ID, amr extended) fresh again, and Require sends a stale session
// to the re-authentication page with the form's page to return to.
func TestReauthFresh(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		rule := session.Reauth{MaxAge: 5 * time.Minute, Now: c.Now}
		token, _, err := s.Create(ctx, newAccount(t, db), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		lookup := func() *session.Session {
			t.Helper()
			sess, err := s.Lookup(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			return sess
		}
		c.Advance(5 * time.Minute)
		if !rule.Fresh(lookup()) {
			t.Fatal("a sign-in exactly 5 minutes old is not fresh")
		}
		c.Advance(time.Microsecond)
		stale := lookup()
		if rule.Fresh(stale) || session.Fresh(stale, 5*time.Minute, c.Now()) {
			t.Fatal("a sign-in older than 5 minutes counts as fresh")
		}
		// Using the session does not refresh it: only an authentication does.
		c.Advance(2 * time.Minute)
		if rule.Fresh(lookup()) {
			t.Fatal("activity made the session fresh")
		}

		w := httptest.NewRecorder()
		if rule.Require(w, httptest.NewRequest("POST", "/account/password", nil), stale, "/account/contacts/phone?x=1") {
			t.Fatal("Require let a stale session through")
		}
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account/reauth?next=%2Faccount%2Fcontacts%2Fphone%3Fx%3D1" {
			t.Fatalf("Require answered %d → %q", w.Code, w.Header().Get("Location"))
		}

		if err := s.AddAuthentication(ctx, stale.ID, []string{"otp", "mfa"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		again := lookup()
		if again.ID != stale.ID || strings.Join(again.AMR, " ") != "pwd otp mfa" || !rule.Fresh(again) {
			t.Fatalf("after re-authentication: id %q amr %v auth_time %v (now %v)", again.ID, again.AMR, again.AuthTime, c.Now())
		}
		w = httptest.NewRecorder()
		if !rule.Require(w, httptest.NewRequest("POST", "/", nil), again, "/account") || w.Code != http.StatusOK {
			t.Fatalf("Require refused a fresh session: %d", w.Code)
		}

		// No session, or a zero rule: the default age, never a free pass.
		if rule.Fresh(nil) {
			t.Fatal("no session counts as fresh")
		}
		zero := session.Reauth{Now: c.Now}
		c.Advance(session.DefaultReauthMaxAge + time.Second)
		if zero.Fresh(lookup()) {
			t.Fatal("the zero rule has no age limit")
		}
	})
}
