package bank_test

import (
	"context"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/bank"
)

// BenchmarkBankRoundTrip: Gosid's side of a bank flow on PostgreSQL —
// Begin (discovery cached, the flow row) and Finish (the flow consumed,
// the code exchanged, the ID token verified by the JWKS, userinfo fetched,
// claims mapped) — against a fake bank on 127.0.0.1 whose handlers' own
// time (signing the ID token, mostly) is measured and reported apart.
// Run: go test -run '^$' -bench BankRoundTrip -benchtime 200x ./verification/bank/
func BenchmarkBankRoundTrip(b *testing.B) {
	db := sqldbtest.Postgres(b)
	r := newRig(b, db)
	ctx := context.Background()
	account := r.account(b)
	// Warm the discovery and JWKS caches, as a running server has them.
	if _, err := r.conn.Finish(ctx, r.visit(b, r.conn, bank.Confirm, account, ""), browser); err != nil {
		b.Fatal(err)
	}
	r.fake.busy.Store(0)
	start := time.Now()
	for b.Loop() {
		q := r.visit(b, r.conn, bank.Confirm, account, "")
		if _, err := r.conn.Finish(ctx, q, browser); err != nil {
			b.Fatal(err)
		}
	}
	total := time.Since(start)
	bankShare := time.Duration(r.fake.busy.Load())
	n := float64(b.N)
	b.ReportMetric(float64((total-bankShare).Microseconds())/1000/n, "gosid_ms/op")
	b.ReportMetric(float64(bankShare.Microseconds())/1000/n, "bank_ms/op")
}
