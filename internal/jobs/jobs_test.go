package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// replicas runs fn on both dialects with a function that opens one more
// handle on the same migrated database, as another replica (another
// process) would.
func replicas(t *testing.T, fn func(t *testing.T, open func() *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := sqldbtest.SQLitePath(t)
		fn(t, func() *sqldb.DB { return openDB(t, sqldb.Config{SQLitePath: path}) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		fn(t, func() *sqldb.DB { return openDB(t, sqldb.Config{URL: url}) })
	})
}

func openDB(t *testing.T, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// newQueue makes a queue named id on db, with reg registering its workers,
// stopped when the test ends.
func newQueue(t *testing.T, db *sqldb.DB, id string, reg func(q *jobs.Queue) error) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(db, jobs.Config{Logger: testLog(), ID: id, PollInterval: 50 * time.Millisecond, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg(q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return q
}

func start(t *testing.T, qs ...*jobs.Queue) {
	t.Helper()
	for _, q := range qs {
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func stop(t *testing.T, qs ...*jobs.Queue) {
	t.Helper()
	for _, q := range qs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := q.Stop(ctx)
		cancel()
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
}

type noteArgs struct {
	N int `json:"n"`
}

func (noteArgs) Kind() string { return "test.note" }

// runs records which replica ran which job, and how often.
type runs struct {
	mu   sync.Mutex
	by   map[int][]string // N → replicas that ran it
	done chan int
}

func newRuns() *runs { return &runs{by: map[int][]string{}, done: make(chan int, 1000)} }

func (r *runs) worker(replica string) func(q *jobs.Queue) error {
	return func(q *jobs.Queue) error {
		return jobs.Register(q, jobs.Worker[noteArgs]{Work: func(ctx context.Context, job jobs.Job[noteArgs]) error {
			r.mu.Lock()
			r.by[job.Args.N] = append(r.by[job.Args.N], replica)
			r.mu.Unlock()
			r.done <- job.Args.N
			return nil
		}})
	}
}

// wait waits for n runs.
func (r *runs) wait(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for i := 0; i < n; i++ {
		select {
		case <-r.done:
		case <-deadline:
			t.Fatalf("%d of %d jobs ran within %s", i, n, within)
		}
	}
}

func (r *runs) count(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.by[n]...)
}

func enqueue(t *testing.T, db *sqldb.DB, q *jobs.Queue, args jobs.Args, opts *jobs.Options) jobs.Enqueued {
	t.Helper()
	var got jobs.Enqueued
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		var err error
		got, err = q.Enqueue(context.Background(), tx, args, opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestExactlyOnceAcrossReplicas: jobs enqueued on replica A, worked by two
// replicas sharing one database, each run exactly once.
func TestExactlyOnceAcrossReplicas(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		dbA, dbB := open(), open()
		r := newRuns()
		a := newQueue(t, dbA, "replica-a", r.worker("a"))
		b := newQueue(t, dbB, "replica-b", r.worker("b"))
		const n = 40
		for i := range n {
			enqueue(t, dbA, a, noteArgs{N: i}, nil)
		}
		start(t, a, b)
		r.wait(t, n, 30*time.Second)
		time.Sleep(500 * time.Millisecond) // time for a second run, were there one
		perReplica := map[string]int{}
		for i := range n {
			got := r.count(i)
			if len(got) != 1 {
				t.Fatalf("job %d ran %d times (%v)", i, len(got), got)
			}
			perReplica[got[0]]++
		}
		t.Logf("runs per replica: %v", perReplica)
		// Runs are recorded as completed in batches, a moment after Work
		// returns.
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var left int
			err := dbA.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE state <> 'completed'`).Scan(&left)
			if err == nil && left == 0 {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("jobs not completed: %d %v", left, err)
			}
		}
	})
}

// TestSurvivesRestart: a job enqueued while both replicas run, and due only
// after both have stopped, runs once when new ones start.
func TestSurvivesRestart(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		r := newRuns()
		dbA, dbB := open(), open()
		a := newQueue(t, dbA, "a1", r.worker("a1"))
		b := newQueue(t, dbB, "b1", r.worker("b1"))
		start(t, a, b)
		at := time.Now().Add(1500 * time.Millisecond)
		enqueue(t, dbA, a, noteArgs{N: 7}, &jobs.Options{RunAt: at})
		stop(t, a, b)
		dbA.Close()
		dbB.Close()
		if got := r.count(7); len(got) != 0 {
			t.Fatalf("the job ran before its time: %v", got)
		}

		dbC, dbD := open(), open()
		c := newQueue(t, dbC, "a2", r.worker("a2"))
		d := newQueue(t, dbD, "b2", r.worker("b2"))
		start(t, c, d)
		r.wait(t, 1, 30*time.Second)
		if time.Now().Before(at) {
			t.Fatal("the scheduled job ran early")
		}
		time.Sleep(500 * time.Millisecond)
		if got := r.count(7); len(got) != 1 || (got[0] != "a2" && got[0] != "b2") {
			t.Fatalf("after the restart the job ran on %v, want once on a new replica", got)
		}
	})
}

type flakyArgs struct{}

func (flakyArgs) Kind() string { return "test.flaky" }

// backoff3 triples: 200 ms, 600 ms, 1.8 s, so that the growth shows
// through the delays of polling on a loaded machine.
func backoff3(attempt int) time.Duration {
	d := 200 * time.Millisecond
	for range attempt - 1 {
		d *= 3
	}
	return d
}

// TestRetryBackoff: a failing job is retried after growing waits, then
// succeeds.
func TestRetryBackoff(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		var mu sync.Mutex
		var at []time.Time
		succeeded := make(chan struct{})
		q := newQueue(t, db, "r", func(q *jobs.Queue) error {
			return jobs.Register(q, jobs.Worker[flakyArgs]{
				Backoff: backoff3,
				Work: func(ctx context.Context, job jobs.Job[flakyArgs]) error {
					mu.Lock()
					defer mu.Unlock()
					at = append(at, time.Now())
					if job.Attempt != len(at) {
						return fmt.Errorf("attempt %d counted as %d", len(at), job.Attempt)
					}
					if job.Attempt < 4 {
						return errors.New("not yet")
					}
					close(succeeded)
					return nil
				}})
		})
		enqueue(t, db, q, flakyArgs{}, nil)
		start(t, q)
		select {
		case <-succeeded:
		case <-time.After(30 * time.Second):
			t.Fatalf("no success after %d attempts", len(at))
		}
		mu.Lock()
		defer mu.Unlock()
		var gaps []time.Duration
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]))
		}
		t.Logf("waits between attempts: %v", gaps)
		for i, g := range gaps {
			if want := backoff3(i + 1); g < want {
				t.Fatalf("wait %d was %s, under the back-off %s", i+1, g, want)
			}
		}
		// Each wait is at least its back-off (which triples); a run that
		// starts late (polling, a loaded machine) may hide the growth
		// between neighbours, not across the whole series.
		if len(gaps) != 3 || gaps[2] <= gaps[0] {
			t.Fatalf("waits did not grow: %v", gaps)
		}
		// The run is recorded a moment after Work returns.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var state string
			var attempt int
			err := db.QueryRow(context.Background(), `SELECT state, attempt FROM river_job WHERE kind = 'test.flaky'`).Scan(&state, &attempt)
			if err == nil && state == "completed" && attempt == 4 {
				break
			}
			if err != nil || state != "running" || time.Now().After(deadline) {
				t.Fatalf("job row: %s after %d attempts, %v", state, attempt, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestRolledBackNeverRuns: a job enqueued in a transaction that rolls back
// does not exist; one enqueued beside it, committed, runs.
func TestRolledBackNeverRuns(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		r := newRuns()
		q := newQueue(t, db, "q", r.worker("q"))
		ctx := context.Background()
		boom := errors.New("the change failed")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := q.Enqueue(ctx, tx, noteArgs{N: 1}, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		enqueue(t, db, q, noteArgs{N: 2}, nil)
		start(t, q)
		r.wait(t, 1, 30*time.Second)
		time.Sleep(500 * time.Millisecond)
		if got := r.count(1); len(got) != 0 {
			t.Fatal("a job of a rolled-back transaction ran")
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM river_job`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d job rows, want the committed one only (%v)", n, err)
		}
	})
}

type keyArgs struct {
	Key string `json:"key"`
}

func (keyArgs) Kind() string { return "test.key" }

// TestUnique: while a unique job waits, the same job again is a duplicate;
// once it has run, it may be enqueued anew. Other keys are other jobs.
func TestUnique(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		ran := make(chan string, 10)
		q := newQueue(t, db, "u", func(q *jobs.Queue) error {
			return jobs.Register(q, jobs.Worker[keyArgs]{Work: func(ctx context.Context, job jobs.Job[keyArgs]) error {
				ran <- job.Args.Key
				return nil
			}})
		})
		uniq := &jobs.Options{Unique: true}
		first := enqueue(t, db, q, keyArgs{Key: "k1"}, uniq)
		again := enqueue(t, db, q, keyArgs{Key: "k1"}, uniq)
		other := enqueue(t, db, q, keyArgs{Key: "k2"}, uniq)
		if first.Duplicate || !again.Duplicate || again.ID != first.ID || other.Duplicate || other.ID == first.ID {
			t.Fatalf("first %+v, again %+v, other key %+v", first, again, other)
		}
		start(t, q)
		got := map[string]int{}
		for range 2 {
			select {
			case k := <-ran:
				got[k]++
			case <-time.After(30 * time.Second):
				t.Fatalf("ran %v", got)
			}
		}
		if got["k1"] != 1 || got["k2"] != 1 {
			t.Fatalf("ran %v", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			// The run is recorded as completed a moment after Work returns.
			if next := enqueue(t, db, q, keyArgs{Key: "k1"}, uniq); !next.Duplicate {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a finished unique job still blocks a new one")
			}
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case k := <-ran:
			if k != "k1" {
				t.Fatalf("ran %s", k)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the job enqueued again did not run")
		}
	})
}

// TestPeriodicOneReplica: a periodic job declared on two replicas runs once
// per period, not once per replica.
func TestPeriodicOneReplica(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		var mu sync.Mutex
		var at []time.Time
		by := map[string]int{}
		declare := func(replica string) func(q *jobs.Queue) error {
			return func(q *jobs.Queue) error {
				return q.AddPeriodic(jobs.Periodic{Name: "tick", Every: time.Second, Run: func(ctx context.Context) (int, error) {
					mu.Lock()
					defer mu.Unlock()
					at = append(at, time.Now())
					by[replica]++
					return 0, nil
				}})
			}
		}
		a := newQueue(t, open(), "pa", declare("a"))
		b := newQueue(t, open(), "pb", declare("b"))
		start(t, a, b)
		// Wait for the first round: leadership takes a moment.
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(at)
			mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the periodic job never ran")
			}
			time.Sleep(20 * time.Millisecond)
		}
		const window = 5 * time.Second
		time.Sleep(window)
		stop(t, a, b)
		mu.Lock()
		defer mu.Unlock()
		first := at[0]
		var rounds int
		for _, x := range at {
			if x.Sub(first) < window {
				rounds++
			}
		}
		var gaps []time.Duration
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]).Round(time.Millisecond))
		}
		t.Logf("rounds in %s: %d, by replica %v, gaps %v", window, rounds, by, gaps)
		// One schedule gives 5 or 6 (the edges); one per
		// replica would give about 10.
		if rounds < 4 || rounds > 7 {
			t.Fatalf("%d rounds in %s with a period of 1s on two replicas", rounds, window)
		}
		for i := 1; i < len(at); i++ {
			// A round may start late (polling, a loaded machine) and the
			// next on time; two schedules would start rounds together.
			if gap := at[i].Sub(at[i-1]); gap < 300*time.Millisecond {
				t.Fatalf("two rounds %s apart", gap)
			}
		}
	})
}

