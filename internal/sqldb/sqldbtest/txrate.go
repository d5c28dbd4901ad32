package sqldbtest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// TxRate measures the limit a store's throughput is compared with: one-row
// insert transactions per second that clients concurrent goroutines commit
// on db, n in all (a table of its own, dropped after). Benchmarks report
// their rate beside it and the ratio, so a figure means the same on any
// machine.
func TxRate(tb testing.TB, db *sqldb.DB, clients, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_tx_limit (id BIGINT PRIMARY KEY)`); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM bench_tx_limit`); err != nil {
		tb.Fatal(err)
	}
	var seq atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := seq.Add(1); i <= int64(n); i = seq.Add(1) {
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO bench_tx_limit (id) VALUES ($1)`, i)
					return err
				}); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	if _, err := db.Exec(ctx, `DROP TABLE bench_tx_limit`); err != nil {
		tb.Fatal(err)
	}
	return rate
}
