package cache

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// logKeys commits an invalidation of keys through db, as a writer on
// another replica would (the triggers do the same inside the writer's
// transaction).
func logKeys(t testing.TB, db *sqldb.DB, keys ...string) {
	t.Helper()
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error { return Append(context.Background(), tx, keys...) }); err != nil {
		t.Fatal(err)
	}
}

func mustPoll(t testing.TB, w *Watcher) {
	t.Helper()
	if err := w.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A change committed through replica B drops replica A's entry, through
// A's own handle and poll; the other entries stay.
func TestInvalidationReachesTheOtherReplica(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		wa := NewWatcher(a, Config{})
		ca := New[string](wa, 100, time.Minute)
		mustPoll(t, wa)
		if !ca.Put(wa.Ticket(), "u1", "Иванов", time.Time{}, "account:1") || !ca.Put(wa.Ticket(), "u2", "Петров", time.Time{}, "account:2") {
			t.Fatal("Put refused on a trusted cache with no invalidation")
		}
		if v, ok := ca.Get("u1"); !ok || v != "Иванов" {
			t.Fatalf("Get = %q, %v", v, ok)
		}
		logKeys(t, b, "account:1")
		if _, ok := ca.Get("u1"); !ok {
			t.Fatal("dropped before A polled: the test shows nothing")
		}
		mustPoll(t, wa)
		if _, ok := ca.Get("u1"); ok {
			t.Fatal("A still answers from an entry B's change invalidated")
		}
		if _, ok := ca.Get("u2"); !ok {
			t.Fatal("an entry of another key was dropped")
		}
		// A local invalidation takes effect at once, without a poll.
		wa.Invalidate("account:2")
		if _, ok := ca.Get("u2"); ok {
			t.Fatal("Invalidate left the entry")
		}
	})
}

// With Run polling, B's change stops A answering the stale value within
// Bound of the commit.
func TestStaleValueGoneWithinBound(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wa := NewWatcher(a, Config{})
		ca := New[int](wa, 10, time.Minute)
		done := make(chan struct{})
		go func() { defer close(done); _ = wa.Run(ctx) }()
		defer func() { cancel(); <-done }()
		for !wa.Trusted() {
			time.Sleep(5 * time.Millisecond)
		}
		if !ca.Put(wa.Ticket(), "k", 1, time.Time{}, "account:1") {
			t.Fatal("Put refused")
		}
		logKeys(t, b, "account:1")
		committed := time.Now()
		for {
			if _, ok := ca.Get("k"); !ok {
				break
			}
			if time.Since(committed) > wa.Bound() {
				t.Fatalf("A answered the stale value %v after B's commit (bound %v)", time.Since(committed), wa.Bound())
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("gone %v after the commit", time.Since(committed))
	})
}

// A fill whose database read straddles an invalidation of its key is not
// stored: it may hold the value from before the change.
func TestFillRacingAnInvalidationIsRefused(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		wa := NewWatcher(a, Config{})
		ca := New[string](wa, 10, time.Minute)
		mustPoll(t, wa)
		ticket := wa.Ticket() // the miss begins; it reads the old value…
		logKeys(t, b, "account:1")
		mustPoll(t, wa) // …the change's invalidation arrives before the fill
		if ca.Put(ticket, "u1", "old", time.Time{}, "account:1", "client:c") {
			t.Fatal("a fill that raced an invalidation of its key was stored")
		}
		if _, ok := ca.Get("u1"); ok {
			t.Fatal("the stale fill is served")
		}
		// An invalidation of other keys does not hold a fill back.
		ticket = wa.Ticket()
		logKeys(t, b, "account:2")
		mustPoll(t, wa)
		if !ca.Put(ticket, "u1", "new", time.Time{}, "account:1") {
			t.Fatal("a fill was refused for another key's invalidation")
		}
		// Nor does a local one of another key; a local one of its own does.
		ticket = wa.Ticket()
		wa.Invalidate("account:1")
		if ca.Put(ticket, "u1", "old", time.Time{}, "account:1") {
			t.Fatal("a fill that raced a local invalidation was stored")
		}
	})
}

