package account_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestLoginLockout: the lock-out of a login identifier counts failures of
// known and unknown logins alike, locks exactly once for racing failures
// (a failure while locked is not counted), lasts lockFor from the failure
// that locked it, is reset by a right password, lifted with the account's
// (an operator's unlock, a new password, recovery's ClearLockout), goes
// with the account when it is erased, and is swept after a quiet day.
func TestLoginLockout(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clk := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		const lockFor = 30 * time.Minute
		race := func(key, accountID string, n int) (locks int32) {
			var wg sync.WaitGroup
			var l atomic.Int32
			for range n {
				wg.Go(func() {
					until, err := s.RecordLoginFailure(ctx, key, accountID, 3, lockFor)
					if err != nil {
						t.Error(err)
					}
					if !until.IsZero() {
						if !until.Equal(clk.Now().Add(lockFor)) {
							t.Errorf("locked until %v, want %v", until, clk.Now().Add(lockFor))
						}
						l.Add(1)
					}
				})
			}
			wg.Wait()
			return l.Load()
		}
		locked := func(key string) bool {
			until, _, err := s.LoginLocked(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return !until.IsZero()
		}
		for _, tc := range []struct{ key, accountID string }{{"phone-key", a.ID}, {"unknown-key", ""}} {
			if n := race(tc.key, tc.accountID, 2); n != 0 || locked(tc.key) {
				t.Fatalf("%s: two failures locked %d times", tc.key, n)
			}
			if n := race(tc.key, tc.accountID, 8); n != 1 || !locked(tc.key) {
				t.Fatalf("%s: eight more racing failures locked %d times, want exactly 1", tc.key, n)
			}
		}
		clk.Advance(lockFor - time.Second)
		if !locked("phone-key") || !locked("unknown-key") {
			t.Fatal("unlocked before lockFor")
		}
		clk.Advance(2 * time.Second)
		if locked("phone-key") || locked("unknown-key") {
			t.Fatal("still locked after lockFor")
		}
		// The failures while locked were not counted: one more is the first.
		if n := race("unknown-key", "", 1); n != 0 {
			t.Fatal("the failures during the lock-out were counted")
		}
		// A right password forgets the failures.
		if err := s.ResetLoginFailures(ctx, "unknown-key"); err != nil {
			t.Fatal(err)
		}
		if n := race("unknown-key", "", 2); n != 0 {
			t.Fatal("ResetLoginFailures kept the count")
		}

		// The account's unlock, new password and recovery lift its
		// identifiers' lock-outs, not another's.
		for _, lift := range []struct {
			name string
			do   func() error
		}{
			{"unlock", func() error { return s.SetStatus(ctx, a.ID, account.StatusActive) }},
			{"new password", func() error { return s.SetPassword(ctx, a.ID, "$argon2id$x") }},
			{"recovery", func() error { return s.ClearLockout(ctx, a.ID) }},
		} {
			race("phone-key", a.ID, 3)
			race("other-key", "", 3)
			if err := lift.do(); err != nil {
				t.Fatal(err)
			}
			if locked("phone-key") || !locked("other-key") {
				t.Fatalf("after %s: the account's identifier locked %v, another's %v", lift.name, locked("phone-key"), locked("other-key"))
			}
			clk.Advance(lockFor + time.Second)
		}

		// Erasing the account deletes its rows; a quiet day sweeps the rest.
		race("phone-key", a.ID, 1)
		if err := s.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM login_lockouts WHERE key_hash = 'phone-key'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after erasure: %d rows, %v", n, err)
		}
		clk.Advance(25 * time.Hour)
		if swept, err := s.SweepLoginLocks(ctx); err != nil || swept == 0 {
			t.Fatalf("sweep: %d, %v", swept, err)
		}
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM login_lockouts`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after the sweep: %d rows, %v", n, err)
		}
	})
}
