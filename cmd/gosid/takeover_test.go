package main

import (
	"context"
	"html"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestClaimedSNILSIsNoKey is the account takeover of issue 11, point 1:
// an attacker types the holder's SNILS into their own account; the
// holder's certificate must then neither sign in to it, nor bind to it,
// nor confirm it. The holder gets a registration carrying the
// certificate's proof; the attacker's account keeps everything but the
// claim, and its owner is told.
func TestClaimedSNILSIsNoKey(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		idp, _, parts := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
			o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLFiles: []string{filepath.Join(certFixtures, "ca.crl"), filepath.Join(certFixtures, "root.crl")}, CRLTimeout: time.Second}
		})
		snils := fixtureSNILS(t, "citizen256")
		bound := func(accountID string) int {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM account_certificates WHERE account_id = $1`, accountID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// The attacker (named like the holder, to make it harder) claims
		// the holder's SNILS: accepted as a claim, nothing more.
		attacker := newBrowser(t, idp)
		attacker.register("phone", "+79121110061", "+79121110061", "Иванов", "Иван")
		attacker.post("/account/details", url.Values{"snils": {snils}}).expectRedirect(t, "/account")
		a, err := parts.Accounts.FindByLogin(ctx, account.Phone, "+79121110061")
		if err != nil || a.SNILS == "" || a.SNILSVerified() {
			t.Fatalf("attacker's claim: %v %v", a, err)
		}
		// A second claim of the same SNILS is no conflict: no 409, no
		// "already used by another account" (that would enumerate SNILS and
		// let a squatter block the holder).
		other := newBrowser(t, idp)
		other.register("email", "other@example.ru", "other@example.ru", "Петров", "Пётр")
		if p := other.post("/account/details", url.Values{"snils": {snils}}); p.Status/100 != 3 {
			t.Fatalf("a second claim of one SNILS: %d %q", p.Status, firstError(p.Body))
		}

		// The holder signs in with the certificate: no session in the
		// attacker's account, nothing bound to it, its level unchanged.
		holder := newBrowser(t, idp)
		ch := esignChallenge(t, holder, "/login/esign")
		p := holder.post("/login/esign", url.Values{"signature": {string(signAs(t, "citizen256", ch))}})
		link := regexp.MustCompile(`href="(/register\?[^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 404 || link == nil {
			t.Fatalf("certificate of a claimed SNILS: %d, want 404 with registration\n%.1500s", p.Status, p.Body)
		}
		if p := holder.get("/account"); p.Status/100 != 3 {
			t.Fatal("the holder was signed in to someone's account")
		}
		if n := bound(a.ID); n != 0 {
			t.Fatalf("the holder's certificate was bound to the attacker's account")
		}
		if got, _ := parts.Accounts.Get(ctx, a.ID); got.Level != assurance.Simplified {
			t.Fatalf("the attacker's account rose to %s", got.Level)
		}

		// The holder registers with the certificate's proof.
		holder.get(html.UnescapeString(link[1]))
		holder.post("/register", url.Values{"by": {"phone"}, "phone": {"+79121110062"}}).expectRedirect(t, "/register/code")
		holder.post("/register/code", url.Values{"code": {holder.latestCode("+79121110062", "code.register")}}).expectRedirect(t, "/register/profile")
		holder.post("/register/profile", url.Values{"family_name": {"Иванов"}, "given_name": {"Иван"}, "middle_name": {"Иванович"},
			"password": {goodPassword}, "password_confirm": {goodPassword}, "consent": {"yes"}}).expectRedirect(t, "/account/details")
		h, err := parts.Accounts.FindByLogin(ctx, account.SNILS, formatSNILSForTest(t, snils))
		if err != nil || h.ID == a.ID || !h.SNILSVerified() || h.Level != assurance.Confirmed || bound(h.ID) != 1 {
			t.Fatalf("holder's account: %v, %v", h, err)
		}

		// The attacker's account: everything but the claim, and a notice.
		after, _ := parts.Accounts.Get(ctx, a.ID)
		if after.SNILS != "" || after.Level != assurance.Simplified || after.Name != a.Name || after.Phone != a.Phone {
			t.Fatalf("attacker's account after the proof: snils %q level %s", after.SNILS, after.Level)
		}
		if msgs := attacker.messages("+79121110061"); len(msgs) == 0 || msgs[0].Kind != "notice.snils_claim_dropped" {
			t.Fatalf("the claimant was not told: %+v", msgs)
		}
		if msgs := other.messages("other@example.ru"); len(msgs) == 0 || msgs[0].Kind != "notice.snils_claim_dropped" {
			t.Fatalf("the second claimant was not told: %+v", msgs)
		}
		entries, err := parts.Activity.List(ctx, a.ID, time.Time{}, 10)
		if err != nil || len(entries) == 0 || entries[0].Action != audit.ActionSNILSClaimDropped {
			t.Fatalf("the attacker's activity log: %+v %v", entries, err)
		}
		// From now on the certificate signs the holder in to their own account.
		again := newBrowser(t, idp)
		ch = esignChallenge(t, again, "/login/esign")
		again.post("/login/esign", url.Values{"signature": {string(signAs(t, "citizen256", ch))}}).expectRedirect(t, "/account")
		if page := again.get("/account"); !strings.Contains(page.Body, "Иванов Иван Иванович") {
			t.Fatalf("the certificate signed in elsewhere than the holder's account")
		}
	})
}

