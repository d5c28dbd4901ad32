// Package jobs is the durable background-job queue every module uses:
// work that must happen because of a change (a back-channel logout after a
// session ends) and work that recurs (expired-row sweeps, the erasure of
// accounts whose grace period ended). It runs on River
// (github.com/riverqueue/river) in the same database as everything else,
// on both dialects: River's SQLite driver over modernc.org/sqlite, and its
// database/sql PostgreSQL driver over pgx's stdlib pool. Both take the
// *sql.DB and *sql.Tx that internal/sqldb already holds (DB.SQL, Tx.SQL),
// so a job is written in the caller's own transaction.
//
// The contract, on both dialects:
//
//   - Enqueue(ctx, tx, args, opts) adds a job inside tx: it exists only if
//     tx commits, so a change and the work it causes are one transaction.
//   - Options.RunAt delays a job; Options.Unique makes a job with the same
//     kind and args a no-op while one is waiting, scheduled, running or due
//     for a retry (put the key in the args).
//   - A job whose Work returns an error is retried after Worker.Backoff
//     (River's n⁴ s with jitter by default) until MaxAttempts (25 by
//     default), then discarded.
//   - Work may return Snooze(d) to run again after d without counting an
//     attempt (a message held until quiet hours end).
//   - Options.Bulk puts a job on the bulk queue, which every replica works
//     with its own few workers (Config.BulkWorkers): a broadcast's backlog
//     never takes a worker from the default queue, so a citizen's
//     transactional message does not wait behind it.
//   - Every replica that calls Start works the one queue; each job is
//     locked by the replica that takes it (FOR UPDATE SKIP LOCKED on
//     PostgreSQL, the single writer on SQLite) and runs once. A replica that
//     dies mid-job leaves it running; River rescues it after an hour and it
//     runs again, so Work must be idempotent.
//   - Periodic jobs (AddPeriodic, from a plain func) are declared by every
//     replica and enqueued by the leader only — River elects one replica
//     through its river_leader table — once per period, unique per period
//     so that a change of leader does not run a round twice.
//   - Jobs outlive processes: they are rows (river_job); a restart of every
//     replica loses nothing, and a job due while all were down runs when the
//     first comes back.
//
// Modules declare their jobs (Register, AddPeriodic) on the Queue that
// cmd/gosid hands them, before Start; this package imports no module.
// Stop stops fetching and waits for running jobs (graceful drain), then
// cancels what is still running when its context ends.
//
// Args are stored as JSON in river_job and kept a day after the job ends:
// they must carry identifiers, never tokens, codes or passwords; the
// worker looks up or derives the rest. Logs name a job by kind, id and
// attempt, never by its args.
//
// River's own tables are created and upgraded by Migrate (called by
// `gosid migrate` and at start beside the modules' migrations) and checked
// by Ready (part of /readyz). River polls for due jobs (every second by
// default): our pools are database/sql, which cannot LISTEN.
//
// Config.Now, when set, is the clock River schedules by; nil uses the
// database's clock. Tests that move a fake clock set it.
package jobs
