package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/gosid/gosid/internal/sqldb"
)

// Args are a job's arguments, stored as JSON in the job's row. Kind names
// the job and picks its worker; it must be constant for a type. Args are
// kept in the database for a day after the job ends: they must hold no
// secrets (tokens, codes, passwords) — store identifiers and look the rest
// up in the worker.
type Args interface {
	Kind() string
}

// Job is one run of a job as its worker sees it.
type Job[T Args] struct {
	ID int64
	// Attempt counts runs, this one included: 1 on the first run.
	Attempt int
	Args    T
}

// Worker works the jobs of one kind (the kind of T).
type Worker[T Args] struct {
	// Work does the job. A nil error completes it; an error schedules
	// another attempt after Backoff, until MaxAttempts are spent and the
	// job is discarded. Work may run more than once for one job (a replica
	// that dies mid-run leaves it to be rescued): make it idempotent.
	Work func(ctx context.Context, job Job[T]) error
	// Backoff is the wait after failed attempt n (1, 2, …) before the
	// next; nil is River's default, n⁴ seconds with 10% jitter.
	Backoff func(attempt int) time.Duration
	// MaxAttempts bounds the runs of one job; 0 is 25.
	MaxAttempts int
	// Timeout bounds one run (its context is cancelled); 0 is one minute.
	Timeout time.Duration
}

// Options say how to enqueue one job; the zero value runs it as soon as a
// worker is free.
type Options struct {
	// RunAt delays the job until then.
	RunAt time.Time
	// Unique: while a job of the same kind and the same args is waiting,
	// scheduled, running or due for a retry, enqueueing another does
	// nothing (Enqueued.Duplicate). Put the key that makes two jobs "the
	// same" into the args.
	Unique bool
	// MaxAttempts overrides the worker's.
	MaxAttempts int
	// Bulk puts the job on the bulk queue: work in large amounts (a
	// broadcast to a category's subscribers) that must not delay what a
	// citizen waits for. Each replica fetches and runs the bulk queue
	// with its own few workers (Config.BulkWorkers), beside the default
	// queue's, so a backlog of bulk jobs never takes a worker of the
	// default queue.
	Bulk bool
}

// BulkQueue is the name of the bulk queue in River's tables.
const BulkQueue = "bulk"

// Snooze, returned by Work, runs the job again after d without counting an
// attempt: a message waiting for the end of quiet hours.
func Snooze(d time.Duration) error { return river.JobSnooze(max(d, 0)) }

// Snoozed reports whether err is (or wraps) a Snooze, and for how long:
// for a job that runs other jobs' work and snoozes as the longest of them
// asked.
func Snoozed(err error) (time.Duration, bool) {
	var s *rivertype.JobSnoozeError
	if errors.As(err, &s) {
		return s.Duration, true
	}
	return 0, false
}

// Enqueued is what Enqueue did.
type Enqueued struct {
	ID int64
	// Duplicate: a unique job like it was already waiting; nothing was
	// added and ID is that job's.
	Duplicate bool
}

// Config configures a Queue.
type Config struct {
	// Logger receives the queue's and River's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock River schedules by (run-at times, retries,
	// leadership, periodic jobs). nil is the database's clock. Tests that
	// move a fake clock pass it here.
	Now func() time.Time
	// Workers is how many jobs this replica runs at once; 0 is 100 on
	// PostgreSQL and 4 on SQLite (one writer at a time anyway). Jobs
	// mostly wait on a peer (a registry, an SMS gateway, a relying party's
	// back-channel) and hold a database connection only for a statement or
	// a transaction, so the pool, not this number, bounds their load on
	// the database.
	Workers int
	// BulkWorkers is how many bulk jobs (Options.Bulk) this replica runs
	// at once; 0 is 2.
	BulkWorkers int
	// PollInterval is how often an idle replica looks for due jobs; 0 is
	// one second.
	PollInterval time.Duration
	// ID names this replica among the queue's clients (logs, leadership);
	// empty is the host name and a random suffix.
	ID string
	// RescueAfter is how long a job may stay running before the queue
	// takes it for the work of a replica that died (SIGKILL, a lost host)
	// and runs it again; 0 is 5 minutes. Every worker's Timeout must be
	// shorter. (River's own default, an hour, would leave a citizen's
	// registry check hanging that long after a crash.)
	RescueAfter time.Duration
}

