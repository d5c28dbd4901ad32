package login_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// A sign-out whose revocation of the session's tokens fails (the database
// gone for a moment) answers 503 with Retry-After and leaves the session
// and its cookie as they were: the retry revokes and ends it. Before, the
// session ended first and the failure was only logged, so the session's
// refresh tokens stayed live and its sites were never told.
func TestSignOutRetriedAfterAFailure(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.newAccount("+79160000101")
		b := r.srv.Browser()
		b.SignIn(t, a.ID)
		sid := b.Session(t).ID

		r.faults.setSignOut(true)
		ans := b.Post(t, "/logout", url.Values{})
		if ans.Status != http.StatusServiceUnavailable || ans.Header.Get("Retry-After") == "" {
			t.Fatalf("sign-out with the revocation failing: %d, Retry-After %q; want 503 with Retry-After", ans.Status, ans.Header.Get("Retry-After"))
		}
		if b.Cookie(session.DefaultCookieName) == "" {
			t.Fatal("the failed sign-out expired the session's cookie")
		}
		if _, err := r.env.Sessions.Lookup(context.Background(), b.Token); err != nil {
			t.Fatalf("the failed sign-out ended the session: %v", err)
		}
		if len(r.ended) != 0 {
			t.Fatalf("told of %d sign-outs that failed", len(r.ended))
		}

		r.faults.setSignOut(false)
		ans = b.Post(t, "/logout", url.Values{})
		if ans.Status != http.StatusSeeOther {
			t.Fatalf("retried sign-out: %d, want 303", ans.Status)
		}
		if len(r.ended) != 1 || r.ended[0] != sid {
			t.Fatalf("sign-outs told: %q, want the session's once", r.ended)
		}
		if _, err := r.env.Sessions.Lookup(context.Background(), b.Token); err == nil {
			t.Fatal("the session lives on after the sign-out")
		}
		// Signed out already: nothing more to tell.
		if ans := b.Post(t, "/logout", url.Values{}); ans.Status != http.StatusSeeOther || len(r.ended) != 1 {
			t.Fatalf("a second sign-out: %d, told %d times", ans.Status, len(r.ended))
		}
	})
}