// TestRegisterAfterStart: registration is for start-up only.
func TestRegisterAfterStart(t *testing.T) {
	db := sqldbtest.SQLite(t)
	r := newRuns()
	q := newQueue(t, db, "s", r.worker("s"))
	start(t, q)
	if err := jobs.Register(q, jobs.Worker[keyArgs]{Work: func(context.Context, jobs.Job[keyArgs]) error { return nil }}); err == nil {
		t.Fatal("Register after Start succeeded")
	}
	if err := r.worker("again")(q); err == nil {
		t.Fatal("a kind registered twice")
	}
}

// TestStoppedClock: with a test clock that does not move (Config.Now), a
// job enqueued at its "now" is due at that same "now" on both dialects
// (PostgreSQL rounds stored times to the microsecond), and a retry waits
// until the clock is moved past its back-off.
func TestStoppedClock(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now().Add(time.Nanosecond * 999))
		tries := make(chan int, 10)
		q, err := jobs.New(db, jobs.Config{Logger: testLog(), Now: c.Now, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(q, jobs.Worker[flakyArgs]{
			Backoff: func(int) time.Duration { return time.Minute },
			Work: func(ctx context.Context, job jobs.Job[flakyArgs]) error {
				tries <- job.Attempt
				if job.Attempt == 1 {
					return errors.New("first try fails")
				}
				return nil
			}}); err != nil {
			t.Fatal(err)
		}
		enqueue(t, db, q, flakyArgs{}, nil)
		start(t, q)
		t.Cleanup(func() { stop(t, q) })
		wantTry := func(n int, within time.Duration) {
			t.Helper()
			select {
			case got := <-tries:
				if got != n {
					t.Fatalf("attempt %d, want %d", got, n)
				}
			case <-time.After(within):
				t.Fatalf("no attempt %d within %s", n, within)
			}
		}
		wantTry(1, 10*time.Second)
		select {
		case n := <-tries:
			t.Fatalf("attempt %d before the clock reached the back-off", n)
		case <-time.After(time.Second):
		}
		c.Advance(2 * time.Minute)
		// The leader promotes due retries every 5 s.
		wantTry(2, 15*time.Second)
	})
}

