package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// BenchmarkImport loads 100,000 accounts (JSONL, each with a phone, an
// e-mail, a SNILS claim, an external id and a password hash, contacts
// verified) per iteration, through the reader, batches of
// DefaultImportBatch and their activity-log entries, and reports
// accounts/s. Plain passwords are left out: argon2id would measure the
// hash, not the loader (about 20 hashes/s per core at serve's parameters).
//
//	go test -run XXX -bench BenchmarkImport -benchtime 1x ./idp/account
func BenchmarkImport(b *testing.B) {
	const n = 100_000
	for _, tc := range []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{"postgres", sqldbtest.Postgres}, {"sqlite", sqldbtest.SQLite}} {
		b.Run(tc.name, func(b *testing.B) {
			db := tc.open(b)
			admin := importAdmin(db, newKeys(b, db))
			ctx := context.Background()
			var total time.Duration
			for i := range b.N {
				b.StopTimer()
				text := genRecords(i*n, n, importHash)
				b.StartTimer()
				start := time.Now()
				r, err := account.NewImportReader(strings.NewReader(text), account.ImportJSONL)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := admin.Import(ctx, r, account.ImportOptions{ContactsVerified: true})
				if err != nil || rep.Imported != n {
					b.Fatalf("%+v, %v", rep, err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "accounts/s")
		})
	}
}
