package appointments_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/appointments"
)

// replicas runs fn on both dialects with two handles on one database, as
// two replicas of the portal sharing it.
func replicas(t *testing.T, fn func(t *testing.T, a, b *sqldb.DB)) {
	t.Helper()
	open := func(t *testing.T, cfg sqldb.Config) *sqldb.DB {
		db, err := sqldb.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		path := sqldbtest.SQLitePath(t)
		fn(t, open(t, sqldb.Config{SQLitePath: path}), open(t, sqldb.Config{SQLitePath: path}))
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		fn(t, open(t, sqldb.Config{URL: url}), open(t, sqldb.Config{URL: url}))
	})
}

// race runs n functions at once (released together) and counts their
// errors by kind; an error of another kind fails the test.
func race(t *testing.T, n int, fn func(i int) error, kinds ...error) map[error]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[error]int{}
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				got[nil]++
				return
			}
			for _, k := range kinds {
				if errors.Is(err, k) {
					got[k]++
					return
				}
			}
			t.Errorf("racer %d: %v", i, err)
		}()
	}
	close(gate)
	wg.Wait()
	return got
}

func count(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRaceHotSlot: 50 citizens book one slot at once, on one handle and on
// two; exactly the capacity succeeds and the database holds exactly that.
func TestRaceHotSlot(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		stA, _ := fixture(t, a, clock)
		stB := appointments.NewStore(b, clock.Now)
		for _, tc := range []struct {
			name     string
			resource string
			capacity int
			stores   []*appointments.Store
			slot     time.Time
		}{
			{"capacity 1, one replica", "msk-w1", 1, []*appointments.Store{stA}, at(msk, 2, 10, 0)},
			{"capacity 3, one replica", "msk-w2", 3, []*appointments.Store{stA}, at(msk, 2, 10, 0)},
			{"capacity 1, two replicas", "msk-w1", 1, []*appointments.Store{stA, stB}, at(msk, 3, 10, 0)},
			{"capacity 3, two replicas", "msk-w2", 3, []*appointments.Store{stA, stB}, at(msk, 3, 10, 0)},
		} {
			began := time.Now()
			got := race(t, 50, func(i int) error {
				st := tc.stores[i%len(tc.stores)]
				_, err := st.Book(ctx, fmt.Sprintf("%s-citizen-%d", tc.name, i), "msk", tc.resource, "svc-a", tc.slot)
				return err
			}, appointments.ErrSlotTaken)
			t.Logf("%s: 50 racers in %v", tc.name, time.Since(began))
			if got[nil] != tc.capacity || got[appointments.ErrSlotTaken] != 50-tc.capacity {
				t.Errorf("%s: %d booked, %d refused", tc.name, got[nil], got[appointments.ErrSlotTaken])
			}
			if n := count(t, a, `SELECT COUNT(*) FROM portal_appt_bookings WHERE resource_id = $1 AND starts_at = $2 AND status = 'booked'`,
				tc.resource, sqldb.Micros(tc.slot)); n != tc.capacity {
				t.Errorf("%s: %d bookings stored", tc.name, n)
			}
			if n := count(t, a, `SELECT COUNT(*) FROM portal_appt_claims WHERE resource_id = $1 AND cell_start = $2`,
				tc.resource, sqldb.Micros(tc.slot)); n != tc.capacity {
				t.Errorf("%s: %d claims stored", tc.name, n)
			}
		}
	})
}

// TestRaceOverlapping: 45-minute and 15-minute visits racing for
// overlapping cells of one window never share a cell.
func TestRaceOverlapping(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		stA, _ := fixture(t, a, clock)
		stB := appointments.NewStore(b, clock.Now)
		got := race(t, 30, func(i int) error {
			st := []*appointments.Store{stA, stB}[i%2]
			svc := []string{"svc-a", "svc-b"}[i%2]
			start := at(msk, 2, 10, 15*(i%4)) // 10:00, 10:15, 10:30, 10:45
			_, err := st.Book(ctx, fmt.Sprintf("c%d", i), "msk", "msk-w1", svc, start)
			return err
		}, appointments.ErrSlotTaken)
		if got[nil] == 0 {
			t.Fatal("nobody booked")
		}
		// Every cell at most once, and every booking fully claimed.
		if n := count(t, a, `SELECT COUNT(*) FROM (SELECT cell_start FROM portal_appt_claims WHERE resource_id = 'msk-w1'
			GROUP BY cell_start HAVING COUNT(*) > 1) x`); n != 0 {
			t.Fatalf("%d cells double-booked", n)
		}
		if n := count(t, a, `SELECT COUNT(*) FROM portal_appt_bookings b WHERE status = 'booked' AND
			(SELECT COUNT(*) FROM portal_appt_claims c WHERE c.booking_id = b.id) * 15 * 60 * 1000000 <> b.ends_at - b.starts_at`); n != 0 {
			t.Fatalf("%d bookings without all their cells", n)
		}
	})
}

