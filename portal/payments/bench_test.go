package payments_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/payments"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

func benchDialects(b *testing.B, fn func(b *testing.B, db *sqldb.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, sqldbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, sqldbtest.Postgres(b)) })
}

var benchSeq atomic.Int64

func benchCharges(b *testing.B, st *payments.Store, n int) []string {
	uins := make([]string, n)
	for i := range uins {
		uins[i] = mintUIN(fmt.Sprintf("3221%015d", benchSeq.Add(1)))
		postCharge(b, st, charge(uins[i]))
	}
	return uins
}

// BenchmarkPay: payments started per second, one charge each, with a fake
// acquirer (the database's share of «Оплатить»).
func BenchmarkPay(b *testing.B) {
	benchDialects(b, func(b *testing.B, db *sqldb.DB) {
		ctx := context.Background()
		limit := sqldbtest.TxRate(b, db, 1, 1000)
		st := payments.NewStore(db, sealer{}, key, newFake(), nil)
		uins := benchCharges(b, st, b.N)
		b.ResetTimer()
		for i := range b.N {
			if _, err := st.Pay(ctx, "citizen-a", uins[i], urls); err != nil {
				b.Fatal(err)
			}
		}
		rate := float64(b.N) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "payments/s")
		b.ReportMetric(limit, "limit_tx/s")
		b.ReportMetric(rate/limit, "ratio")
	})
}

// BenchmarkApply: capture notifications handled per second (each
// captures a payment and pays its charge in one transaction).
func BenchmarkApply(b *testing.B) {
	benchDialects(b, func(b *testing.B, db *sqldb.DB) {
		ctx := context.Background()
		limit := sqldbtest.TxRate(b, db, 1, 1000)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, nil)
		uins := benchCharges(b, st, b.N)
		notes := make([]acquirer.Payment, b.N)
		for i, u := range uins {
			p, err := st.Pay(ctx, "citizen-a", u, urls)
			if err != nil {
				b.Fatal(err)
			}
			notes[i] = acq.settle(p.ID, acquirer.Succeeded)
		}
		b.ResetTimer()
		for i := range b.N {
			if out, err := st.Apply(ctx, notes[i]); err != nil || out != payments.Captured {
				b.Fatal(out, err)
			}
		}
		rate := float64(b.N) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "notifications/s")
		b.ReportMetric(limit, "limit_tx/s")
		b.ReportMetric(rate/limit, "ratio")
	})
}