// TestRescuesJobOfDeadReplica: a job a replica was running when it died
// (SIGKILL: no Stop, the row stays "running") runs again on another
// replica once it has been running for RescueAfter (River's own default
// is an hour), and not before.
func TestRescuesJobOfDeadReplica(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		const rescueAfter = 3 * time.Second
		tries := make(chan int, 10)
		replica := func() *jobs.Queue {
			q, err := jobs.New(db, jobs.Config{Logger: testLog(), PollInterval: 50 * time.Millisecond, RescueAfter: rescueAfter})
			if err != nil {
				t.Fatal(err)
			}
			if err := jobs.Register(q, jobs.Worker[flakyArgs]{
				Timeout: time.Second,
				Backoff: func(int) time.Duration { return 0 },
				Work: func(ctx context.Context, job jobs.Job[flakyArgs]) error {
					tries <- job.Attempt
					return nil
				}}); err != nil {
				t.Fatal(err)
			}
			return q
		}
		q := replica()
		id := enqueue(t, db, q, flakyArgs{}, nil).ID
		// What the dead replica left: its attempt, running since now.
		if _, err := db.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = scheduled_at WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		stuckSince := time.Now()
		start(t, q)
		select {
		case n := <-tries:
			t.Fatalf("attempt %d before the job was stuck for %v", n, rescueAfter)
		case <-time.After(time.Second):
		}
		stop(t, q)

		// A replica that becomes the leader after RescueAfter rescues it
		// at once (then every 30 s); the scheduler makes it due.
		time.Sleep(time.Until(stuckSince.Add(rescueAfter + 500*time.Millisecond)))
		q2 := replica()
		start(t, q2)
		t.Cleanup(func() { stop(t, q2) })
		select {
		case n := <-tries:
			if n != 2 {
				t.Fatalf("attempt %d, want the rescued job's second", n)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the dead replica's job was not rescued within 20 s")
		}
	})
}

