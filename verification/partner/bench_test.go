package partner_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/partner"
)

// BenchmarkPartnerConfirmations: confirmations a second through the real
// HTTP handler on PostgreSQL — bearer token check, rate limit,
// idempotency row, account by verified SNILS, match, evidence, level,
// activity log, notice — with 8 concurrent clients, and the p99 latency.
// The limit it is compared with: the same 8 clients committing one-row
// transactions on the same database (limit_tx/s); the ratio is
// confirmations per limit transaction. Run with -cpu 1 for one core
// (the clients share it with the server).
func BenchmarkPartnerConfirmations(b *testing.B) {
	db := sqldbtest.Postgres(b)
	r := newRig(b, db, partner.Config{Rate: 1_000_000, Burst: 1_000_000})
	ctx := context.Background()
	sber := r.partnerClient(b, "sber", client.ScopePartnerConfirmations)
	sber.raw = true
	const clients = 8

	// The limit: one-row transactions, 8 at once.
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_limit (id BIGINT PRIMARY KEY)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM bench_limit`); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	const limitN = 2000
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for n := seq.Add(1); n <= limitN; n = seq.Add(1) {
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO bench_limit (id) VALUES ($1)`, n)
					return err
				}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	limit := limitN / time.Since(start).Seconds()

	// One account with a verified SNILS per confirmation, made beforehand.
	type job struct {
		a     *account.Account
		snils string
	}
	jobs := make([]job, b.N)
	for i := range jobs {
		a, s := r.citizen(b, true)
		jobs[i] = job{a, s}
	}
	statements := sqldbtest.CountStatements(b, db)
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	b.SetParallelism(clients)
	b.ResetTimer()
	start = time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			t0 := time.Now()
			rep := sber.call(b, "POST", "/partner/v1/confirmations", fmt.Sprintf("bench-%d", i), person(jobs[i].snils))
			lat[i] = time.Since(t0)
			if rep.Status != 201 {
				b.Errorf("confirmation %d: %d %s", i, rep.Status, rep.Body)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "confirmations/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(limit, "limit_tx/s")
	b.ReportMetric(rate/limit, "ratio")
	statements(int64(b.N))
}
