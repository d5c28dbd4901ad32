package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// The clock-ahead and clock-behind scenarios step the last replica's
// clock by ±clockStep at --fault-at, while the journeys run: the replica
// re-reads its shift every second from the file named by
// GOSID_FAULT_CLOCK_FILE (internal/sqldb, faultclock.go). Tokens, codes and
// TOTP must still be judged right on both replicas (no failure), and the
// replica's correction to the database's clock (gosid_clock_offset_seconds)
// must catch up with the step within sqldb.ClockInterval.

// clockFile is the shift file of the stepped replica.
func clockFile(dir string) string { return filepath.Join(dir, "clock-step") }

// stepClock writes the step and waits until the replica's offset metric
// corrects it (fr.CatchUpSeconds; -1 if not within twice the interval).
func stepClock(ctx context.Context, cfg *soakConfig, cl *cluster, fr *faultResult) error {
	step := clockStep
	if cfg.Fault == "clock-behind" {
		step = -clockStep
	}
	if err := os.WriteFile(clockFile(cl.dataDir), []byte(step.String()+"\n"), 0o600); err != nil {
		return err
	}
	stepped := time.Now()
	last := cl.replicas[len(cl.replicas)-1]
	fr.CatchUpSeconds = -1
	for time.Since(stepped) < 2*sqldb.ClockInterval && ctx.Err() == nil {
		if v, ok := last.metric(ctx, "gosid_clock_offset_seconds"); ok && math.Abs(v+step.Seconds()) < 1 {
			fr.CatchUpSeconds = time.Since(stepped).Seconds()
			return nil
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	return nil
}
