package otp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var pepper = []byte("0123456789abcdef0123456789abcdef")

const (
	phone = "+79161234567"
	ip    = "192.0.2.10"
)

type clock = sqldbtest.Clock

func newService(t testing.TB, db *sqldb.DB, c *clock, edit func(*otp.Config)) *otp.Service {
	t.Helper()
	cfg := otp.Config{Pepper: pepper, Now: c.Now}
	if edit != nil {
		edit(&cfg)
	}
	s, err := otp.New(db, ratelimit.New(db, c.Now), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setup(t *testing.T, db *sqldb.DB) (*otp.Service, *clock) {
	c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	return newService(t, db, c, nil), c
}

func issue(t *testing.T, s *otp.Service, purpose, dest, ip string) otp.Challenge {
	t.Helper()
	ch, err := s.Issue(context.Background(), purpose, dest, ip)
	if err != nil {
		t.Fatalf("Issue(%s): %v", purpose, err)
	}
	return ch
}

func wrong(code string) string {
	return string('0'+(code[0]-'0'+1)%10) + code[1:]
}

func wantErr(t *testing.T, got, want error) {
	t.Helper()
	if !errors.Is(got, want) || (want == nil && got != nil) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func wantWrong(t *testing.T, err error, left int) {
	t.Helper()
	var wc *otp.ErrWrongCode
	if !errors.As(err, &wc) || wc.AttemptsLeft != left {
		t.Fatalf("got %v, want ErrWrongCode{AttemptsLeft: %d}", err, left)
	}
}

func TestIssueVerifySingleUse(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		ch := issue(t, s, "login", phone, ip)
		if len(ch.Code) != 6 || strings.Trim(ch.Code, "0123456789") != "" {
			t.Fatalf("code %q is not 6 digits", ch.Code)
		}
		if len(ch.ID) < 22 || !ch.ExpiresAt.Equal(c.Now().Add(5*time.Minute)) {
			t.Fatalf("challenge id %q, expires %v", ch.ID, ch.ExpiresAt)
		}
		wantErr(t, s.Verify(ctx, ch.ID, "login", phone, ch.Code), nil)
		wantErr(t, s.Verify(ctx, ch.ID, "login", phone, ch.Code), otp.ErrNotFound)
		wantErr(t, s.Verify(ctx, ch.ID, "login", phone, wrong(ch.Code)), otp.ErrNotFound)
		// Used, said so (no guess can succeed on it); an unknown one is not.
		wantErr(t, s.Verify(ctx, ch.ID, "login", phone, ch.Code), otp.ErrUsed)
		if err := s.Verify(ctx, "no-such-id", "login", phone, ch.Code); errors.Is(err, otp.ErrUsed) {
			t.Fatal("an unknown challenge reads as used")
		}
		wantErr(t, s.Verify(ctx, "no-such-id", "login", phone, ch.Code), otp.ErrNotFound)
		// The package's not-found is also the storage layer's.
		wantErr(t, s.Verify(ctx, "no-such-id", "login", phone, ch.Code), sqldb.ErrNotFound)
	})
}

func TestWrongThriceDead(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := setup(t, db)
		ch := issue(t, s, "login", phone, ip)
		bad := wrong(ch.Code)
		wantWrong(t, s.Verify(ctx, ch.ID, "login", phone, bad), 2)
		wantWrong(t, s.Verify(ctx, ch.ID, "login", phone, "12"), 1) // malformed counts too
		wantWrong(t, s.Verify(ctx, ch.ID, "login", phone, bad), 0)
		wantErr(t, s.Verify(ctx, ch.ID, "login", phone, ch.Code), otp.ErrTooManyAttempts)
		wantErr(t, s.Verify(ctx, ch.ID, "login", phone, bad), otp.ErrTooManyAttempts)
		if err := s.Verify(ctx, ch.ID, "login", phone, bad); errors.Is(err, &otp.ErrWrongCode{}) {
			t.Fatal("a dead challenge still judges codes")
		}
	})
}

