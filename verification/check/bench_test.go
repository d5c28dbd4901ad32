package check_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/check"
	"github.com/gosid/gosid/verification/registry"
)

// nothing is the raw queue's job: it does no work.
type nothing struct{ N int }

func (nothing) Kind() string { return "bench.nothing" }

// benchChecks is how many checks (and raw jobs) one round runs.
const benchChecks = 1000

// BenchmarkChecks: registry checks queued and completed per second with
// the simulator at zero latency on PostgreSQL — each one transaction to
// queue, three registry answers, the evidence, the data and the level
// committed in batches — beside the raw job queue's throughput (empty
// jobs, one transaction each to queue) measured in the same run: three
// rounds of each, alternating, each on a database of its own, so that the
// machine's drift touches both alike. Reported: the medians of checks/s
// and raw_jobs/s and the median of the rounds' ratios (goal ≥ 0.8, and ≥
// 1,000 checks/s), and the CPU time of each check and raw job in this
// process and in PostgreSQL (medians). Run: go test -run '^$' -bench
// Checks -benchtime 1x ./verification/check
func BenchmarkChecks(b *testing.B) {
	ctx := context.Background()
	var checks, raw []rate
	for b.Loop() {
		for range benchRounds {
			// The raw queue, on a database of its own.
			rawDB := sqldbtest.Postgres(b)
			q, err := jobs.New(rawDB, jobs.Config{PollInterval: 20 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			if err := jobs.Register(q, jobs.Worker[nothing]{Work: func(context.Context, jobs.Job[nothing]) error { return nil }}); err != nil {
				b.Fatal(err)
			}
			raw = append(raw, throughput(b, q, func(i int) error {
				return rawDB.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := q.Enqueue(ctx, tx, nothing{N: i}, nil)
					return err
				})
			}, func() int { return count(b, rawDB, `SELECT COUNT(*) FROM river_job WHERE state = 'completed'`) }))

			db := sqldbtest.Postgres(b)
			r := newBenchRig(b, db)
			ids := make([]string, benchChecks)
			for i := range ids {
				ids[i] = r.person(b, registry.GeneratedIdentity(i+1), fmt.Sprintf("+7916300%04d", i)).ID
			}
			statements := sqldbtest.CountStatements(b, db)
			checks = append(checks, throughput(b, r.queue, func(i int) error {
				_, err := r.svc.Start(ctx, ids[i], "submitted")
				return err
			}, func() int {
				return count(b, db, `SELECT COUNT(*) FROM verification_checks WHERE status = 'confirmed'`)
			}))
			statements(benchChecks)
		}
	}
	ratios := make([]float64, len(checks))
	for i := range checks {
		ratios[i] = checks[i].perSec / raw[i].perSec
	}
	b.ReportMetric(median(checks, func(r rate) float64 { return r.perSec }), "checks/s")
	b.ReportMetric(median(raw, func(r rate) float64 { return r.perSec }), "raw_jobs/s")
	b.ReportMetric(median(ratios, func(r float64) float64 { return r }), "ratio")
	b.ReportMetric(median(checks, func(r rate) float64 { return r.selfMS }), "process-cpu-ms/check")
	b.ReportMetric(median(checks, func(r rate) float64 { return r.pgMS }), "postgres-cpu-ms/check")
	b.ReportMetric(median(raw, func(r rate) float64 { return r.selfMS }), "process-cpu-ms/raw_job")
	b.ReportMetric(median(raw, func(r rate) float64 { return r.pgMS }), "postgres-cpu-ms/raw_job")
	for i := range checks {
		b.Logf("round %d: %.0f checks/s, %.0f raw jobs/s, ratio %.2f", i+1, checks[i].perSec, raw[i].perSec, ratios[i])
	}
}

// benchRounds is how many rounds of each BenchmarkChecks runs.
const benchRounds = 3

// median is the median of f over xs.
func median[T any](xs []T, f func(T) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// BenchmarkCheckSubmission: the submission alone — one check queued in
// its own transaction (read the account's row, supersede its pending
// check and insert the new one) — beside an empty job enqueued in its own
// transaction, one after another with no worker running. Their ratio
// bounds what BenchmarkChecks can reach with one submitter however cheap
// the checks' work becomes. Run: go test -run '^$' -bench
// CheckSubmission -benchtime 1x ./verification/check
func BenchmarkCheckSubmission(b *testing.B) {
	ctx := context.Background()
	var submit, raw float64
	for b.Loop() {
		rawDB := sqldbtest.Postgres(b)
		q, err := jobs.New(rawDB, jobs.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if err := jobs.Register(q, jobs.Worker[nothing]{Work: func(context.Context, jobs.Job[nothing]) error { return nil }}); err != nil {
			b.Fatal(err)
		}
		raw = rateOf(b, func(i int) error {
			return rawDB.InTx(ctx, func(tx *sqldb.Tx) error {
				_, err := q.Enqueue(ctx, tx, nothing{N: i}, nil)
				return err
			})
		})
		r := newBenchRig(b, sqldbtest.Postgres(b))
		ids := make([]string, benchChecks)
		for i := range ids {
			ids[i] = r.person(b, registry.GeneratedIdentity(i+1), fmt.Sprintf("+7916300%04d", i)).ID
		}
		submit = rateOf(b, func(i int) error {
			_, err := r.svc.Start(ctx, ids[i], "submitted")
			return err
		})
	}
	b.ReportMetric(submit, "submissions/s")
	b.ReportMetric(raw, "raw_enqueues/s")
	b.ReportMetric(submit/raw, "ratio")
}

// rateOf runs do for 0…benchChecks-1 in turn and returns calls a second.
func rateOf(b *testing.B, do func(i int) error) float64 {
	b.Helper()
	start := time.Now()
	for i := range benchChecks {
		if err := do(i); err != nil {
			b.Fatal(err)
		}
	}
	return benchChecks / time.Since(start).Seconds()
}

// throughput enqueues benchChecks items with enqueue while q works them,
// and returns items per second from the first enqueue until done counts
// them all, with the CPU time they took.
func throughput(b *testing.B, q *jobs.Queue, enqueue func(i int) error, done func() int) rate {
	b.Helper()
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	}()
	start := time.Now()
	s0, p0 := sqldbtest.SelfCPU(), sqldbtest.PostgresCPU()
	for i := range benchChecks {
		if err := enqueue(i); err != nil {
			b.Fatal(err)
		}
	}
	for done() < benchChecks {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d done after 5 minutes", done(), benchChecks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := rate{perSec: benchChecks / time.Since(start).Seconds(),
		selfMS: msPer(sqldbtest.SelfCPU() - s0), pgMS: msPer(sqldbtest.PostgresCPU() - p0)}
	return r
}

// rate is a round's throughput and its CPU time per item: this process's
// (the queue and the service) and PostgreSQL's, in milliseconds.
type rate struct{ perSec, selfMS, pgMS float64 }

func msPer(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / benchChecks }

func count(b *testing.B, db *sqldb.DB, query string) int {
	b.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func newBenchRig(b *testing.B, db *sqldb.DB) *rig {
	b.Helper()
	r := newReplica(b, db, check.Config{}, nil)
	return r
}
