package partner_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/partner"
)

func TestConfirmation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{})
		ctx := context.Background()
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)
		a, snils := r.citizen(t, true)

		// A match: 201, the account confirmed, vouch evidence by the bank.
		rep := sber.call(t, "POST", "/partner/v1/confirmations", "key-1", person(snils))
		if rep.Status != http.StatusCreated {
			t.Fatalf("confirmation: %d %s", rep.Status, rep.Body)
		}
		conf := rep.JSON(t)
		if conf["status"] != "confirmed" || conf["method"] != "in_branch" || conf["reference"] != "BR-0001" ||
			rep.Header.Get("Location") != r.URL+"/partner/v1/confirmations/"+conf["id"].(string) {
			t.Errorf("confirmation answer %s, Location %q", rep.Body, rep.Header.Get("Location"))
		}
		got, err := r.IdP.Accounts.Get(ctx, a.ID)
		if err != nil || got.Level != assurance.Confirmed {
			t.Fatalf("level after confirmation: %v, %v", got.Level, err)
		}
		ev, err := r.IdP.Verifier.Evidence(ctx, a.ID)
		if err != nil || len(ev) != 1 || ev[0].Method != assurance.MethodBank || ev[0].Verifier.ID != "sber" ||
			ev[0].Document.Number != "BR-0001" || !ev[0].VerifiedAt.Equal(t0.Add(-3600e9)) {
			t.Fatalf("evidence %+v, %v", ev, err)
		}
		// No bank sign-in identity came of it.
		if links, err := r.Banks.Links(ctx, a.ID); err != nil || len(links) != 0 {
			t.Errorf("bank links after a partner confirmation: %v, %v", links, err)
		}
		// The activity log names the bank.
		entries, err := r.IdP.Activity.List(ctx, a.ID, t0.Add(-24*3600e9), 50)
		if err != nil {
			t.Fatal(err)
		}
		var byBank []string
		for _, e := range entries {
			if e.Actor.Kind == "bank" && e.Actor.ID == "sber" {
				byBank = append(byBank, e.Action)
			}
		}
		if !slices.Contains(byBank, partner.ActionPartnerConfirmed) {
			t.Errorf("activity of the bank: %v", byBank)
		}

		// GET it back; another partner sees nothing.
		if g := sber.call(t, "GET", "/partner/v1/confirmations/"+conf["id"].(string), "", nil); g.Status != 200 || g.JSON(t)["id"] != conf["id"] {
			t.Errorf("GET own confirmation: %d %s", g.Status, g.Body)
		}
		tb := r.partnerClient(t, "tbank", client.ScopePartnerConfirmations)
		if g := tb.call(t, "GET", "/partner/v1/confirmations/"+conf["id"].(string), "", nil); g.Status != 404 || g.kind(t) != partner.ProblemConfirmationAbsent {
			t.Errorf("GET another partner's confirmation: %d %s", g.Status, g.Body)
		}

		// The same key and body: the same answer; another body: 422.
		again := sber.call(t, "POST", "/partner/v1/confirmations", "key-1", person(snils))
		if again.Status != rep.Status || string(again.Body) != string(rep.Body) || again.Header.Get("Location") != rep.Header.Get("Location") {
			t.Errorf("replay: %d %s, want %d %s", again.Status, again.Body, rep.Status, rep.Body)
		}
		other := person(snils)
		other["reference"] = "BR-0002"
		if re := sber.call(t, "POST", "/partner/v1/confirmations", "key-1", other); re.Status != 422 || re.kind(t) != partner.ProblemKeyReused {
			t.Errorf("key reused with another body: %d %s", re.Status, re.Body)
		}
		if n := countEvidence(t, r, a.ID); n != 1 {
			t.Errorf("%d evidence records after replays, want 1", n)
		}
		// Metrics by partner, operation and status.
		if n := requestsTotal(t, r, "sber", "create_confirmation", "201"); n != 2 {
			t.Errorf("gosid_partner_requests_total{sber,create_confirmation,201} = %v, want 2", n)
		}
		if n := requestsTotal(t, r, "sber", "create_confirmation", "422"); n != 1 {
			t.Errorf("gosid_partner_requests_total{sber,create_confirmation,422} = %v, want 1", n)
		}
	})
}