// TestRaceOneCitizen: one citizen books one service at ten slots at once;
// one booking stands.
func TestRaceOneCitizen(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		stA, _ := fixture(t, a, clock)
		stB := appointments.NewStore(b, clock.Now)
		got := race(t, 10, func(i int) error {
			st := []*appointments.Store{stA, stB}[i%2]
			_, err := st.Book(ctx, "c1", "msk", "msk-w2", "svc-a", at(msk, 2, 9, 15*i))
			return err
		}, appointments.ErrActiveExists)
		if got[nil] != 1 || got[appointments.ErrActiveExists] != 9 {
			t.Fatalf("%d booked, %d refused", got[nil], got[appointments.ErrActiveExists])
		}
		if n := count(t, a, `SELECT COUNT(*) FROM portal_appt_claims`); n != 1 {
			t.Fatalf("%d claims left behind", n)
		}
	})
}

// TestRaceReschedule: ten citizens move their bookings into one free slot
// at once; one moves, the others keep theirs untouched.
func TestRaceReschedule(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		stA, _ := fixture(t, a, clock)
		stB := appointments.NewStore(b, clock.Now)
		var ids []string
		for i := range 10 {
			bk, err := stA.Book(ctx, fmt.Sprintf("c%d", i), "msk", "msk-w1", "svc-a", at(msk, 2, 14, 15*i))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, bk.ID)
		}
		target := at(msk, 2, 10, 0)
		got := race(t, 10, func(i int) error {
			st := []*appointments.Store{stA, stB}[i%2]
			_, err := st.Reschedule(ctx, fmt.Sprintf("c%d", i), ids[i], "", target, 1)
			return err
		}, appointments.ErrSlotTaken)
		if got[nil] != 1 || got[appointments.ErrSlotTaken] != 9 {
			t.Fatalf("%d moved, %d refused", got[nil], got[appointments.ErrSlotTaken])
		}
		moved := 0
		for i, id := range ids {
			bk, err := stA.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case bk.Start.Equal(target) && bk.Version == 2:
				moved++
			case !bk.Start.Equal(at(msk, 2, 14, 15*i)) || bk.Version != 1:
				t.Errorf("a refused reschedule changed %+v", bk)
			}
		}
		if moved != 1 || count(t, a, `SELECT COUNT(*) FROM portal_appt_claims`) != 10 {
			t.Fatalf("moved %d", moved)
		}
	})
}

// TestRaceClosure: bookings racing a closure of their window on another
// replica never end up active inside it.
func TestRaceClosure(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		stA, _ := fixture(t, a, clock)
		stB := appointments.NewStore(b, clock.Now)
		from, to := at(msk, 2, 9, 0), at(msk, 2, 13, 0)
		got := race(t, 17, func(i int) error {
			if i == 16 {
				_, err := stB.Close(ctx, "msk", from, to, "Авария")
				return err
			}
			_, err := stA.Book(ctx, fmt.Sprintf("c%d", i), "msk", "msk-w1", "svc-a", at(msk, 2, 9, 15*i))
			return err
		}, appointments.ErrNotOffered)
		if got[nil]+got[appointments.ErrNotOffered] != 17 {
			t.Fatalf("outcomes %v", got)
		}
		if n := count(t, a, `SELECT COUNT(*) FROM portal_appt_bookings WHERE status = 'booked' AND starts_at < $1 AND ends_at > $2`,
			sqldb.Micros(to), sqldb.Micros(from)); n != 0 {
			t.Fatalf("%d active bookings inside the closure", n)
		}
		if n := count(t, a, `SELECT COUNT(*) FROM portal_appt_claims`); n != 0 {
			t.Fatalf("%d claims inside the closure", n)
		}
	})
}