// TestWorkerTimeoutBelowRescue: a worker that may run as long as the
// rescue of stuck jobs is refused: another replica would run it twice.
func TestWorkerTimeoutBelowRescue(t *testing.T) {
	db := sqldbtest.SQLite(t)
	q, err := jobs.New(db, jobs.Config{Logger: testLog(), RescueAfter: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	err = jobs.Register(q, jobs.Worker[flakyArgs]{Timeout: 2 * time.Minute, Work: func(context.Context, jobs.Job[flakyArgs]) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "rescue") {
		t.Fatalf("Register with Timeout = RescueAfter: %v, want refused", err)
	}
	if err := jobs.Register(q, jobs.Worker[noteArgs]{Timeout: time.Minute, Work: func(context.Context, jobs.Job[noteArgs]) error { return nil }}); err != nil {
		t.Fatal(err)
	}
}

type slowArgs struct {
	Secret string `json:"secret"`
}

func (slowArgs) Kind() string { return "test.slow" }

// TestStopDrains: Stop lets a running job finish; with a context that ends
// first, the job's context is cancelled and Stop still waits for it.
func TestStopDrains(t *testing.T) {
	db := sqldbtest.SQLite(t)
	started := make(chan struct{}, 2)
	finished := make(chan error, 2)
	q := newQueue(t, db, "d", func(q *jobs.Queue) error {
		return jobs.Register(q, jobs.Worker[slowArgs]{Work: func(ctx context.Context, job jobs.Job[slowArgs]) error {
			started <- struct{}{}
			select {
			case <-time.After(700 * time.Millisecond):
				finished <- nil
				return nil
			case <-ctx.Done():
				finished <- ctx.Err()
				return ctx.Err()
			}
		}})
	})
	enqueue(t, db, q, slowArgs{}, nil)
	start(t, q)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-finished:
		if err != nil {
			t.Fatalf("the running job was cut short: %v", err)
		}
	default:
		t.Fatal("Stop returned before the running job finished")
	}

	q2 := newQueue(t, db, "d2", func(q *jobs.Queue) error {
		return jobs.Register(q, jobs.Worker[slowArgs]{Work: func(ctx context.Context, job jobs.Job[slowArgs]) error {
			started <- struct{}{}
			<-ctx.Done()
			finished <- ctx.Err()
			return ctx.Err()
		}})
	})
	enqueue(t, db, q2, slowArgs{}, nil)
	start(t, q2)
	<-started
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_ = q2.Stop(short)
	select {
	case err := <-finished:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the job's context ended with %v, want cancelled", err)
		}
	default:
		t.Fatal("Stop returned before the cancelled job returned")
	}
}

// syncBuffer is a log destination safe for River's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// TestLogsNameJobsNotArgs: a failing job is logged, through the logger
// given, by kind and id, and its args (which may identify a person) are
// not.
func TestLogsNameJobsNotArgs(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		var buf syncBuffer
		q, err := jobs.New(db, jobs.Config{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
			PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		failed := make(chan struct{})
		var once sync.Once
		if err := jobs.Register(q, jobs.Worker[slowArgs]{MaxAttempts: 1, Work: func(ctx context.Context, job jobs.Job[slowArgs]) error {
			once.Do(func() { close(failed) })
			return errors.New("the gateway said no")
		}}); err != nil {
			t.Fatal(err)
		}
		enqueue(t, db, q, slowArgs{Secret: "s3cr3t-marker"}, nil)
		start(t, q)
		select {
		case <-failed:
		case <-time.After(30 * time.Second):
			t.Fatal("the job never ran")
		}
		time.Sleep(300 * time.Millisecond)
		stop(t, q)
		out := buf.String()
		if !strings.Contains(out, `"kind":"test.slow"`) || !strings.Contains(out, "the gateway said no") {
			t.Fatalf("the failure is not in the log:\n%s", out)
		}
		if strings.Contains(out, "s3cr3t-marker") {
			t.Fatalf("the job's args reached the log:\n%s", out)
		}
	})
}

type bulkArgs struct {
	N int `json:"n"`
}

func (bulkArgs) Kind() string { return "test.bulk" }

// TestBulkQueueDoesNotDelayDefault: with every bulk worker busy and a
// backlog of bulk jobs, a job of the default queue still runs at once; and
// a snoozed job runs again later without counting an attempt.
func TestBulkQueueDoesNotDelayDefault(t *testing.T) {
	replicas(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		release := make(chan struct{})
		var bulkRunning sync.WaitGroup
		bulkRunning.Add(2)
		var started atomic.Int32
		r := newRuns()
		var snoozes atomic.Int32
		q := newQueue(t, db, "r", func(q *jobs.Queue) error {
			if err := jobs.Register(q, jobs.Worker[bulkArgs]{Work: func(ctx context.Context, job jobs.Job[bulkArgs]) error {
				if started.Add(1) <= 2 {
					bulkRunning.Done()
				}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}}); err != nil {
				return err
			}
			return jobs.Register(q, jobs.Worker[noteArgs]{Work: func(ctx context.Context, job jobs.Job[noteArgs]) error {
				if job.Args.N == 2 && snoozes.Add(1) == 1 {
					return jobs.Snooze(100 * time.Millisecond)
				}
				if job.Attempt != 1 {
					return fmt.Errorf("attempt %d", job.Attempt)
				}
				r.done <- job.Args.N
				return nil
			}})
		})
		for i := range 20 {
			enqueue(t, db, q, bulkArgs{N: i}, &jobs.Options{Bulk: true})
		}
		start(t, q)
		bulkRunning.Wait() // both bulk workers (the default) are held
		t0 := time.Now()
		enqueue(t, db, q, noteArgs{N: 1}, nil)
		r.wait(t, 1, 5*time.Second)
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("a default job waited %s behind the bulk backlog", d)
		}
		if n := started.Load(); n != 2 {
			t.Errorf("%d bulk jobs running, want the 2 bulk workers' worth", n)
		}
		enqueue(t, db, q, noteArgs{N: 2}, nil)
		r.wait(t, 1, 10*time.Second)
		if snoozes.Load() != 2 {
			t.Errorf("snoozed job ran %d times, want 2", snoozes.Load())
		}
		close(release)
	})
}