// DefaultRescueAfter is Config.RescueAfter's default.
const DefaultRescueAfter = 5 * time.Minute

// Queue is one replica's handle on the job queue: it enqueues jobs and,
// once started, works them together with every other replica on the same
// database. Register workers and periodic jobs before Start.
type Queue struct {
	db      *sqldb.DB
	log     *slog.Logger
	now     func() time.Time
	client  *river.Client[*sql.Tx]
	workers *river.Workers

	rescueAfter time.Duration

	mu          sync.Mutex
	started     bool
	maxAttempts map[string]int

	loops loops
}

// New makes a queue on db. River's tables must exist (Migrate).
func New(db *sqldb.DB, cfg Config) (*Queue, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := cfg.Workers
	if n <= 0 {
		n = 100
		if db.Dialect() == sqldb.SQLite {
			n = 4
		}
	}
	bulk := cfg.BulkWorkers
	if bulk <= 0 {
		bulk = 2
	}
	q := &Queue{db: db, log: log, now: cfg.Now, workers: river.NewWorkers(), maxAttempts: map[string]int{},
		rescueAfter: cmp(cfg.RescueAfter, DefaultRescueAfter)}
	if q.now == nil {
		q.now = time.Now
	}
	rc := &river.Config{
		ID:     cfg.ID,
		Logger: log.With("component", "jobs"),
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n},
			BulkQueue: {MaxWorkers: bulk}},
		Workers:              q.workers,
		RescueStuckJobsAfter: q.rescueAfter,
		// Every worker's own timeout (Worker.Timeout) applies; this only
		// satisfies River's check against RescueStuckJobsAfter.
		JobTimeout:        min(time.Minute, q.rescueAfter),
		FetchPollInterval: cmp(cfg.PollInterval, time.Second),
		// A busy replica fetches again as soon as jobs end, at most this
		// often. River's default (100 ms) caps a replica at Workers jobs
		// per 100 ms: 80 jobs/s with 8 workers, whatever the database
		// could do. Each fetch is one indexed query.
		FetchCooldown: min(cmp(cfg.PollInterval, time.Second), fetchCooldown),
		// Our pools are database/sql: no LISTEN/NOTIFY, so every replica
		// polls for due jobs.
		PollOnly: true,
		// Every kind inserted must have a worker in this binary, so that
		// a typo fails at Enqueue, not a day later.
		SkipUnknownJobCheck: false,
	}
	if cfg.Now != nil {
		rc.Test.Time = clock(cfg.Now)
	}
	client, err := river.NewClient(driver(db), rc)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.client = client
	return q, nil
}

// fetchCooldown is the shortest wait between two fetches of one replica.
const fetchCooldown = 5 * time.Millisecond

func cmp(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// driver is River's driver for the dialect, both on database/sql: River's
// SQLite driver for modernc.org/sqlite, its database/sql PostgreSQL driver
// over pgx's stdlib pool — so that a job goes into the very *sql.Tx the
// caller's change is written in.
func driver(db *sqldb.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect() == sqldb.SQLite {
		return riversqlite.New(db.SQL())
	}
	return riverdatabasesql.New(db.SQL())
}

// clock adapts a func clock to River's stubbable time, to the microsecond:
// PostgreSQL rounds a stored time to it, and a job inserted at a rounded-up
// "now" would not be due at the same, unrounded, "now" of a stopped test
// clock.
type clock func() time.Time

func (c clock) Now() time.Time { return c().Truncate(time.Microsecond) }
func (c clock) NowOrNil() *time.Time {
	t := c.Now()
	return &t
}

// Register makes q run jobs of T's kind with w. It fails after Start, for a
// kind registered twice, and for a worker without Work.
func Register[T Args](q *Queue, w Worker[T]) error {
	var zero T
	kind := zero.Kind()
	if w.Work == nil {
		return fmt.Errorf("jobs: worker of %q has no Work", kind)
	}
	if cmp(w.Timeout, time.Minute) >= q.rescueAfter {
		return fmt.Errorf("jobs: worker of %q may run %v, not shorter than the rescue of stuck jobs after %v", kind, cmp(w.Timeout, time.Minute), q.rescueAfter)
	}
	if err := q.register(kind, w.MaxAttempts); err != nil {
		return err
	}
	return river.AddWorkerSafely(q.workers, &riverWorker[T]{w: w, log: q.log, now: q.now})
}

func (q *Queue) register(kind string, maxAttempts int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return fmt.Errorf("jobs: %q registered after Start", kind)
	}
	if _, dup := q.maxAttempts[kind]; dup {
		return fmt.Errorf("jobs: %q registered twice", kind)
	}
	q.maxAttempts[kind] = maxAttempts
	return nil
}

