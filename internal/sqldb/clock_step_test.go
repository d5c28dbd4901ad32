package sqldb_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestClockStep: the process's clock steps two minutes, either way, while
// the process runs (a replica whose host clock is set). Now keeps the
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
			base := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
			c := sqldb.NewClock(ctx, db, base, slog.New(slog.DiscardHandler))
			if off := c.Offset(); off.Abs() > 50*time.Millisecond {
				t.Fatalf("offset %s before the step, want about 0", off)
			}
			shift.Store(int64(step))
			stepped := time.Now()
			if d := time.Until(c.Now()); d.Abs() > 100*time.Millisecond {
				t.Fatalf("step %s: Now is %s off the database's clock right after the step", step, d)
			}
			for (c.Offset() + step).Abs() > 50*time.Millisecond {
				if time.Since(stepped) > 3*time.Second {
					t.Fatalf("step %s: offset %s after 3 s, want about %s", step, c.Offset(), -step)
				}
				if d := time.Until(c.Now()); d.Abs() > 100*time.Millisecond {
					t.Fatalf("step %s: Now is %s off the database's clock while the offset catches up", step, d)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("step %s: offset caught up in %s", step, time.Since(stepped).Round(time.Millisecond))
			if d := time.Until(c.Now()); d.Abs() > 100*time.Millisecond {
				t.Fatalf("step %s: Now is %s off after the offset caught up", step, d)
			}
			cancel()
		}
	})
}
