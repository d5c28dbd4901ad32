package sqldb_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestClockStep: the process's clock steps two minutes, either way, while
// the process runs (a replica whose host clock is set: time.Now's wall
// reading moves, its monotonic one does not). Now keeps the
// database's time from the very next reading — expiry, tokens and TOTP
// steps are judged by it — and the offset catches up with the step well
// within ClockInterval, without waiting for the next regular measurement.
func TestClockStep(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		if db.Dialect() != sqldb.Postgres {
			t.Skip("with SQLite the clock is the host's: nothing to correct")
		}
		for _, step := range []time.Duration{2 * time.Minute, -2 * time.Minute} {
			ctx, cancel := context.WithCancel(context.Background())
			var shift atomic.Int64
			base := func() time.Time { return hostStep(time.Now(), time.Duration(shift.Load())) }
			c := sqldb.NewClock(ctx, db, base, slog.New(slog.DiscardHandler))
			if off := c.Offset(); off.Abs() > 50*time.Millisecond {
				t.Fatalf("offset %s before the step, want about 0", off)
			}
			shift.Store(int64(step))
			stepped := time.Now()
			if d := fromDB(c); d.Abs() > 100*time.Millisecond {
				t.Fatalf("step %s: Now is %s off the database's clock right after the step", step, d)
			}
			for (c.Offset() + step).Abs() > 50*time.Millisecond {
				if time.Since(stepped) > 3*time.Second {
					t.Fatalf("step %s: offset %s after 3 s, want about %s", step, c.Offset(), -step)
				}
				if d := fromDB(c); d.Abs() > 100*time.Millisecond {
					t.Fatalf("step %s: Now is %s off the database's clock while the offset catches up", step, d)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("step %s: offset caught up in %s", step, time.Since(stepped).Round(time.Millisecond))
			if d := fromDB(c); d.Abs() > 100*time.Millisecond {
				t.Fatalf("step %s: Now is %s off after the offset caught up", step, d)
			}
			cancel()
		}
	})
}

// fromDB is how far c.Now is from the database's clock (the test host's,
// unstepped), by wall readings.
func fromDB(c *sqldb.Clock) time.Duration { return c.Now().Round(0).Sub(time.Now().Round(0)) }

// hostStep is t with its wall clock moved by d and its monotonic reading
// kept: what time.Now returns after the host's clock was set. (t.Add moves
// both, and Sub of two such times compares the monotonic readings, which
// is how a real step went unnoticed.) It relies on time.Time's layout
// since Go 1.9, which TestHostStep checks.
func hostStep(t time.Time, d time.Duration) time.Time {
	type layout struct {
		wall uint64 // hasMonotonic(1) | seconds since 1885 (33) | nanoseconds (30)
		ext  int64
		loc  *time.Location
	}
	const hasMonotonic, nsecBits = 1 << 63, 30
	p := (*layout)(unsafe.Pointer(&t))
	if p.wall&hasMonotonic == 0 || d == 0 {
		return t.Add(d)
	}
	ns := int64(p.wall<<1>>(nsecBits+1))*1e9 + int64(p.wall&(1<<nsecBits-1)) + int64(d)
	p.wall = hasMonotonic | uint64(ns/1e9)<<nsecBits | uint64(ns%1e9)
	return t
}

// TestHostStep: hostStep moves the wall reading only.
func TestHostStep(t *testing.T) {
	now := time.Now()
	for _, d := range []time.Duration{2 * time.Minute, -2 * time.Minute, 1500 * time.Millisecond} {
		s := hostStep(now, d)
		if got := s.Sub(now); got != 0 {
			t.Errorf("hostStep(%s): the monotonic readings differ by %s", d, got)
		}
		if got := s.Round(0).Sub(now.Round(0)); got != d {
			t.Errorf("hostStep(%s): the wall readings differ by %s", d, got)
		}
	}
}
