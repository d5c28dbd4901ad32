package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// faultClock is `gosid serve`'s clock under fault injection: the host's
// clock shifted by GOSID_FAULT_CLOCK_OFFSET (from the start) plus the
// duration written in GOSID_FAULT_CLOCK_FILE, which is read again every
// second, so that a soak can step one replica's clock while the load runs
// (cmd/gosid-load's clock-ahead and clock-behind). A missing or empty file
// adds nothing; an unreadable duration, or one beyond ±10 minutes, is
// logged and ignored.
type faultClock struct {
	fixed time.Duration
	file  string
	shift atomic.Int64 // nanoseconds, from the file
}

const maxClockFault = 10 * time.Minute

func (f *faultClock) now() time.Time { return time.Now().Add(f.fixed + time.Duration(f.shift.Load())) }

// read reads the file once.
func (f *faultClock) read(log *slog.Logger) {
	if f.file == "" {
		return
	}
	b, err := os.ReadFile(f.file)
	var d time.Duration
	switch {
	case os.IsNotExist(err):
	case err != nil:
		log.Warn("fault injection: clock file unreadable", "err", err)
		return
	default:
		if v := strings.TrimSpace(string(b)); v != "" {
			if d, err = time.ParseDuration(v); err != nil || d.Abs() > maxClockFault {
				log.Warn("fault injection: the clock file holds no duration within ±10m")
				return
			}
		}
	}
	if old := time.Duration(f.shift.Swap(int64(d))); old != d {
		log.Warn("fault injection: this process's clock steps", "from", f.fixed+old, "to", f.fixed+d)
	}
}

// watch reads the file every second until ctx ends.
func (f *faultClock) watch(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.read(log)
		}
	}
}
