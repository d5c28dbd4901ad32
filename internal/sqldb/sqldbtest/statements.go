package sqldbtest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
)

// CountStatements, with GOSID_BENCH_STATEMENTS=1, starts counting the
// statements PostgreSQL runs (pg_stat_statements: run with
// GOSID_TEST_PG_STAT_STATEMENTS=1 as well) and returns the function that
// logs them, most called first, with their calls per operation for ops
// operations since: what a benchmark's operation costs in round trips.
// Without the switch both do nothing.
func CountStatements(tb testing.TB, db *sqldb.DB) (report func(ops int64)) {
	tb.Helper()
	if os.Getenv("GOSID_BENCH_STATEMENTS") != "1" {
		return func(int64) {}
	}
	ctx := context.Background()
	for _, q := range []string{`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`, `SELECT pg_stat_statements_reset()`} {
		if _, err := db.Exec(ctx, q); err != nil {
			tb.Fatalf("%s (run with GOSID_TEST_PG_STAT_STATEMENTS=1): %v", q, err)
		}
	}
	return func(ops int64) {
		tb.Helper()
		rows, err := db.Query(ctx, `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 140)
			FROM pg_stat_statements ORDER BY calls DESC LIMIT 40`)
		if err != nil {
			tb.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var calls int64
			var total float64
			var q string
			if err := rows.Scan(&calls, &total, &q); err != nil {
				tb.Fatal(err)
			}
			// Printed, not logged: a benchmark's log is cut at ten lines.
			fmt.Fprintf(os.Stderr, "%8d calls (%5.2f per op) %9.1f ms  %s\n", calls, float64(calls)/float64(max(ops, 1)), total, q)
		}
	}
}