func TestExpiry(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		a := issue(t, s, "login", phone, ip)
		b := issue(t, s, "register", phone, ip)
		c.Advance(5*time.Minute - time.Microsecond)
		wantErr(t, s.Verify(ctx, a.ID, "login", phone, a.Code), nil)
		c.Advance(time.Microsecond) // exactly TTL
		wantErr(t, s.Verify(ctx, b.ID, "register", phone, wrong(b.Code)), otp.ErrExpired)
		wantErr(t, s.Verify(ctx, b.ID, "register", phone, b.Code), otp.ErrExpired)
		wantErr(t, s.Verify(ctx, b.ID, "register", phone, b.Code), sqldb.ErrExpired)
	})
}

func TestResendCooldown(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		first := issue(t, s, "register", phone, ip)
		c.Advance(20 * time.Second)
		_, err := s.Issue(ctx, "register", phone, ip)
		var soon *otp.ErrResendTooSoon
		if !errors.As(err, &soon) || soon.RetryAfter != 40*time.Second {
			t.Fatalf("second Issue after 20s: %v, want ErrResendTooSoon{40s}", err)
		}
		// The cool-down is per (purpose, destination).
		issue(t, s, "contact", phone, ip)
		issue(t, s, "register", "+79160000000", ip)
		// The refused Issue created nothing: the first code still works…
		c.Advance(40*time.Second - time.Microsecond)
		if _, err := s.Issue(ctx, "register", phone, ip); !errors.Is(err, &otp.ErrResendTooSoon{}) {
			t.Fatalf("Issue 1µs before the cool-down ends: %v", err)
		}
		c.Advance(time.Microsecond)
		second := issue(t, s, "register", phone, ip)
		// …until a new one replaces it.
		wantErr(t, s.Verify(ctx, first.ID, "register", phone, first.Code), otp.ErrNotFound)
		if first.ID == second.ID {
			t.Fatal("the new code reuses the challenge id")
		}
		wantErr(t, s.Verify(ctx, second.ID, "register", phone, first.Code), &otp.ErrWrongCode{})
		wantErr(t, s.Verify(ctx, second.ID, "register", phone, second.Code), nil)
	})
}

func TestDailyCapPerDestination(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		purposes := []string{"login", "register"} // the cap counts all purposes
		var last otp.Challenge
		for i := range 10 {
			last = issue(t, s, purposes[i%2], phone, fmt.Sprintf("192.0.2.%d", i))
			c.Advance(61 * time.Second)
		}
		_, err := s.Issue(ctx, "recover", phone, "198.51.100.1")
		var capErr *otp.DailyCapError
		if !errors.Is(err, otp.ErrDailyCap) || !errors.As(err, &capErr) || capErr.Scope != "destination" {
			t.Fatalf("11th Issue: %v, want a destination DailyCapError", err)
		}
		if want := 24*time.Hour - 10*61*time.Second; capErr.RetryAfter != want {
			t.Fatalf("RetryAfter %v, want %v", capErr.RetryAfter, want)
		}
		// Other destinations are unaffected; the last code still works.
		issue(t, s, "recover", "+79160000000", "198.51.100.1")
		wantErr(t, s.Verify(ctx, last.ID, purposes[1], phone, last.Code), nil)
		// The next day (24 h after the first code) one more is allowed.
		c.Advance(capErr.RetryAfter - time.Microsecond)
		wantErr(t, func() error { _, err := s.Issue(ctx, "recover", phone, ip); return err }(), otp.ErrDailyCap)
		c.Advance(time.Microsecond)
		issue(t, s, "recover", phone, ip)
	})
}

func TestDailyCapPerIP(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
		s := newService(t, db, c, func(cfg *otp.Config) { cfg.DailyPerDestination = 1 })
		for i := range 30 {
			issue(t, s, "register", fmt.Sprintf("+7916000%04d", i), ip)
		}
		_, err := s.Issue(ctx, "register", phone, ip)
		var capErr *otp.DailyCapError
		if !errors.As(err, &capErr) || capErr.Scope != "ip" || capErr.RetryAfter != 24*time.Hour {
			t.Fatalf("31st Issue from one IP: %v, want an IP DailyCapError, retry 24h", err)
		}
		// The refusal did not spend the destination's (single) daily code.
		issue(t, s, "register", phone, "198.51.100.1")
		c.Advance(24 * time.Hour)
		issue(t, s, "register", "+79169999999", ip)
	})
}

