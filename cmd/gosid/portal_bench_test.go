package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/applications"
)

// homeRequests is how many home pages each measurement loads.
const homeRequests = 400

// p99 loads the home page n times and returns the 50th and 99th
// percentile latencies.
func homeLatency(b *testing.B, br *browser, portalURL string, n int) (p50, p99 time.Duration) {
	b.Helper()
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		p := br.abs("GET", portalURL+"/", nil)
		lat[i] = time.Since(t0)
		if p.Status != 200 {
			b.Fatalf("home page: %d", p.Status)
		}
	}
	slices.Sort(lat)
	return lat[n/2], lat[n*99/100]
}

// BenchmarkPortalHome: the signed-in citizen's home page (session, unread
// notices, their applications, the page) on PostgreSQL, first with only
// their own 30 applications, then with 1,000,000 applications of 100,000
// other citizens in the same tables; reported: p50 and p99 of both and the
// ratio of the p99s (the indexes on (subject, updated_at) and (subject,
// created_at) keep the page's queries to the citizen's own rows). Run:
// GOSID_TEST_REQUIRE_POSTGRES=1 go test -run '^$' -bench PortalHome -benchtime 1x ./cmd/gosid
func BenchmarkPortalHome(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		db := sqldbtest.Postgres(b)
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(b, db, c)
		portalURL, _ := startEmbeddedPortal(b, parts)
		br := newBrowser(b, op)
		br.register("phone", "+79161116601", "+79161116601", "Домашний", "Иван")
		if p, _ := br.portalGo(b, portalURL, br.abs("GET", portalURL+"/login", nil)); p.Status != 200 {
			b.Fatalf("sign-in: %d", p.Status)
		}
		var subject string
		if err := db.QueryRow(ctx, `SELECT subject FROM portal_sessions`).Scan(&subject); err != nil {
			b.Fatal(err)
		}
		st := applications.NewStore(db, parts.Keys, time.Now)
		for i := range 30 {
			a, err := st.CreateDraft(ctx, subject, "ndfl-3", "fns", map[string]string{"n": fmt.Sprint(i)})
			if err != nil {
				b.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := st.Submit(ctx, subject, a.ID, a.Version, 5); err != nil {
					b.Fatal(err)
				}
			}
		}
		homeLatency(b, br, portalURL, 50) // warm up
		emptyP50, emptyP99 := homeLatency(b, br, portalURL, homeRequests)

		// A million applications of others (their sealed data is never
		// opened on this page: a placeholder), with their events and
		// notices.
		t0 := time.Now()
		now := sqldb.Micros(time.Now())
		if _, err := db.Exec(ctx, `INSERT INTO portal_applications (id, number, subject, service_id, agency, status, version, data_enc, created_at, updated_at, submitted_at, due_at)
			SELECT 'bench-' || g, (1000000000 + g)::text, 'other-' || (g % 100000), 'ndfl-3', 'fns', 'received', 2, '\x00'::bytea,
				$1::bigint - g, $1::bigint - g, $1::bigint - g, $1::bigint + 86400000000 FROM generate_series(1, 1000000) g`, now); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO portal_notices (id, subject, application_id, status, created_at)
			SELECT 'bench-n-' || g, 'other-' || (g % 100000), 'bench-' || g, 'received', $1::bigint - g FROM generate_series(1, 1000000) g`, now); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(ctx, `ANALYZE portal_applications; ANALYZE portal_notices`); err != nil {
			b.Fatal(err)
		}
		b.Logf("1,000,000 applications and notices inserted in %v", time.Since(t0).Round(time.Second))
		homeLatency(b, br, portalURL, 50)
		fullP50, fullP99 := homeLatency(b, br, portalURL, homeRequests)
		b.ReportMetric(float64(emptyP50.Microseconds())/1000, "p50_ms_alone")
		b.ReportMetric(float64(emptyP99.Microseconds())/1000, "p99_ms_alone")
		b.ReportMetric(float64(fullP50.Microseconds())/1000, "p50_ms_1M")
		b.ReportMetric(float64(fullP99.Microseconds())/1000, "p99_ms_1M")
		b.ReportMetric(float64(fullP99)/float64(emptyP99), "p99_ratio")
	}
}

// BenchmarkSubmissions: applications created and submitted per second on
// PostgreSQL by 8 concurrent citizens through the store (draft, then
// submission with its number, history and the agency's webhook check in
// one transaction each), beside one-row transactions of the same 8
// clients on the same database (limit_tx/s). Run:
// GOSID_TEST_REQUIRE_POSTGRES=1 go test -run '^$' -bench Submissions -benchtime 2000x ./cmd/gosid
func BenchmarkSubmissions(b *testing.B) {
	ctx := context.Background()
	db := sqldbtest.Postgres(b)
	c := sqldbtest.NewClock(time.Now())
	_, _, parts := startOPParts(b, db, c)
	startEmbeddedPortal(b, parts) // the store as the portal wires it (OnChange is the portal's)
	st := applications.NewStore(db, parts.Keys, time.Now)
	const clients = 8
	limit := sqldbtest.TxRate(b, db, clients, 2000)
	var next atomic.Int64
	b.SetParallelism(clients)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sub := fmt.Sprintf("citizen-%d", next.Add(1))
			a, err := st.CreateDraft(ctx, sub, "ndfl-3", "fns", map[string]string{"year": "2025"})
			if err == nil {
				_, err = st.Submit(ctx, sub, a.ID, a.Version, 5)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	rate := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(rate, "submissions/s")
	b.ReportMetric(limit, "limit_tx/s")
	b.ReportMetric(rate/limit, "ratio")
}