// TestBindVerifiesClaimedSNILS: a holder who already has an account with
// the SNILS typed binds the certificate in the account centre; that
// proves the SNILS there and drops another account's claim. A certificate
// issued to another name is refused.
func TestBindVerifiesClaimedSNILS(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		idp, _, parts := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
			o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLFiles: []string{filepath.Join(certFixtures, "ca.crl"), filepath.Join(certFixtures, "root.crl")}, CRLTimeout: time.Second}
		})
		snils := fixtureSNILS(t, "citizen256")
		squatter := newBrowser(t, idp)
		squatter.register("phone", "+79121110071", "+79121110071", "Захватов", "Пётр")
		squatter.post("/account/details", url.Values{"snils": {snils}}).expectRedirect(t, "/account")
		// The squatter cannot bind the holder's certificate even holding a
		// signature made with it: the name is not the account's.
		ch := esignChallenge(t, squatter, "/account/certificates")
		if p := squatter.post("/account/certificates", url.Values{"signature": {string(signAs(t, "citizen256", ch))}}); p.Status != 409 || !strings.Contains(p.Body, "другие фамилию или имя") {
			t.Fatalf("binding a certificate of another name: %d %q", p.Status, firstError(p.Body))
		}

		holder := newBrowser(t, idp)
		holder.register("phone", "+79121110072", "+79121110072", "Иванов", "Иван")
		holder.post("/account/details", url.Values{"snils": {snils}}).expectRedirect(t, "/account")
		ch = esignChallenge(t, holder, "/account/certificates")
		if p := holder.post("/account/certificates", url.Values{"signature": {string(signAs(t, "citizen256", ch))}}); p.Status != 200 {
			t.Fatalf("binding: %d %q", p.Status, firstError(p.Body))
		}
		h, err := parts.Accounts.FindByLogin(ctx, account.SNILS, formatSNILSForTest(t, snils))
		if err != nil || h.Name.Family != "Иванов" || !h.SNILSVerified() || h.Level != assurance.Confirmed {
			t.Fatalf("holder after binding: %v %v", h, err)
		}
		s, _ := parts.Accounts.FindByLogin(ctx, account.Phone, "+79121110071")
		if s.SNILS != "" {
			t.Fatal("the squatter kept the claim")
		}
		if msgs := squatter.messages("+79121110071"); len(msgs) == 0 || msgs[0].Kind != "notice.snils_claim_dropped" {
			t.Fatalf("the squatter was not told: %+v", msgs)
		}
	})
}
