package ratelimit_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type clock = sqldbtest.Clock

func newClock() *clock { return sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)) }

// replicas runs fn on SQLite and PostgreSQL with n handles on one fresh
// migrated database, as n replicas would have.
func replicas(t *testing.T, n int, fn func(t *testing.T, dbs []*sqldb.DB)) {
	t.Helper()
	open := func(t *testing.T, cfg sqldb.Config) []*sqldb.DB {
		var dbs []*sqldb.DB
		for range n {
			db, err := sqldb.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs = append(dbs, db)
		}
		return dbs
	}
	t.Run("sqlite", func(t *testing.T) { fn(t, open(t, sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)})) })
	t.Run("postgres", func(t *testing.T) { fn(t, open(t, sqldb.Config{URL: sqldbtest.PostgresURL(t)})) })
}

func mustAllow(t *testing.T, l *ratelimit.Limiter, rule ratelimit.Rule, key string, wantOK bool, wantRetry time.Duration) {
	t.Helper()
	ok, retry, err := l.Allow(context.Background(), rule, key)
	if err != nil {
		t.Fatal(err)
	}
	if ok != wantOK || retry != wantRetry {
		t.Fatalf("Allow(%s, %q) = %v, %v; want %v, %v", rule.Name, key, ok, retry, wantOK, wantRetry)
	}
}

func TestSlidingWindow(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		l := ratelimit.New(db, c.Now)
		rule := ratelimit.Rule{Name: "login-ip", Limit: 3, Window: 10 * time.Minute}
		mustAllow(t, l, rule, "192.0.2.1", true, 0) // t0
		c.Advance(time.Minute)
		mustAllow(t, l, rule, "192.0.2.1", true, 0) // t0+1m
		c.Advance(time.Minute)
		mustAllow(t, l, rule, "192.0.2.1", true, 0) // t0+2m
		c.Advance(time.Minute)
		// Full: the t0 hit ages out at t0+10m, 7 minutes from now.
		mustAllow(t, l, rule, "192.0.2.1", false, 7*time.Minute)
		// Refusals are not logged, so they do not push the retry time.
		mustAllow(t, l, rule, "192.0.2.1", false, 7*time.Minute)
		// Other keys and other rules on the same key are counted apart.
		mustAllow(t, l, rule, "192.0.2.2", true, 0)
		mustAllow(t, l, ratelimit.Rule{Name: "otp-ip", Limit: 1, Window: time.Hour}, "192.0.2.1", true, 0)

		c.Advance(7*time.Minute - time.Microsecond)
		mustAllow(t, l, rule, "192.0.2.1", false, time.Microsecond)
		c.Advance(time.Microsecond) // t0+10m: the t0 hit no longer counts
		mustAllow(t, l, rule, "192.0.2.1", true, 0)
		// Full again with hits at t0+1m, t0+2m, t0+10m.
		mustAllow(t, l, rule, "192.0.2.1", false, time.Minute)
	})
}

// TestNoBoundaryBurst: a fixed window would admit a second full batch just
// after a boundary; the sliding log does not.
func TestNoBoundaryBurst(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Date(2026, 3, 2, 23, 59, 0, 0, time.UTC))
		l := ratelimit.New(db, c.Now)
		rule := ratelimit.Rule{Name: "otp-destination", Limit: 2, Window: 24 * time.Hour}
		mustAllow(t, l, rule, "k", true, 0)
		mustAllow(t, l, rule, "k", true, 0)
		c.Advance(2 * time.Minute) // past midnight
		mustAllow(t, l, rule, "k", false, 24*time.Hour-2*time.Minute)
		c.Advance(24*time.Hour - 2*time.Minute)
		mustAllow(t, l, rule, "k", true, 0)
	})
}

func TestPeekReset(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		l := ratelimit.New(db, c.Now)
		rule := ratelimit.Rule{Name: "login-failures", Limit: 2, Window: time.Hour}
		for range 5 {
			if ok, _, err := l.Peek(ctx, rule, "+79990000000"); err != nil || !ok {
				t.Fatalf("Peek on a fresh key = %v, %v", ok, err)
			}
		}
		mustAllow(t, l, rule, "+79990000000", true, 0)
		mustAllow(t, l, rule, "+79990000000", true, 0)
		ok, retry, err := l.Peek(ctx, rule, "+79990000000")
		if err != nil || ok || retry != time.Hour {
			t.Fatalf("Peek on a full key = %v, %v, %v; want false, 1h", ok, retry, err)
		}
		other := ratelimit.Rule{Name: "login-ip", Limit: 1, Window: time.Hour}
		mustAllow(t, l, other, "+79990000000", true, 0)
		if err := l.Reset(ctx, rule, "+79990000000"); err != nil {
			t.Fatal(err)
		}
		mustAllow(t, l, rule, "+79990000000", true, 0)
		// Reset touched only its own rule.
		mustAllow(t, l, other, "+79990000000", false, time.Hour)
		if err := l.Reset(ctx, rule, "never-seen"); err != nil {
			t.Fatalf("Reset of an unknown key: %v", err)
		}
	})
}

// TestKeysHashed: the key never reaches the database, only
// SHA-256(name || 0 || key).
func TestKeysHashed(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l := ratelimit.New(db, newClock().Now)
		rule := ratelimit.Rule{Name: "otp-ip", Limit: 5, Window: time.Hour}
		mustAllow(t, l, rule, "198.51.100.7", true, 0)
		want := sha256.Sum256([]byte("otp-ip\x00198.51.100.7"))
		for _, table := range []string{"rate_limit_keys", "rate_limit_hits"} {
			var got []byte
			if err := db.QueryRow(ctx, `SELECT key_hash FROM `+table).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want[:]) {
				t.Fatalf("%s.key_hash = %x, want %x", table, got, want)
			}
		}
	})
}

