package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Periodic is work repeated every so often by one replica at a time (an
// expired-row sweep, the deletion of accounts whose grace period ended).
type Periodic struct {
	// Name identifies the job (its kind is "periodic." + Name); unique per
	// queue, stable across releases.
	Name string
	// Every is the period; at least one second.
	Every time.Duration
	// Run does one round and says how many items it handled (logged when
	// not zero). An error is logged; the next round comes at the next
	// period, not sooner.
	Run func(ctx context.Context) (int, error)
}

// periodicArgs are a periodic job's args: its name, which is also its kind.
type periodicArgs struct {
	Name string `json:"name"`
}

func (a periodicArgs) Kind() string { return "periodic." + a.Name }

// AddPeriodic declares p on q, before Start. Every replica declares the
// same periodic jobs; only the queue's leader enqueues them (the first
// round when it becomes leader, then one per period), and whichever
// replica is free runs each round once.
func (q *Queue) AddPeriodic(p Periodic) error {
	if p.Name == "" || p.Run == nil || p.Every < time.Second {
		return fmt.Errorf("jobs: periodic job %q needs a name, a Run and a period of a second or more", p.Name)
	}
	args := periodicArgs{Name: p.Name}
	if err := q.register(args.Kind(), 1); err != nil {
		return err
	}
	// One args type for every periodic job, so the kind comes from the
	// value (AddWorkerArgs), not from the type.
	river.AddWorkerArgs(q.workers, args, river.Worker[periodicArgs](&periodicWorker{p: p, q: q}))
	_, err := q.client.PeriodicJobs().AddSafely(river.NewPeriodicJob(river.PeriodicInterval(p.Every),
		func() (river.JobArgs, *river.InsertOpts) {
			// One round per period even across a change of leader.
			return args, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: p.Every}}
		},
		&river.PeriodicJobOpts{ID: p.Name, RunOnStart: true}))
	return err
}

type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	p Periodic
	q *Queue
}

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[periodicArgs]) error {
	n, err := w.p.Run(ctx)
	if err != nil {
		w.q.log.WarnContext(ctx, "periodic job failed", "job", w.p.Name, "err", err)
		// Not retried: the next period is the retry.
		return river.JobCancel(err)
	}
	if n > 0 {
		w.q.log.InfoContext(ctx, "periodic job done", "job", w.p.Name, "items", n)
	}
	return nil
}
