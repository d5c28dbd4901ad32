package esign_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/idptest"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSignInNeedsVerifiedSNILS: a certificate signs in only to the
// account whose SNILS is verified; a merely claimed SNILS leads to
// registration and changes nothing on the claiming account.
func TestSignInNeedsVerifiedSNILS(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		snils := idptest.SNILSOf(t, "citizen256")
		claimant := r.newAccount("Иванов", "Иван", "+79000000101")
		if err := r.accounts.UpdateDocuments(ctx, claimant.ID, account.Documents{SNILS: snils}); err != nil {
			t.Fatal(err)
		}
		holder := r.user()
		p := holder.do("POST", "/login/esign", url.Values{"signature": {holder.sign("/login/esign", "citizen256")}})
		if p.status != 404 || !strings.Contains(p.body, `href="/register?from=esign"`) || holder.whoami() != "" {
			t.Fatalf("claimed SNILS: %d, signed in as %q, want 404 with registration", p.status, holder.whoami())
		}
		if a, _ := r.accounts.Get(ctx, claimant.ID); a.Level != assurance.Simplified || a.SNILS != snils || a.SNILSVerified() {
			t.Fatalf("the claimant's account changed: level %s snils %q verified %v", a.Level, a.SNILS, a.SNILSVerified())
		}
		var bound int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM account_certificates`).Scan(&bound); err != nil || bound != 0 {
			t.Fatalf("%d certificates bound (%v)", bound, err)
		}

		// Once the SNILS is verified (here by an earlier proof), the
		// certificate signs in to that account and confirms it.
		owner := r.newAccount("Иванов", "Иван", "+79000000102")
		if _, err := r.accounts.VerifySNILS(ctx, owner.ID, snils, "registry"); err != nil {
			t.Fatal(err)
		}
		p = holder.do("POST", "/login/esign", url.Values{"signature": {holder.sign("/login/esign", "citizen256")}})
		if p.status != 303 || holder.whoami() != owner.ID {
			t.Fatalf("verified SNILS: %d → %q, signed in as %q, want %s", p.status, p.location, holder.whoami(), owner.ID)
		}
		if a, _ := r.accounts.Get(ctx, owner.ID); a.Level != assurance.Confirmed {
			t.Fatalf("a qualified certificate with the account's name left it %s", a.Level)
		}
	})
}

// TestSignInReturnAddress: after an e-signature sign-in the browser goes
// to the page it came from, and only to a page of ours: every form a
// browser would read as another site's address (scheme-relative, with a
// tab or a backslash, absolute) goes to the account centre instead.
func TestSignInReturnAddress(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		owner := r.holderAccount("+79000000141")
		for next, want := range map[string]string{
			"/account/details?tab=1": "/account/details?tab=1",
			"/\t/evil.example/":      "/account",
			"//evil.example/":        "/account",
			"/\\evil.example/":       "/account",
			"https://evil.example/":  "/account",
			"":                       "/account",
		} {
			holder := r.user()
			path := "/login/esign?next=" + url.QueryEscape(next)
			p := holder.do("POST", "/login/esign", url.Values{"signature": {holder.sign(path, "citizen256")}})
			if p.status != 303 || p.location != want || holder.whoami() != owner.ID {
				t.Errorf("next %q: %d → %q, want 303 → %q signed in", next, p.status, p.location, want)
			}
		}
	})
}

// TestSignInChallengeOutage: while the challenges cannot be read, a
// signed challenge is not called spent — nothing is judged or recorded,
// the answer is 503 — and the same signature signs in afterwards.
func TestSignInChallengeOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		owner := r.holderAccount("+79000000131")
		holder := r.user()
		sig := holder.sign("/login/esign", "citizen256")
		var p reply
		sqldbtest.WithoutTable(t, db, "flows", func() { p = holder.do("POST", "/login/esign", url.Values{"signature": {sig}}) })
		if p.status != 503 || holder.whoami() != "" {
			t.Fatalf("a signature during the outage: %d", p.status)
		}
		if p := holder.do("POST", "/login/esign", url.Values{"signature": {sig}}); p.status != 303 || holder.whoami() != owner.ID {
			t.Fatalf("the same signature after the outage: %d → %q", p.status, p.location)
		}
	})
}

// TestSignInStoreOutage: a database that fails after the signature was
// checked (here every commit's answer lost: the certificate's binding)
// answers 503 with Retry-After — no 409 «conflict», no 500 — and keeps
// the challenge: the browser's retry of the same form signs in, with no
// new signature, and the challenge is spent then.
func TestSignInStoreOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		owner := r.holderAccount("+79000000132")
		holder := r.user()
		sig := holder.sign("/login/esign", "citizen256")
		db.SetCommitFault(func() error { return errors.New("injected: the commit's answer was lost") })
		a := holder.b.Form(t, "POST", "/login/esign", url.Values{"signature": {sig}})
		db.SetCommitFault(nil)
		if a.Status != 503 || a.Header.Get("Retry-After") == "" || holder.whoami() != "" {
			t.Fatalf("a signature while the database fails: %d, Retry-After %q", a.Status, a.Header.Get("Retry-After"))
		}
		// The browser sends the same form again: the challenge was kept,
		// the same signature signs in.
		cookie := holder.b.Cookie(flow.CookieName("esign"))
		if p := holder.do("POST", "/login/esign", url.Values{"signature": {sig}}); p.status != 303 || holder.whoami() != owner.ID {
			t.Fatalf("the same signature after the outage: %d → %q", p.status, p.location)
		}
		// Once signed in, it is spent: sent again with its challenge's
		// cookie, it is refused.
		again := r.user()
		again.b.SetCookie(flow.CookieName("esign"), cookie)
		if p := again.do("POST", "/login/esign", url.Values{"signature": {sig}}); p.status != 422 || !strings.Contains(p.body, "Запрос устарел") || again.whoami() != "" {
			t.Fatalf("the signature replayed after the sign-in: %d\n%.1500s", p.status, p.body)
		}
	})
}

// TestSignInSignatureOnce: the challenge is spent in the session's
// transaction, so the same signed challenge sent from two browsers at
// once (its cookie copied) signs in once; the other is told the request
// is spent. On both dialects, five rounds.
func TestSignInSignatureOnce(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		owner := r.holderAccount("+79000000133")
		for round := range 5 {
			first := r.user()
			sig := first.sign("/login/esign", "citizen256")
			second := r.user()
			second.b.SetCookie(flow.CookieName("esign"), first.b.Cookie(flow.CookieName("esign")))
			replies := make([]reply, 2)
			var wg sync.WaitGroup
			for i, u := range []*user{first, second} {
				wg.Go(func() { replies[i] = u.do("POST", "/login/esign", url.Values{"signature": {sig}}) })
			}
			wg.Wait()
			in := 0
			for i, u := range []*user{first, second} {
				switch {
				case replies[i].status == 303 && u.whoami() == owner.ID:
					in++
				case replies[i].status == 422 && strings.Contains(replies[i].body, "Запрос устарел") && u.whoami() == "":
				default:
					t.Errorf("round %d, browser %d: %d → %q", round, i, replies[i].status, replies[i].location)
				}
			}
			if in != 1 {
				t.Fatalf("round %d: one signed challenge signed in %d browsers, want 1", round, in)
			}
		}
	})
}

// TestConfirmNeedsTheName: a qualified certificate confirms an account
// only when issued to its surname and given name (normalised).
func TestConfirmNeedsTheName(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		snils := idptest.SNILSOf(t, "citizen256")
		for _, tc := range []struct {
			family, given string
			confirmed     bool
		}{
			{"ИВАНОВ", "иван", true},
			{"Иванов", "Пётр", false},
			{"Петров", "Иван", false},
		} {
			t.Run(tc.family+" "+tc.given, func(t *testing.T) {
				_, _ = db.Exec(ctx, `DELETE FROM account_certificates`)
				_, _ = db.Exec(ctx, `DELETE FROM accounts`)
				a := r.newAccount(tc.family, tc.given, "+79000000111")
				if _, err := r.accounts.VerifySNILS(ctx, a.ID, snils, "registry"); err != nil {
					t.Fatal(err)
				}
				u := r.user()
				if p := u.do("POST", "/login/esign", url.Values{"signature": {u.sign("/login/esign", "citizen256")}}); p.status != 303 {
					t.Fatalf("sign-in: %d", p.status)
				}
				if got, _ := r.accounts.Get(ctx, a.ID); (got.Level == assurance.Confirmed) != tc.confirmed {
					t.Fatalf("level %s, want confirmed=%v", got.Level, tc.confirmed)
				}
			})
		}
	})
}

// TestBindProvesSNILS: binding from the account centre needs the
// account's verified SNILS or, without one, the certificate's name; it
// verifies the SNILS and drops other accounts' claims (their owners told).
func TestBindProvesSNILS(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		snils := idptest.SNILSOf(t, "citizen256")
		squatter := r.newAccount("Захватов", "Пётр", "+79000000121")
		if err := r.accounts.UpdateDocuments(ctx, squatter.ID, account.Documents{SNILS: snils}); err != nil {
			t.Fatal(err)
		}
		// The squatter, even with a signature by the holder's key, cannot
		// bind a certificate issued to another name.
		s := r.user()
		s.do("POST", "/test/signin", url.Values{"id": {squatter.ID}})
		if p := s.do("POST", "/account/certificates", url.Values{"signature": {s.sign("/account/certificates", "citizen256")}}); p.status != 409 {
			t.Fatalf("binding another name's certificate: %d", p.status)
		}
		holder := r.newAccount("Иванов", "Иван", "+79000000122")
		h := r.user()
		h.do("POST", "/test/signin", url.Values{"id": {holder.ID}})
		if p := h.do("POST", "/account/certificates", url.Values{"signature": {h.sign("/account/certificates", "citizen256")}}); p.status != 200 {
			t.Fatalf("binding: %d", p.status)
		}
		if a, _ := r.accounts.Get(ctx, holder.ID); !a.SNILSVerified() || a.SNILS != snils || a.Level != assurance.Confirmed {
			t.Fatalf("holder after binding: snils %q verified %v level %s", a.SNILS, a.SNILSVerified(), a.Level)
		}
		if a, _ := r.accounts.Get(ctx, squatter.ID); a.SNILS != "" {
			t.Fatal("the squatter kept the claim")
		}
		if got := r.notified.Notices(squatter.ID); !slices.Contains(got, notice.KindNoticeSNILSClaimDropped) {
			t.Fatalf("the squatter was told %v", got)
		}
		// Another certificate (another SNILS) cannot be bound next to the
		// verified one.
		if p := h.do("POST", "/account/certificates", url.Values{"signature": {h.sign("/account/certificates", "citizen512")}}); p.status != 409 {
			t.Fatalf("binding a certificate of another SNILS: %d", p.status)
		}
	})
}

// TestRegistrationProof: the proof offered at sign-in waits server-side
// (Pending shows it, nothing in the URL) and Attach verifies the SNILS on
// the new account, binds the certificate and confirms it, once.
func TestRegistrationProof(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		h := r.user()
		if p := h.do("POST", "/login/esign", url.Values{"signature": {h.sign("/login/esign", "citizen512")}}); p.status != 404 {
			t.Fatalf("unknown SNILS: %d", p.status)
		}
		// The registration pages are another package: call Pending and
		// Attach with the browser's cookies, as they would.
		handler := r.handler
		u, _ := url.Parse(r.url)
		req := httptest.NewRequest("GET", r.url+"/register?from=esign", nil)
		for _, c := range h.b.Client.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		name, snils, ok := handler.Pending(req)
		if !ok || name.Family != "Сидорова" || name.Given != "Анна" || snils != idptest.SNILSOf(t, "citizen512") {
			t.Fatalf("Pending: %+v %q %v", name, snils, ok)
		}
		a := r.newAccount("Сидорова", "Анна", "+79000000131")
		if err := handler.Attach(ctx, httptest.NewRecorder(), req, a.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := r.accounts.Get(ctx, a.ID)
		if !got.SNILSVerified() || got.SNILS != snils || got.Level != assurance.Confirmed {
			t.Fatalf("after Attach: snils %q verified %v level %s", got.SNILS, got.SNILSVerified(), got.Level)
		}
		if err := handler.Attach(ctx, httptest.NewRecorder(), req, a.ID); err == nil {
			t.Fatal("a proof attached twice")
		}
	})
}
