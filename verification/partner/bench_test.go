package partner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/message"
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
	// The citizens' notices go out as in production: through the HTTP
	// SMS gateway adapter, to a gateway stand-in that takes each one that
	// carries the «Это были не вы?» link (the dev sink, which stores each
	// message in the database, is for development only).
	var notices atomic.Int64
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m struct{ To, Text string }
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil || m.To == "" || !strings.Contains(m.Text, "/account/dispute?token=") {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		notices.Add(1)
	}))
	b.Cleanup(gw.Close)
	sms, err := message.NewHTTPSMS(message.HTTPSMSConfig{URL: gw.URL}, slog.New(slog.DiscardHandler), gw.Client())
	if err != nil {
		b.Fatal(err)
	}
	r := newRigSending(b, db, partner.Config{Rate: 1_000_000, Burst: 1_000_000}, message.Route{SMS: sms})
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
	s0, p0 := sqldbtest.SelfCPU(), sqldbtest.PostgresCPU()
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
	// Where the time goes: this process (the server, its queue, the
	// gateway stand-in and the clients) and PostgreSQL, per confirmation
	// and in cores used while the clients ran.
	self, pg := sqldbtest.SelfCPU()-s0, sqldbtest.PostgresCPU()-p0
	b.ReportMetric(float64(self.Microseconds())/1000/float64(b.N), "process-cpu-ms/op")
	b.ReportMetric(float64(pg.Microseconds())/1000/float64(b.N), "postgres-cpu-ms/op")
	b.ReportMetric(self.Seconds()/elapsed.Seconds(), "process-cores")
	b.ReportMetric(pg.Seconds()/elapsed.Seconds(), "postgres-cores")
	// Every citizen is told, soon after.
	for deadline := time.Now().Add(time.Minute); notices.Load() < int64(b.N); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d notices reached the gateway a minute after the last confirmation", notices.Load(), b.N)
		}
	}
	slices.Sort(lat)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "confirmations/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(limit, "limit_tx/s")
	b.ReportMetric(rate/limit, "ratio")
	statements(int64(b.N))
}
