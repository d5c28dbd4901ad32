package access_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/access"
)

// TestStoreRaces: guesses racing on several replicas get MaxTries between
// them, not more; two flows racing to spend one code, one wins.
func TestStoreRaces(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := idptest.NewEnv(t, db, idptest.Options{})
		st := access.NewStore(db, e.Activity, e.Crypto, e.Clock.Now)
		ctx := context.Background()
		op := audit.Actor{Kind: audit.ActorOperator, ID: "mfc-77-001/op"}
		a := e.Citizen(t, "")

		issued, err := st.Issue(ctx, a.ID, "", op, "mfc-77-001")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.Check(ctx, a.ID, "ABCDEFGHJKMN"); !errors.Is(err, access.ErrRefused) && !sqldb.IsRetryable(err) {
					t.Errorf("wrong guess: %v", err)
				}
			}()
		}
		wg.Wait()
		if n := e.Count(t, `SELECT failures FROM access_codes WHERE account_id = $1 AND spent_at IS NOT NULL`, a.ID); n != access.MaxTries {
			t.Fatalf("failures %d, want %d and spent", n, access.MaxTries)
		}
		if _, err := st.Check(ctx, a.ID, issued.Code); !errors.Is(err, access.ErrRefused) {
			t.Fatalf("the right code after the tries: %v", err)
		}

		issued, err = st.Issue(ctx, a.ID, "", op, "mfc-77-001")
		if err != nil {
			t.Fatal(err)
		}
		h, err := st.Check(ctx, a.ID, issued.Code)
		if err != nil {
			t.Fatal(err)
		}
		results := make(chan error, 2)
		for range 2 {
			go func() {
				results <- db.InTx(ctx, func(tx *sqldb.Tx) error { return st.Spend(ctx, tx, a.ID, h) })
			}()
		}
		var won, lost int
		for range 2 {
			switch err := <-results; {
			case err == nil:
				won++
			case errors.Is(err, access.ErrRefused) || sqldb.IsRetryable(err):
				lost++
			default:
				t.Fatal(err)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("spent %d times, refused %d", won, lost)
		}
		if _, err := st.Check(ctx, a.ID, issued.Code); !errors.Is(err, access.ErrRefused) {
			t.Fatalf("a spent code checks: %v", err)
		}
	})
}
