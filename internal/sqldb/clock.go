package sqldb

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Clock is the database's time as a replica sees it: the process's clock
// corrected by its offset to PostgreSQL's, measured now and again. Every
// replica then judges expiry (codes, tokens, sessions, flows) and TOTP
// steps by one clock, the database's, within a round trip — a replica
// whose host clock has stepped two minutes does not call a fresh code
// expired or a right authenticator code wrong. With SQLite (one process,
// the host's clock) the offset is zero.
type Clock struct {
	db     *DB
	base   func() time.Time
	offset atomic.Int64 // nanoseconds to add to base
	log    *slog.Logger
}

// ClockInterval is how often a Clock measures its offset.
const ClockInterval = 10 * time.Second

// NewClock measures the offset to db's clock once (an error leaves it
// zero and is logged) and keeps measuring it every ClockInterval until ctx
// ends. base is the process's clock (time.Now).
func NewClock(ctx context.Context, db *DB, base func() time.Time, log *slog.Logger) *Clock {
	c := &Clock{db: db, base: base, log: log}
	if db.Dialect() != Postgres {
		return c
	}
	c.measure(ctx)
	go func() {
		t := time.NewTicker(ClockInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.measure(ctx)
			}
		}
	}()
	return c
}

// Now is the database's time.
func (c *Clock) Now() time.Time { return c.base().Add(time.Duration(c.offset.Load())) }

// Offset is what is added to the process's clock (a metric: a large one
// means the host's clock is off).
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// measure reads the database's clock three times and keeps the reading
// with the shortest round trip, assuming the server read its clock
// halfway through it.
func (c *Clock) measure(ctx context.Context) {
	best, bestRTT := time.Duration(0), time.Duration(-1)
	for range 3 {
		t0 := c.base()
		var us int64
		err := c.db.QueryRow(ctx, `SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint`).Scan(&us)
		t1 := c.base()
		if err != nil {
			if ctx.Err() == nil {
				c.log.WarnContext(ctx, "database clock: not measured", "err", err)
			}
			return
		}
		if rtt := t1.Sub(t0); bestRTT < 0 || rtt < bestRTT {
			bestRTT = rtt
			best = time.UnixMicro(us).Sub(t0.Add(rtt / 2))
		}
	}
	if old := time.Duration(c.offset.Swap(int64(best))); (best - old).Abs() > time.Second {
		c.log.WarnContext(ctx, "database clock: this host's clock is off; the database's is used", "offset", best.Round(time.Millisecond), "round_trip", bestRTT)
	}
}