func TestPurposeAndDestinationBinding(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := setup(t, db)
		ch := issue(t, s, "register", phone, ip)
		wantErr(t, s.Verify(ctx, ch.ID, "recover", phone, ch.Code), otp.ErrNotFound)
		wantErr(t, s.Verify(ctx, ch.ID, "register", "+79160000000", ch.Code), otp.ErrNotFound)
		// Mismatches cost no attempt.
		for range 5 {
			wantErr(t, s.Verify(ctx, ch.ID, "recover", phone, wrong(ch.Code)), otp.ErrNotFound)
		}
		wantWrong(t, s.Verify(ctx, ch.ID, "register", phone, wrong(ch.Code)), 2)
		wantErr(t, s.Verify(ctx, ch.ID, "register", phone, ch.Code), nil)
	})
}

// TestNothingInClear: neither the code, the destination, the IP nor the
// challenge id is stored, and no error or log value shows the code.
func TestNothingInClear(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := setup(t, db)
		ch := issue(t, s, "login", phone, ip)
		err := s.Verify(ctx, ch.ID, "login", phone, wrong(ch.Code))
		var dump bytes.Buffer
		for _, table := range []string{"otp_challenges", "rate_limit_keys", "rate_limit_hits"} {
			rows, err := db.Query(ctx, `SELECT * FROM `+table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&dump, "%s %v\n", table, vals)
				for _, v := range vals {
					if b, ok := v.([]byte); ok {
						dump.Write(b)
					}
				}
			}
			rows.Close()
		}
		for _, secret := range []string{ch.Code, phone, "9161234567", ip, ch.ID} {
			if bytes.Contains(dump.Bytes(), []byte(secret)) {
				t.Errorf("database holds %q in clear", secret)
			}
		}
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("issued", "challenge", ch)
		for _, s := range []string{err.Error(), fmt.Sprint(ch), fmt.Sprintf("%+v", ch), logged.String()} {
			if strings.Contains(s, ch.Code) {
				t.Errorf("%q shows the code", s)
			}
		}
	})
}

// scripted returns the bytes it was given, then crypto/rand's.
type scripted struct{ r io.Reader }

func (s scripted) Read(p []byte) (int, error) { return s.r.Read(p) }

// TestCodeRejectionSampling: a 64-bit draw in the biased top range is
// discarded rather than reduced modulo 10^6, and codes keep leading zeros.
func TestCodeRejectionSampling(t *testing.T) {
	db := sqldbtest.SQLite(t)
	c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	script := slices.Concat(
		bytes.Repeat([]byte{7}, 16),                            // challenge id
		[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // ≥ the largest multiple of 10^6: rejected
		[]byte{0, 0, 0, 0, 0, 0, 0, 42},                        // 42 → "000042"
	)
	s := newService(t, db, c, func(cfg *otp.Config) { cfg.Rand = scripted{io.MultiReader(bytes.NewReader(script), rand.Reader)} })
	ch := issue(t, s, "login", phone, ip)
	if ch.Code != "000042" {
		t.Fatalf("code %q, want 000042", ch.Code)
	}
}

func TestSweep(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		a := issue(t, s, "login", phone, ip)
		wantErr(t, s.Verify(ctx, a.ID, "login", phone, a.Code), nil)
		c.Advance(time.Minute)
		b := issue(t, s, "register", phone, ip)
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("Sweep = %d, %v; want 0", n, err)
		}
		c.Advance(4 * time.Minute) // a expires
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1", n, err)
		}
		wantErr(t, s.Verify(ctx, b.ID, "register", phone, b.Code), nil)
	})
}