// Real race: B's writer keeps changing a value (and logging its key in
// the same transaction) while A's readers fill on misses and A's Watcher
// runs. A hit never returns a value older than what was committed Bound
// before the Get began; after the writer stops, A serves the final value
// or nothing. A fill that resurrected a value read before an
// invalidation already applied would break both.
func TestFillRaceAgainstWritesKeepsTheBound(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := b.Exec(ctx, `CREATE TABLE cache_test_values (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Exec(ctx, `INSERT INTO cache_test_values (k, v) VALUES ('x', 0)`); err != nil {
			t.Fatal(err)
		}
		const bound = 200 * time.Millisecond
		wa := NewWatcher(a, Config{Interval: 20 * time.Millisecond, Bound: bound})
		ca := New[int64](wa, 10, time.Minute)
		runDone := make(chan struct{})
		go func() { defer close(runDone); _ = wa.Run(ctx) }()
		for !wa.Trusted() {
			time.Sleep(5 * time.Millisecond)
		}

		// committed[n] is when value n had committed.
		var mu sync.Mutex
		committed := []time.Time{time.Now()}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // B's writer
			defer wg.Done()
			for n := int64(1); ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				err := b.InTx(ctx, func(tx *sqldb.Tx) error {
					if _, err := tx.Exec(ctx, `UPDATE cache_test_values SET v = $1 WHERE k = 'x'`, n); err != nil {
						return err
					}
					return Append(ctx, tx, "val:x")
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				committed = append(committed, time.Now())
				mu.Unlock()
				// Quiet spells longer than the bound: a resurrected
				// value would then outlive it.
				time.Sleep(time.Duration(rand.N(2*bound)) + 20*time.Millisecond)
			}
		}()
		var violations, hits atomic.Int64
		read := func() {
			began := time.Now()
			if v, ok := ca.Get("x"); ok {
				hits.Add(1)
				mu.Lock()
				// The newest value committed more than bound before
				// the Get began must be what it saw, or newer.
				var due int64
				for n := len(committed) - 1; n >= 0; n-- {
					if committed[n].Before(began.Add(-bound)) {
						due = int64(n)
						break
					}
				}
				mu.Unlock()
				if v < due {
					violations.Add(1)
				}
				return
			}
			ticket := wa.Ticket()
			var v int64
			if err := a.QueryRow(ctx, `SELECT v FROM cache_test_values WHERE k = 'x'`).Scan(&v); err != nil {
				if ctx.Err() == nil {
					t.Error(err)
				}
				return
			}
			// A miss takes a while between its read and its fill (a
			// slow decode, a descheduled goroutine): long enough for a
			// poll to land in between.
			time.Sleep(time.Duration(rand.N(int64(30 * time.Millisecond))))
			ca.Put(ticket, "x", v, time.Time{}, "val:x")
		}
		for range 4 { // A's readers
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					read()
				}
			}()
		}
		time.Sleep(3 * time.Second)
		close(stop)
		wg.Wait()
		var final int64
		if err := b.QueryRow(ctx, `SELECT v FROM cache_test_values WHERE k = 'x'`).Scan(&final); err != nil {
			t.Fatal(err)
		}
		time.Sleep(bound + 50*time.Millisecond)
		if v, ok := ca.Get("x"); ok && v != final {
			t.Fatalf("after the writes settled A serves %d, the database holds %d", v, final)
		}
		cancel()
		<-runDone
		if violations.Load() > 0 {
			t.Fatalf("%d of %d hits were staler than the bound", violations.Load(), hits.Load())
		}
		if hits.Load() == 0 || final < 5 {
			t.Fatalf("the race did not run: %d hits, %d writes", hits.Load(), final)
		}
		t.Logf("%d writes, %d hits", final, hits.Load())
	})
}

// failing is a Querier whose statements fail while fail is set, as if the
// database were unreachable.
type failing struct {
	sqldb.Querier
	fail atomic.Bool
}

func (f *failing) ctx(ctx context.Context) context.Context {
	if f.fail.Load() {
		c, cancel := context.WithCancel(ctx)
		cancel()
		return c
	}
	return ctx
}

func (f *failing) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return f.Querier.Exec(f.ctx(ctx), q, args...)
}

func (f *failing) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return f.Querier.Query(f.ctx(ctx), q, args...)
}

func (f *failing) QueryRow(ctx context.Context, q string, args ...any) *sqldb.Row {
	return f.Querier.QueryRow(f.ctx(ctx), q, args...)
}

// A replica that cannot read the log serves from memory for Bound after
// its last good poll began, then not at all (its callers go to the
// database); when it can read again it forgets what it held, since it may
// have missed invalidations meanwhile.
func TestPollFailureFailsClosed(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clock := sqldbtest.NewClock(time.Now())
		f := &failing{Querier: db}
		w := NewWatcher(f, Config{Now: clock.Now})
		c := New[string](w, 10, time.Hour)
		if _, ok := c.Get("k"); ok {
			t.Fatal("served before any poll")
		}
		if c.Put(w.Ticket(), "k", "v", time.Time{}, "d") {
			t.Fatal("stored before any poll vouched for the cache")
		}
		mustPoll(t, w)
		if !c.Put(w.Ticket(), "k", "v", time.Time{}, "d") {
			t.Fatal("Put refused")
		}
		f.fail.Store(true)
		clock.Advance(w.Bound() / 2)
		if err := w.Poll(context.Background()); err == nil {
			t.Fatal("the poll did not fail")
		}
		if _, ok := c.Get("k"); !ok {
			t.Fatal("stopped serving before the bound")
		}
		clock.Advance(w.Bound() / 2)
		if _, ok := c.Get("k"); ok {
			t.Fatal("served past the bound with no successful poll")
		}
		if w.Trusted() {
			t.Fatal("Trusted after the bound")
		}
		f.fail.Store(false)
		mustPoll(t, w)
		if _, ok := c.Get("k"); ok {
			t.Fatal("an entry from before the failure is served again")
		}
		if !c.Put(w.Ticket(), "k", "v2", time.Time{}, "d") {
			t.Fatal("Put refused after recovery")
		}
		if v, ok := c.Get("k"); !ok || v != "v2" {
			t.Fatalf("Get = %q, %v", v, ok)
		}
	})
}

// PostgreSQL commits sequence values out of order: an invalidation whose
// transaction commits after a later one was read must still be applied.
func TestOutOfOrderCommitIsNotMissed(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		if b.Dialect() == sqldb.SQLite {
			t.Skip("SQLite runs one writer at a time: sequence values commit in order")
		}
		ctx := context.Background()
		wa := NewWatcher(a, Config{})
		ca := New[string](wa, 10, time.Minute)
		mustPoll(t, wa)
		ca.Put(wa.Ticket(), "slow", "v", time.Time{}, "k:slow")
		inserted, release := make(chan struct{}), make(chan struct{})
		slowDone := make(chan error, 1)
		go func() {
			slowDone <- b.InTx(ctx, func(tx *sqldb.Tx) error {
				if err := Append(ctx, tx, "k:slow"); err != nil { // takes the lower seq…
					return err
				}
				close(inserted)
				<-release // …and commits last
				return nil
			})
		}()
		<-inserted
		logKeys(t, b, "k:fast") // a higher seq, committed first
		mustPoll(t, wa)
		wa.mu.Lock()
		gaps := len(wa.gaps)
		wa.mu.Unlock()
		if gaps != 1 {
			t.Fatalf("%d gaps noted, want the slow writer's 1", gaps)
		}
		close(release)
		if err := <-slowDone; err != nil {
			t.Fatal(err)
		}
		if _, ok := ca.Get("slow"); !ok {
			t.Fatal("dropped before the poll: the test shows nothing")
		}
		mustPoll(t, wa)
		if _, ok := ca.Get("slow"); ok {
			t.Fatal("the invalidation committed out of order was missed")
		}
	})
}

// A gap that never fills (a rolled-back writer) is given up after Grace.
func TestRolledBackGapIsGivenUp(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(time.Now())
		wa := NewWatcher(a, Config{Now: clock.Now})
		mustPoll(t, wa)
		errRollback := errors.New("roll back")
		if err := b.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := Append(ctx, tx, "k:gone"); err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		logKeys(t, b, "k:next")
		mustPoll(t, wa)
		wa.mu.Lock()
		gaps := len(wa.gaps)
		wa.mu.Unlock()
		if b.Dialect() == sqldb.Postgres && gaps != 1 {
			t.Fatalf("%d gaps, want 1", gaps)
		}
		clock.Advance(DefaultGrace)
		mustPoll(t, wa)
		wa.mu.Lock()
		gaps = len(wa.gaps)
		wa.mu.Unlock()
		if gaps != 0 {
			t.Fatalf("%d gaps kept past the grace", gaps)
		}
	})
}

func TestSizeBoundAndExpiry(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clock := sqldbtest.NewClock(time.Now())
		w := NewWatcher(db, Config{Now: clock.Now, Bound: time.Hour})
		c := New[int](w, 2, time.Minute)
		mustPoll(t, w)
		c.Put(w.Ticket(), "a", 1, time.Time{})
		c.Put(w.Ticket(), "b", 2, clock.Now().Add(10*time.Second))
		c.Get("a") // a is now the most recently used
		c.Put(w.Ticket(), "c", 3, time.Time{})
		if _, ok := c.Get("b"); ok {
			t.Fatal("the least recently used entry was kept beyond the size")
		}
		if c.Len() != 2 {
			t.Fatalf("Len = %d", c.Len())
		}
		if c.Put(w.Ticket(), "d", 4, clock.Now()) {
			t.Fatal("stored an entry already expired")
		}
		clock.Advance(time.Minute)
		if _, ok := c.Get("a"); ok {
			t.Fatal("served past the TTL")
		}
	})
}

func TestPruneDropsOldRowsOnly(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		logKeys(t, db, "k:1", "k:2")
		if _, err := db.Exec(ctx, `UPDATE cache_invalidations SET at = at - $1 WHERE key = 'k:1'`, int64(time.Hour/time.Microsecond)); err != nil {
			t.Fatal(err)
		}
		w := NewWatcher(db, Config{})
		n, err := w.Prune(ctx)
		if err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want 1 row", n, err)
		}
		var left int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM cache_invalidations WHERE key LIKE 'k:%'`).Scan(&left); err != nil || left != 1 {
			t.Fatalf("%d rows left, %v", left, err)
		}
	})
}

// BenchmarkPoll is the cost of one poll of the log: with nothing new (what
// each replica pays four times a second when idle) and with 100 new rows.
func BenchmarkPoll(b *testing.B) {
	sqldbtest.Bench(b, func(b *testing.B, db *sqldb.DB) {
		w := NewWatcher(db, Config{})
		New[int](w, 10, time.Minute)
		mustPoll(b, w)
		b.Run("idle", func(b *testing.B) {
			for b.Loop() {
				mustPoll(b, w)
			}
		})
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = "account:x"
		}
		b.Run("100rows", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				logKeys(b, db, keys...)
				b.StartTimer()
				mustPoll(b, w)
			}
		})
	})
}
