package sqldb

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// FaultClock is `gosid serve`'s clock under fault injection: the host's
// clock shifted by Fixed (GOSID_FAULT_CLOCK_OFFSET, from the start) plus
// the duration written in File (GOSID_FAULT_CLOCK_FILE), which is read
// again every second, so that a soak can step one replica's clock while
// the load runs (cmd/gosid-load's clock-ahead and clock-behind). A missing
// or empty file adds nothing; an unreadable duration, or one beyond
// ±MaxClockFault, is logged and ignored.
type FaultClock struct {
	Fixed time.Duration
	File  string
	shift atomic.Int64 // nanoseconds, from the file
}

// MaxClockFault bounds a FaultClock's shifts, Fixed and the file's each.
const MaxClockFault = 10 * time.Minute

// StartFaultClock logs that this process's clock is shifted, reads file
// once, watches it (Watch) until ctx ends and returns the shifted clock,
// for NewClock's base.
func StartFaultClock(ctx context.Context, fixed time.Duration, file string, log *slog.Logger) func() time.Time {
	log.Warn("fault injection: this process's clock is shifted", "offset", fixed, "file", file != "")
	f := &FaultClock{Fixed: fixed, File: file}
	f.Read(log)
	go f.Watch(ctx, log)
	return f.Now
}

// Now is the host's clock shifted.
func (f *FaultClock) Now() time.Time { return time.Now().Add(f.Fixed + time.Duration(f.shift.Load())) }

// Read reads the file once.
func (f *FaultClock) Read(log *slog.Logger) {
	if f.File == "" {
		return
	}
	b, err := os.ReadFile(f.File)
	var d time.Duration
	switch {
	case os.IsNotExist(err):
	case err != nil:
		log.Warn("fault injection: clock file unreadable", "err", err)
		return
	default:
		if v := strings.TrimSpace(string(b)); v != "" {
			if d, err = time.ParseDuration(v); err != nil || d.Abs() > MaxClockFault {
				log.Warn("fault injection: the clock file holds no duration within ±10m")
				return
			}
		}
	}
	if old := time.Duration(f.shift.Swap(int64(d))); old != d {
		log.Warn("fault injection: this process's clock steps", "from", f.Fixed+old, "to", f.Fixed+d)
	}
}

// Watch reads the file every second until ctx ends.
func (f *FaultClock) Watch(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Read(log)
		}
	}
}