func TestConfig(t *testing.T) {
	db := sqldbtest.SQLite(t)
	lim := ratelimit.New(db, nil)
	for name, cfg := range map[string]otp.Config{
		"no pepper":    {},
		"short pepper": {Pepper: pepper[:31]},
		"length":       {Pepper: pepper, Length: 3},
		"negative ttl": {Pepper: pepper, TTL: -time.Second},
	} {
		if _, err := otp.New(db, lim, cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := otp.New(db, nil, otp.Config{Pepper: pepper}); err == nil {
		t.Error("New accepted a nil limiter")
	}
	s, err := otp.New(db, lim, otp.Config{Pepper: pepper, Length: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ch, err := s.Issue(ctx, "login", phone, ip)
	if err != nil || len(ch.Code) != 8 {
		t.Fatalf("8-digit code %q, %v", ch.Code, err)
	}
	for _, args := range [][3]string{{"", phone, ip}, {"Login", phone, ip}, {"login", "", ip}, {"login", phone, ""}} {
		if _, err := s.Issue(ctx, args[0], args[1], args[2]); !errors.Is(err, otp.ErrInvalid) {
			t.Errorf("Issue%q: %v, want ErrInvalid", args, err)
		}
	}
}

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

// race runs f once in each of n goroutines, spread over the replicas, and
// returns the errors.
func race(n int, svcs []*otp.Service, f func(s *otp.Service) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(svcs[i%len(svcs)])
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func services(t *testing.T, dbs []*sqldb.DB, c *clock) []*otp.Service {
	var out []*otp.Service
	for _, db := range dbs {
		out = append(out, newService(t, db, c, nil))
	}
	return out
}

func TestConcurrentCorrectCodes(t *testing.T) {
	replicas(t, 4, func(t *testing.T, dbs []*sqldb.DB) {
		c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
		svcs := services(t, dbs, c)
		ch, err := svcs[0].Issue(context.Background(), "login", phone, ip)
		if err != nil {
			t.Fatal(err)
		}
		errs := race(8, svcs, func(s *otp.Service) error {
			return s.Verify(context.Background(), ch.ID, "login", phone, ch.Code)
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, otp.ErrNotFound):
				t.Errorf("loser got %v, want ErrNotFound", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 8 concurrent correct codes succeeded, want exactly 1", ok)
		}
	})
}

func TestConcurrentWrongCodes(t *testing.T) {
	replicas(t, 4, func(t *testing.T, dbs []*sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
		svcs := services(t, dbs, c)
		ch, err := svcs[0].Issue(ctx, "login", phone, ip)
		if err != nil {
			t.Fatal(err)
		}
		errs := race(8, svcs, func(s *otp.Service) error {
			return s.Verify(ctx, ch.ID, "login", phone, wrong(ch.Code))
		})
		var left []int
		dead := 0
		for _, err := range errs {
			var wc *otp.ErrWrongCode
			switch {
			case errors.As(err, &wc):
				left = append(left, wc.AttemptsLeft)
			case errors.Is(err, otp.ErrTooManyAttempts):
				dead++
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		slices.Sort(left)
		if !slices.Equal(left, []int{0, 1, 2}) || dead != 5 {
			t.Fatalf("wrong-code results: attempts left %v and %d dead; want [0 1 2] and 5", left, dead)
		}
		wantErr(t, svcs[1].Verify(ctx, ch.ID, "login", phone, ch.Code), otp.ErrTooManyAttempts)
		var attempts int
		if err := dbs[0].QueryRow(ctx, `SELECT attempts FROM otp_challenges`).Scan(&attempts); err != nil || attempts != 3 {
			t.Fatalf("attempts = %d (err %v), want 3", attempts, err)
		}
	})
}

// TestConcurrentIssue: racing Issues for one pair create one code.
func TestConcurrentIssue(t *testing.T) {
	replicas(t, 4, func(t *testing.T, dbs []*sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
		svcs := services(t, dbs, c)
		var mu sync.Mutex
		var won []otp.Challenge
		errs := race(8, svcs, func(s *otp.Service) error {
			ch, err := s.Issue(ctx, "login", phone, ip)
			if err == nil {
				mu.Lock()
				won = append(won, ch)
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, &otp.ErrResendTooSoon{}) {
				t.Errorf("unexpected %v", err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d concurrent Issues succeeded, want 1", len(won))
		}
		wantErr(t, svcs[2].Verify(ctx, won[0].ID, "login", phone, won[0].Code), nil)
	})
}

func BenchmarkIssue(b *testing.B) { benchmark(b, false) }

func BenchmarkVerify(b *testing.B) { benchmark(b, true) }

func benchmark(b *testing.B, verify bool) {
	sqldbtest.Bench(b, func(b *testing.B, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
		s := newService(b, db, c, nil)
		// Distinct destinations and IPs: every Issue passes the caps, as
		// in production, and the rate-limit logs stay short.
		do := func(i int) otp.Challenge {
			ch, err := s.Issue(ctx, "login", fmt.Sprintf("+7900%07d", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
			if err != nil {
				b.Fatal(err)
			}
			return ch
		}
		if !verify {
			for i := 0; i < b.N; i++ {
				do(i)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issues/s")
			return
		}
		chs := make([]otp.Challenge, b.N)
		for i := range chs {
			chs[i] = do(i)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.Verify(ctx, chs[i].ID, "login", fmt.Sprintf("+7900%07d", i), chs[i].Code); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
	})
}

// TestIssueAs: a challenge issued under an id chosen beforehand (NewID)
// has that id; Ready sees the cool-down Issue checks, and changes nothing.
func TestIssueAs(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		wantErr(t, s.Ready(ctx, "login", phone), nil)
		id, err := s.NewID()
		if err != nil || len(id) < 20 {
			t.Fatalf("NewID = %q, %v", id, err)
		}
		if other, _ := s.NewID(); other == id {
			t.Fatal("two ids alike")
		}
		if _, err := s.IssueAs(ctx, "", "login", phone, ip); !errors.Is(err, otp.ErrInvalid) {
			t.Fatalf("IssueAs without an id: %v", err)
		}
		ch, err := s.IssueAs(ctx, id, "login", phone, ip)
		if err != nil || ch.ID != id {
			t.Fatalf("IssueAs = %v, %v; want the id %s", ch, err, id)
		}
		var soon *otp.ErrResendTooSoon
		if err := s.Ready(ctx, "login", phone); !errors.As(err, &soon) || soon.RetryAfter <= 0 {
			t.Fatalf("Ready in the cool-down: %v", err)
		}
		wantErr(t, s.Ready(ctx, "register", phone), nil) // another purpose
		wantErr(t, s.Verify(ctx, id, "login", phone, ch.Code), nil)
		c.Advance(time.Hour)
		wantErr(t, s.Ready(ctx, "login", phone), nil)
	})
}

// TestRelease: a released challenge's cool-down is over at once — a new
// code may be issued — while its code still verifies until replaced, and
// the daily cap still counts it. Releasing a gone id is no error.
func TestRelease(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		first := issue(t, s, "register", phone, ip)
		wantErr(t, s.Release(ctx, first.ID), nil)
		wantErr(t, s.Ready(ctx, "register", phone), nil)
		wantErr(t, s.Verify(ctx, first.ID, "register", phone, wrong(first.Code)), &otp.ErrWrongCode{})
		second := issue(t, s, "register", phone, ip)
		wantErr(t, s.Verify(ctx, first.ID, "register", phone, first.Code), otp.ErrNotFound)
		// The new code has its own cool-down.
		if _, err := s.Issue(ctx, "register", phone, ip); !errors.Is(err, &otp.ErrResendTooSoon{}) {
			t.Fatalf("Issue right after a new code: %v", err)
		}
		c.Advance(time.Second)
		wantErr(t, s.Release(ctx, second.ID), nil)
		wantErr(t, s.Release(ctx, second.ID), nil) // twice
		wantErr(t, s.Release(ctx, first.ID), nil)  // gone
		wantErr(t, s.Verify(ctx, second.ID, "register", phone, second.Code), nil)
		// Released codes count toward the destination's daily cap.
		for i := 2; i < 10; i++ {
			ch := issue(t, s, "register", phone, ip)
			wantErr(t, s.Release(ctx, ch.ID), nil)
		}
		if _, err := s.Issue(ctx, "register", phone, ip); !errors.Is(err, otp.ErrDailyCap) {
			t.Fatalf("the 11th code in a day, all released: %v", err)
		}
	})
}
