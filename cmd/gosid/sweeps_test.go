package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSweepsClearExpiredRows: the identity provider's periodic sweeps, as
// serve wires them, delete the expired rows of the tables that keep them
// for a while — remembered devices, «Это был не я» links, per-login
// lock-outs — and keep the live ones. Each store's Sweep has its own test;
// this one fails when a sweep is no longer registered.
func TestSweepsClearExpiredRows(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		_, _, parts := startOPParts(t, db, c)
		a, err := parts.Accounts.Create(ctx, account.New{Name: account.Name{Family: "Чистова", Given: "Вера"},
			Phone: account.Contact{Value: "+79121110301", VerifiedAt: c.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		rows := func(tag string) {
			now := c.Now()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO trusted_devices (token_hash, account_id, ip, user_agent, created_at, expires_at) VALUES ($1, $2, '192.0.2.1', '', $3, $4)`,
					[]any{[]byte("device-" + tag), a.ID, sqldb.Micros(now), sqldb.Micros(now.Add(30 * 24 * time.Hour))}},
				{`INSERT INTO contact_undos (token_hash, account_id, kind, old_value_enc, created_at, expires_at) VALUES ($1, $2, 'phone', $3, $4, $5)`,
					[]any{[]byte("undo-" + tag), a.ID, []byte("sealed"), sqldb.Micros(now), sqldb.Micros(now.Add(7 * 24 * time.Hour))}},
				{`INSERT INTO login_lockouts (key_hash, account_id, failures, locked_until, updated_at) VALUES ($1, $2, 3, $3, $4)`,
					[]any{"lock-" + tag, a.ID, sqldb.Micros(now.Add(30 * time.Minute)), sqldb.Micros(now)}},
			} {
				if _, err := db.Exec(ctx, q.sql, q.args...); err != nil {
					t.Fatal(err)
				}
			}
		}
		rows("old")
		c.Advance(31 * 24 * time.Hour)
		rows("new")
		runSweepers(t, parts)
		for _, tc := range []struct {
			table, key string
			live       any
		}{
			{"trusted_devices", "token_hash", []byte("device-new")},
			{"contact_undos", "token_hash", []byte("undo-new")},
			{"login_lockouts", "key_hash", "lock-new"},
		} {
			var n, live int
			if err := db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE %s = $1) FROM %s`, tc.key, tc.table), tc.live).Scan(&n, &live); err != nil {
				t.Fatal(err)
			}
			if n != 1 || live != 1 {
				t.Errorf("%s after the sweeps: %d rows, the live one kept: %v", tc.table, n, live == 1)
			}
		}
	})
}
