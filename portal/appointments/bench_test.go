package appointments_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/appointments"
)

// Run the benchmarks with
//
//	GOSID_TEST_REQUIRE_POSTGRES=1 go test -run XXX -bench . ./portal/appointments
//
// Each runs on SQLite and on PostgreSQL.
func dialects(b *testing.B, fn func(b *testing.B, db *sqldb.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, sqldbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, sqldbtest.Postgres(b)) })
}

const busyWindows = 10

// busy is a centre of ten windows on a 15-minute grid, open 08:00-20:00
// every day: 480 cells a day.
func busy(b *testing.B, db *sqldb.DB, clock *sqldbtest.Clock) *appointments.Store {
	b.Helper()
	ctx := context.Background()
	st := appointments.NewStore(db, clock.Now)
	var w appointments.Week
	for d := range w {
		w[d] = hours(b, "08:00-20:00")
	}
	if err := st.SavePlace(ctx, appointments.Place{ID: "busy", Agency: "mfc", Kind: appointments.KindCentre, Name: "МФЦ",
		Region: "77", Address: "г. Москва", TZ: "Europe/Moscow", Week: w}); err != nil {
		b.Fatal(err)
	}
	for i := range busyWindows {
		if err := st.SaveResource(ctx, appointments.Resource{ID: fmt.Sprintf("busy-w%d", i), PlaceID: "busy",
			Kind: appointments.ResWindow, Name: fmt.Sprintf("Окно %d", i), Step: 15, Services: []string{"svc-a"}}); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// nthSlot spreads n over the month's slots: window, then cell, then day,
// starting on 2 March (1 March is partly inside the lead time).
func nthSlot(n int) (string, time.Time) {
	res := n % busyWindows
	n /= busyWindows
	cell := n % 48
	day := 2 + (n/48)%28
	return fmt.Sprintf("busy-w%d", res), at(msk, day, 8, 15*cell)
}

// BenchmarkBookHotSlot: every goroutine books the same slot; the slot
// changes every 50 attempts, so one attempt in 50 succeeds and the rest
// are refusals, as in the first minutes of a popular doctor's schedule.
func BenchmarkBookHotSlot(b *testing.B) {
	dialects(b, func(b *testing.B, db *sqldb.DB) {
		ctx := context.Background()
		limit := sqldbtest.TxRate(b, db, 8, 1000)
		st := busy(b, db, sqldbtest.NewClock(t0))
		var seq, booked atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := int(seq.Add(1))
				res, start := nthSlot(n / 50)
				if _, err := st.Book(ctx, fmt.Sprintf("c%d", n), "busy", res, "svc-a", start); err == nil {
					booked.Add(1)
				}
			}
		})
		rate := float64(b.N) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "attempts/s")
		b.ReportMetric(float64(booked.Load()), "booked")
		b.ReportMetric(limit, "limit_tx/s")
		b.ReportMetric(rate/limit, "ratio")
	})
}

// BenchmarkBookManySlots: every attempt books a slot of its own.
func BenchmarkBookManySlots(b *testing.B) {
	dialects(b, func(b *testing.B, db *sqldb.DB) {
		ctx := context.Background()
		limit := sqldbtest.TxRate(b, db, 8, 1000)
		st := busy(b, db, sqldbtest.NewClock(t0))
		var seq, booked atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := int(seq.Add(1))
				res, start := nthSlot(n)
				if _, err := st.Book(ctx, fmt.Sprintf("c%d", n), "busy", res, "svc-a", start); err == nil {
					booked.Add(1)
				}
			}
		})
		rate := float64(booked.Load()) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "bookings/s")
		b.ReportMetric(limit, "limit_tx/s")
		b.ReportMetric(rate/limit, "ratio")
	})
}

// BenchmarkFreeMonth: the calendar of a month (Days) at the busy centre
// with 4,000 bookings in it; reports the p99 latency.
func BenchmarkFreeMonth(b *testing.B) {
	dialects(b, func(b *testing.B, db *sqldb.DB) {
		ctx := context.Background()
		st := busy(b, db, sqldbtest.NewClock(t0))
		// Fill every third slot directly (Book would take minutes).
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for n := 0; n < 12000; n += 3 {
				res, start := nthSlot(n)
				id := fmt.Sprintf("bk%d", n)
				if _, err := tx.Exec(ctx, `INSERT INTO portal_appt_bookings (id, number, subject, service_id, place_id, resource_id,
					starts_at, ends_at, status, version, created_at, updated_at) VALUES ($1, $1, $2, 'svc-a', 'busy', $3, $4, $5, 'booked', 1, 0, 0)`,
					id, "c"+id, res, sqldb.Micros(start), sqldb.Micros(start.Add(15*time.Minute))); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO portal_appt_claims (resource_id, cell_start, seat, booking_id, place_id)
					VALUES ($1, $2, 0, $3, 'busy')`, res, sqldb.Micros(start), id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		// One call first: the first query after the bulk load pays for
		// cold caches (and PostgreSQL's statistics), not the calendar.
		if _, err := st.Days(ctx, "busy", "svc-a", "", 2027, time.March); err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			began := time.Now()
			days, err := st.Days(ctx, "busy", "svc-a", "", 2027, time.March)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(began))
			if days[9].Free != 320 { // 480 cells, a third taken
				b.Fatalf("10 March: %d free", days[9].Free)
			}
		}
		slices.Sort(lat)
		// The limit: 50 ms, the page's budget for the calendar (a
		// citizen's click on another month).
		p99 := float64(lat[len(lat)*99/100].Microseconds()) / 1000
		b.ReportMetric(p99, "p99-ms")
		b.ReportMetric(p99/50, "ratio_to_50ms")
	})
}