func TestSweep(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		l := ratelimit.New(db, c.Now)
		short := ratelimit.Rule{Name: "short", Limit: 5, Window: time.Minute}
		long := ratelimit.Rule{Name: "long", Limit: 1, Window: time.Hour}
		mustAllow(t, l, short, "a", true, 0)
		mustAllow(t, l, short, "a", true, 0)
		mustAllow(t, l, short, "b", true, 0)
		mustAllow(t, l, long, "a", true, 0)
		if n, err := l.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("Sweep with everything live = %d, %v; want 0", n, err)
		}
		c.Advance(time.Minute)
		// Three hits and two key rows of "short"; "long" is still live.
		if n, err := l.Sweep(ctx); err != nil || n != 5 {
			t.Fatalf("Sweep = %d, %v; want 5", n, err)
		}
		mustAllow(t, l, long, "a", false, 59*time.Minute)
		mustAllow(t, l, short, "a", true, 0)
	})
}

func TestInvalidRule(t *testing.T) {
	db := sqldbtest.SQLite(t)
	l := ratelimit.New(db, nil)
	for _, r := range []ratelimit.Rule{
		{Name: "", Limit: 1, Window: time.Minute},
		{Name: "x", Limit: 0, Window: time.Minute},
		{Name: "x", Limit: 1, Window: time.Nanosecond},
	} {
		if _, _, err := l.Allow(context.Background(), r, "k"); !errors.Is(err, ratelimit.ErrInvalidRule) {
			t.Errorf("Allow(%+v) error = %v, want ErrInvalidRule", r, err)
		}
	}
}

// TestConcurrentExact: 20 goroutines × 5 hits over four handles (replicas)
// on a limit of 37 admit exactly 37.
func TestConcurrentExact(t *testing.T) {
	replicas(t, 4, func(t *testing.T, dbs []*sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		rule := ratelimit.Rule{Name: "otp-ip", Limit: 37, Window: 24 * time.Hour}
		var admitted, refused atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for g := range 20 {
			l := ratelimit.New(dbs[g%len(dbs)], c.Now)
			wg.Go(func() {
				for range 5 {
					ok, _, err := l.Allow(ctx, rule, "203.0.113.9")
					switch {
					case err != nil:
						errs <- err
					case ok:
						admitted.Add(1)
					default:
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if admitted.Load() != 37 || refused.Load() != 63 {
			t.Fatalf("admitted %d, refused %d; want 37, 63", admitted.Load(), refused.Load())
		}
		var n int
		if err := dbs[0].QueryRow(ctx, `SELECT count(*) FROM rate_limit_hits`).Scan(&n); err != nil || n != 37 {
			t.Fatalf("%d hit rows (err %v), want 37", n, err)
		}
	})
}

func BenchmarkAllow(b *testing.B) {
	sqldbtest.Bench(b, func(b *testing.B, db *sqldb.DB) {
		l := ratelimit.New(db, nil)
		rule := ratelimit.Rule{Name: "bench", Limit: 1 << 30, Window: time.Hour}
		ctx := context.Background()
		i := 0
		for b.Loop() {
			// Spread over keys: one hot key would measure its log's growth.
			if _, _, err := l.Allow(ctx, rule, fmt.Sprint(i%1000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "allows/s")
	})
}

func TestPeekAll(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		l := ratelimit.New(db, c.Now)
		ip := ratelimit.Rule{Name: "ip", Limit: 3, Window: time.Minute}
		login := ratelimit.Rule{Name: "login", Limit: 2, Window: time.Hour}
		checks := []ratelimit.Check{{Rule: ip, Key: "10.0.0.1"}, {Rule: login, Key: "+79123456789"}}
		if ok, _, err := l.PeekAll(ctx, checks...); err != nil || !ok {
			t.Fatalf("fresh keys: %v %v", ok, err)
		}
		mustAllow(t, l, login, "+79123456789", true, 0)
		c.Advance(10 * time.Minute)
		mustAllow(t, l, login, "+79123456789", true, 0)
		for range 3 {
			mustAllow(t, l, ip, "10.0.0.1", true, 0)
		}
		ok, wait, err := l.PeekAll(ctx, checks...)
		if err != nil || ok || wait != 50*time.Minute {
			t.Fatalf("both over: ok=%v wait=%v err=%v; want the longer wait, 50m", ok, wait, err)
		}
		c.Advance(time.Minute) // the IP hits age out; the login's do not
		ok, wait, err = l.PeekAll(ctx, checks...)
		if err != nil || ok || wait != 49*time.Minute {
			t.Fatalf("login over: ok=%v wait=%v err=%v", ok, wait, err)
		}
		if ok, _, err := l.PeekAll(ctx, ratelimit.Check{Rule: ip, Key: "10.0.0.1"}); err != nil || !ok {
			t.Fatalf("the IP alone: %v %v", ok, err)
		}
		// Peek and PeekAll agree.
		for _, ch := range checks {
			ok1, w1, _ := l.Peek(ctx, ch.Rule, ch.Key)
			ok2, w2, _ := l.PeekAll(ctx, ch)
			if ok1 != ok2 || w1 != w2 {
				t.Errorf("%s: Peek %v %v, PeekAll %v %v", ch.Rule.Name, ok1, w1, ok2, w2)
			}
		}
	})
}
