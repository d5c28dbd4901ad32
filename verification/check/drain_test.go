package check_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/check"
	"github.com/gosid/gosid/verification/registry"
)

// TestDrainSettlesABatch: checks of every kind of outcome, queued while
// no replica runs, are claimed in one batch when the queue starts and
// each ends as it would alone: the confirmations committed together, the
// rejections, the SNILS verified elsewhere and the registry that was
// unavailable once on their own. One check is superseded by a new
// submission while its batch is being asked: it is not applied, and the
// new submission is confirmed after. Nothing is applied or told twice.
func TestDrainSettlesABatch(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{Backoff: func(int) time.Duration { return 50 * time.Millisecond }, PollInterval: 20 * time.Millisecond})
		want := map[string]string{} // check id → status/outcome
		var flaky string
		accountOf := map[string]string{}
		start := func(accountID string) string {
			id, err := r.svc.Start(ctx, accountID, "submitted")
			if err != nil {
				t.Fatal(err)
			}
			accountOf[id] = accountID
			return id
		}
		for i := range 6 {
			a := r.person(t, registry.GeneratedIdentity(i+1), fmt.Sprintf("+7916400%04d", i))
			want[start(a.ID)] = check.Confirmed + "/"
		}
		for i, tc := range []struct{ key, outcome string }{
			{"flaky", ""}, {"sfr-birthdate", check.OutcomeMismatch}, {"passport-not-found", check.OutcomeNotFound},
			{"passport-invalid", check.OutcomeInvalid}, {"inn-mismatch", check.OutcomeINNMismatch},
		} {
			a := r.person(t, identity(t, tc.key), fmt.Sprintf("+7916401%04d", i))
			status := check.Rejected
			if tc.outcome == "" {
				status = check.Confirmed
			}
			id := start(a.ID)
			want[id] = status + "/" + tc.outcome
			if tc.key == "flaky" {
				flaky = id
			}
		}
		// A SNILS verified on another account: its check ends without
		// asking anyone.
		holder := r.person(t, registry.GeneratedIdentity(50), "+79164020000")
		if c := r.runCheck(t, holder.ID); c.Status != check.Confirmed {
			t.Fatalf("holder's check %s", c.Status)
		}
		squatter := r.person(t, registry.GeneratedIdentity(50), "+79164020001")
		want[start(squatter.ID)] = check.Rejected + "/" + check.OutcomeSNILSTaken
		// The check superseded while its batch is asked.
		moving := r.person(t, registry.GeneratedIdentity(60), "+79164030000")
		superseded := start(moving.ID)
		want[superseded] = check.Superseded + "/"
		var once sync.Once
		var again string
		r.reg.mu.Lock()
		r.reg.before = func(req registry.Request) {
			if strings.HasPrefix(req.ID, superseded) {
				once.Do(func() { again = start(moving.ID) })
			}
		}
		r.reg.mu.Unlock()

		if err := r.queue.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = r.queue.Stop(sctx)
		})
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM verification_checks WHERE status = 'pending'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 && again != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d checks still pending", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		want[again] = check.Confirmed + "/"

		for id, w := range want {
			c, err := r.svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Status + "/" + c.Outcome; got != w {
				t.Errorf("check of %s: %s, want %s", accountOf[id], got, w)
			}
			a, err := r.accounts.Get(ctx, accountOf[id])
			if err != nil {
				t.Fatal(err)
			}
			ev, err := r.verifier.Evidence(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			confirmed := a.Level == assurance.Standard && a.SNILSVerified()
			if (c.Status == check.Confirmed || id == superseded) != confirmed || (confirmed && len(ev) != 3) || (!confirmed && len(ev) != 0) {
				t.Errorf("account of check %s (%s): level %s, SNILS verified %v, %d evidence", id, c.Status, a.Level, a.SNILSVerified(), len(ev))
			}
			if id == superseded {
				continue
			}
			notes := r.notes.of(a.ID)
			if len(notes) != 1 {
				t.Errorf("account of check %s (%s) was told %v", id, c.Status, notes)
			}
		}
		// Every question was put once, whatever the batch's commit did
		// (the flaky identity's three times: unavailable twice, by the
		// simulator's design).
		r.reg.mu.Lock()
		defer r.reg.mu.Unlock()
		for req, n := range r.reg.byID {
			if n != 1 && !(strings.HasPrefix(req, flaky+"-") && n == 3) {
				t.Errorf("question %s put %d times", req, n)
			}
		}
	})
}

// TestBatchSplit: a batch of confirmations whose commit fails on one
// check (superseded between its answers and the commit) is committed one
// by one: the others are confirmed and told once, the superseded one
// changes nothing; a batch with nothing wrong commits together.
func TestBatchSplit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		var accounts, ids []string
		for i := range 4 {
			a := r.person(t, registry.GeneratedIdentity(i+1), fmt.Sprintf("+7916500%04d", i))
			id, err := r.svc.Start(ctx, a.ID, "submitted")
			if err != nil {
				t.Fatal(err)
			}
			accounts, ids = append(accounts, a.ID), append(ids, id)
		}
		// The first two together, nothing wrong.
		if err := r.svc.AskAndConfirmAll(ctx, ids[:2], func() {}); err != nil {
			t.Fatal(err)
		}
		if n := testutil.ToFloat64(r.svc.MetricsBatches("committed")); n != 1 {
			t.Errorf("committed batches = %v, want 1", n)
		}
		// The last two, one superseded meanwhile.
		var again string
		if err := r.svc.AskAndConfirmAll(ctx, ids[2:], func() {
			var err error
			if again, err = r.svc.Start(ctx, accounts[3], "submitted"); err != nil {
				t.Fatal(err)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if n := testutil.ToFloat64(r.svc.MetricsBatches("split")); n != 1 {
			t.Errorf("split batches = %v, want 1", n)
		}
		for i, id := range ids {
			c, err := r.svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := r.accounts.Get(ctx, accounts[i])
			ev, _ := r.verifier.Evidence(ctx, accounts[i])
			want, level, evidence, told := check.Confirmed, assurance.Standard, 3, 1
			if i == 3 {
				want, level, evidence, told = check.Superseded, assurance.Simplified, 0, 0
			}
			if c.Status != want || a.Level != level || len(ev) != evidence || len(r.notes.of(accounts[i])) != told {
				t.Errorf("check %d: %s, level %s, %d evidence, told %v; want %s, %s, %d, %d", i, c.Status, a.Level, len(ev), r.notes.of(accounts[i]), want, level, evidence, told)
			}
		}
		if c, _ := r.svc.Get(ctx, again); c.Status != check.Pending {
			t.Errorf("the new submission is %s", c.Status)
		}
	})
}
