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
//
// Between two measurements the process's clock may step (an operator, a
// virtual machine resumed, NTP stepping rather than slewing): Now notices
// at once, by comparing it with the monotonic clock since the last
// measurement, keeps to the monotonic clock, and asks for a new
// measurement without waiting for the interval, so that neither the
// judgement of expiry nor the offset metric lags behind the step.
type Clock struct {
	db    *DB
	base  func() time.Time
	state atomic.Pointer[clockState]
	kick  chan struct{}
	log   *slog.Logger
}

// clockState is the last measurement: the offset to add to base, and a
// base reading (its wall clock only) taken with the monotonic clock's at
// one moment.
type clockState struct {
	offset time.Duration
	base   time.Time
	mono   time.Time
}

// ClockInterval is how often a Clock measures its offset.
const ClockInterval = 10 * time.Second

// StepTolerance is how far the process's clock may drift from the
// monotonic clock between measurements before Now takes it for a step.
const StepTolerance = time.Second

// NewClock measures the offset to db's clock once (an error leaves it
// zero and is logged) and keeps measuring it every ClockInterval, and at
// once after a step of base, until ctx ends. base is the process's clock
// (time.Now).
func NewClock(ctx context.Context, db *DB, base func() time.Time, log *slog.Logger) *Clock {
	c := &Clock{db: db, base: base, log: log, kick: make(chan struct{}, 1)}
	if db.Dialect() != Postgres {
		return c
	}
	c.measure(ctx)
	go func() {
		t := time.NewTicker(ClockInterval)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-c.kick:
				if time.Since(last) < time.Second {
					continue // at most one early measurement a second
				}
			}
			c.measure(ctx)
			last = time.Now()
		}
	}()
	return c
}

// Now is the database's time.
func (c *Clock) Now() time.Time {
	// The wall reading alone: time.Now's monotonic reading would make
	// Sub below compare monotonic clocks, which a host's clock step does
	// not move.
	b := c.base().Round(0)
	st := c.state.Load()
	if st == nil {
		return b
	}
	if want := st.base.Add(time.Since(st.mono)); (b.Sub(want)).Abs() > StepTolerance {
		// base stepped since the measurement: keep to the monotonic
		// clock until the next measurement, and ask for it now.
		select {
		case c.kick <- struct{}{}:
		default:
		}
		b = want
	}
	return b.Add(st.offset)
}

// Offset is what is added to the process's clock (a metric: a large one
// means the host's clock is off).
func (c *Clock) Offset() time.Duration {
	if st := c.state.Load(); st != nil {
		return st.offset
	}
	return 0
}

// measure reads the database's clock three times and keeps the reading
// with the shortest round trip, assuming the server read its clock
// halfway through it.
func (c *Clock) measure(ctx context.Context) {
	best, bestRTT := time.Duration(0), time.Duration(-1)
	var ref clockState
	for range 3 {
		m0, t0 := time.Now(), c.base()
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
			ref = clockState{offset: best, base: t0.Round(0), mono: m0}
		}
	}
	if old := c.state.Swap(&ref); old == nil && best.Abs() > time.Second || old != nil && (best-old.offset).Abs() > time.Second {
		c.log.WarnContext(ctx, "database clock: this host's clock is off; the database's is used", "offset", best.Round(time.Millisecond), "round_trip", bestRTT)
	}
}