// requestsTotal reads gosid_partner_requests_total{partner,operation,status}.
func requestsTotal(t testing.TB, r *rig, partner, op, status string) float64 {
	t.Helper()
	mfs, err := r.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gosid_partner_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["partner"] == partner && labels["operation"] == op && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func countEvidence(t testing.TB, r *rig, accountID string) int {
	t.Helper()
	ev, err := r.IdP.Verifier.Evidence(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

func TestConfirmationRefusals(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{})
		ctx := context.Background()
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)

		// No account with the SNILS at all; and one where it is only
		// claimed (an attacker typed a victim's SNILS into their own
		// account): both 404, and the claimant's account is untouched.
		unknown := validate.GenerateSNILS(1_500_000)
		claimant, claimed := r.citizen(t, false)
		for name, s := range map[string]string{"unknown": unknown, "claimed-only": claimed} {
			rep := sber.call(t, "POST", "/partner/v1/confirmations", "nf-"+name, person(s))
			if rep.Status != 404 || rep.kind(t) != partner.ProblemAccountNotFound {
				t.Errorf("%s: %d %s", name, rep.Status, rep.Body)
			}
		}
		if got, _ := r.IdP.Accounts.Get(ctx, claimant.ID); got.Level == assurance.Confirmed || countEvidence(t, r, claimant.ID) != 0 {
			t.Errorf("the claimant's account changed: %v", got.Level)
		}

		// A mismatch names the fields; nothing changes.
		a, snils := r.citizen(t, true)
		p := person(snils)
		p["given_name"] = "Пётр"
		p["birthdate"] = "1990-01-01"
		rep := sber.call(t, "POST", "/partner/v1/confirmations", "mm-1", p)
		if rep.Status != 409 || rep.kind(t) != partner.ProblemMismatch || !slices.Contains(rep.fields(t), "given_name") {
			t.Errorf("mismatch: %d %s", rep.Status, rep.Body)
		}
		if got, _ := r.IdP.Accounts.Get(ctx, a.ID); got.Level == assurance.Confirmed || countEvidence(t, r, a.ID) != 0 {
			t.Errorf("a mismatch changed the account: %v", got.Level)
		}

		// Invalid input names every field at fault.
		bad := person("123")
		bad["method"] = "telepathy"
		bad["passport"] = map[string]any{"series": "45", "number": "123456", "issue_date": "2005-04-02"}
		rep = sber.call(t, "POST", "/partner/v1/confirmations", "bad-1", bad)
		if f := rep.fields(t); rep.Status != 400 || !slices.Contains(f, "snils") || !slices.Contains(f, "method") || !slices.Contains(f, "passport.series") {
			t.Errorf("invalid request: %d %s", rep.Status, rep.Body)
		}
		// Without an Idempotency-Key.
		if rep := sber.call(t, "POST", "/partner/v1/confirmations", "", person(snils)); rep.Status != 400 || rep.kind(t) != partner.ProblemIdempotencyKey {
			t.Errorf("no Idempotency-Key: %d %s", rep.Status, rep.Body)
		}

		// Tokens: none → 401 with WWW-Authenticate: Bearer; garbage → 401;
		// without the scope → 403; a non-partner client's → 403.
		none := &bankClient{r: r}
		if rep := none.call(t, "POST", "/partner/v1/confirmations", "t-1", person(snils)); rep.Status != 401 || rep.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("no token: %d %v %s", rep.Status, rep.Header, rep.Body)
		}
		junk := &bankClient{r: r, token: "junk"}
		if rep := junk.call(t, "POST", "/partner/v1/confirmations", "t-2", person(snils)); rep.Status != 401 {
			t.Errorf("junk token: %d %s", rep.Status, rep.Body)
		}
		regOnly := r.partnerClient(t, "sber", client.ScopePartnerRegistrations)
		if rep := regOnly.call(t, "POST", "/partner/v1/confirmations", "t-3", person(snils)); rep.Status != 403 {
			t.Errorf("token without the scope: %d %s", rep.Status, rep.Body)
		}
		notPartner := r.partnerClient(t, "", "snils")
		if rep := notPartner.call(t, "POST", "/partner/v1/confirmations", "t-4", person(snils)); rep.Status != 403 {
			t.Errorf("a non-partner's token: %d %s", rep.Status, rep.Body)
		}
		if got, _ := r.IdP.Accounts.Get(ctx, a.ID); got.Level == assurance.Confirmed {
			t.Error("a refused call confirmed the account")
		}
	})
}

// TestConcurrentIdempotency: ten identical requests at once: one
// confirmation, one evidence, one notice; every answer the same.
func TestConcurrentIdempotency(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{})
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)
		a, snils := r.citizen(t, true)
		var wg sync.WaitGroup
		replies := make([]reply, 10)
		for i := range replies {
			wg.Go(func() { replies[i] = sber.call(t, "POST", "/partner/v1/confirmations", "same-key", person(snils)) })
		}
		wg.Wait()
		for i, rep := range replies {
			if rep.Status != 201 || string(rep.Body) != string(replies[0].Body) {
				t.Errorf("reply %d: %d %s, want 201 %s", i, rep.Status, rep.Body, replies[0].Body)
			}
		}
		var n int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM partner_confirmations WHERE account_id = $1`, a.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d confirmations, %v; want 1", n, err)
		}
		if n := countEvidence(t, r, a.ID); n != 1 {
			t.Errorf("%d evidence records, want 1", n)
		}
		// The notice goes out after the transaction: wait for it, then
		// a while longer for any second one.
		r.message(t, a.Phone.Value, notice.KindNoticePartnerConfirmed)
		time.Sleep(300 * time.Millisecond)
		if n := notices(t, r, a.Phone.Value); n != 1 {
			t.Errorf("%d notices to the citizen, want 1", n)
		}
	})
}

// notices counts the partner-confirmation notices sent to a phone.
func notices(t testing.TB, r *rig, to string) int {
	t.Helper()
	var n int
	if err := r.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM dev_messages WHERE recipient = $1 AND kind = $2`, to, partner.NoticeConfirmed).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRateLimit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{Rate: 1, Burst: 3})
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)
		var last reply
		for i := range 4 {
			last = sber.call(t, "GET", fmt.Sprintf("/partner/v1/confirmations/cnf_%d", i), "", nil)
		}
		if last.Status != 429 || last.Header.Get("Retry-After") == "" || last.kind(t) != partner.ProblemRateLimited {
			t.Errorf("4th call of a burst of 3: %d Retry-After %q %s", last.Status, last.Header.Get("Retry-After"), last.Body)
		}
		// Another bank is counted apart.
		tb := r.partnerClient(t, "tbank", client.ScopePartnerConfirmations)
		if rep := tb.call(t, "GET", "/partner/v1/confirmations/cnf_x", "", nil); rep.Status != 404 {
			t.Errorf("another partner: %d", rep.Status)
		}
		// Time heals.
		r.Clock.Advance(3e9)
		if rep := sber.call(t, "GET", "/partner/v1/confirmations/cnf_y", "", nil); rep.Status != 404 {
			t.Errorf("after the window: %d", rep.Status)
		}
	})
}