// riverWorker runs a Worker under River.
type riverWorker[T Args] struct {
	river.WorkerDefaults[T]
	w   Worker[T]
	log *slog.Logger
	now func() time.Time
}

func (rw *riverWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	err := rw.w.Work(ctx, Job[T]{ID: job.ID, Attempt: job.Attempt, Args: job.Args})
	var snooze *rivertype.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) {
		// Kind, id and attempt only: args may identify a person.
		rw.log.WarnContext(ctx, "job failed", "kind", job.Kind, "job", job.ID, "attempt", job.Attempt,
			"max_attempts", job.MaxAttempts, "err", err)
	}
	return err
}

func (rw *riverWorker[T]) NextRetry(job *river.Job[T]) time.Time {
	if rw.w.Backoff == nil {
		return time.Time{} // River's default policy
	}
	return rw.now().Add(rw.w.Backoff(job.Attempt))
}

func (rw *riverWorker[T]) Timeout(*river.Job[T]) time.Duration { return cmp(rw.w.Timeout, time.Minute) }

// Enqueue adds a job in tx: it exists, and will run, only if tx commits —
// the change that causes a job and the job itself are one transaction.
func (q *Queue) Enqueue(ctx context.Context, tx *sqldb.Tx, args Args, opts *Options) (Enqueued, error) {
	if tx == nil {
		return Enqueued{}, errors.New("jobs: Enqueue needs a transaction")
	}
	res, err := q.client.InsertTx(ctx, tx.SQL(), args, q.insertOpts(args.Kind(), opts))
	if err != nil {
		return Enqueued{}, fmt.Errorf("enqueue %s: %w", args.Kind(), sqldb.Classify(err))
	}
	return Enqueued{ID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// waiting are the states in which a unique job blocks another like it.
var waiting = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

func (q *Queue) insertOpts(kind string, opts *Options) *river.InsertOpts {
	q.mu.Lock()
	max := q.maxAttempts[kind]
	q.mu.Unlock()
	io := &river.InsertOpts{MaxAttempts: max}
	if opts == nil {
		return io
	}
	if opts.MaxAttempts > 0 {
		io.MaxAttempts = opts.MaxAttempts
	}
	io.ScheduledAt = opts.RunAt
	if opts.Bulk {
		io.Queue = BulkQueue
	}
	if opts.Unique {
		io.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: waiting}
	}
	return io
}

// Start starts working jobs (and the loops, AddLoop) on this replica, and, on the one replica that
// is the queue's leader at a time, enqueueing the periodic jobs and
// promoting scheduled and retried jobs that are due. It returns at once;
// the work goes on until Stop, whatever becomes of ctx (whose values jobs
// inherit): the end of a process's main context must not cut running jobs
// short before Stop has given them their grace.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	q.started = true
	q.mu.Unlock()
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	q.startLoops(ctx)
	return nil
}

// Stop stops the loops and fetching jobs and waits for the running ones to finish; when
// ctx ends first, their contexts are cancelled and Stop waits for them to
// return (a cancelled job is retried later, by this replica or another).
func (q *Queue) Stop(ctx context.Context) error {
	q.stopLoops(ctx)
	err := q.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	q.log.Warn("jobs still running at shutdown: cancelling them")
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return q.client.StopAndCancel(hard)
}

// Run starts the queue (Start), works until ctx ends, then stops it (Stop),
// giving running jobs grace to finish, as a server drains its requests:
// the shape of a task for httpx.RunAll.
func (q *Queue) Run(ctx context.Context, grace time.Duration) error {
	if err := q.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := q.Stop(stopCtx); err != nil {
		q.log.Warn("stop the job queue", "err", err)
	}
	return nil
}
