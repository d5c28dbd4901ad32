package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestLoopLifecycle: a loop runs from Start; one that fails runs again;
// Stop closes stop and waits for the loop to finish what it started; when
// Stop's grace runs out the loop's context is cancelled and Stop still
// waits for it to return.
func TestLoopLifecycle(t *testing.T) {
	db := sqldbtest.SQLite(t)
	var runs, finished atomic.Int32
	started := make(chan struct{}, 10)
	q := newQueue(t, db, "l", func(q *jobs.Queue) error {
		if err := newRuns().worker("l")(q); err != nil {
			return err
		}
		return q.AddLoop(jobs.Loop{Name: "test", Run: func(ctx context.Context, stop <-chan struct{}) error {
			started <- struct{}{}
			if runs.Add(1) == 1 {
				return errors.New("first run fails")
			}
			<-stop
			time.Sleep(50 * time.Millisecond) // finishing what it started
			finished.Add(1)
			return nil
		}})
	})
	if err := q.AddLoop(jobs.Loop{Name: "test", Run: func(context.Context, <-chan struct{}) error { return nil }}); err == nil {
		t.Fatal("a loop added twice")
	}
	start(t, q)
	if err := q.AddLoop(jobs.Loop{Name: "late", Run: func(context.Context, <-chan struct{}) error { return nil }}); err == nil {
		t.Fatal("AddLoop after Start succeeded")
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatalf("the loop ran %d times; the failed run was not run again", runs.Load())
		}
	}
	stop(t, q)
	if finished.Load() != 1 {
		t.Fatalf("Stop returned before the loop finished (finished %d)", finished.Load())
	}

	// A loop that does not stop by itself: cancelled when the grace ends.
	db2 := sqldbtest.SQLite(t)
	var cancelled atomic.Bool
	q2 := newQueue(t, db2, "m", func(q *jobs.Queue) error {
		if err := newRuns().worker("m")(q); err != nil {
			return err
		}
		return q.AddLoop(jobs.Loop{Name: "stubborn", Run: func(ctx context.Context, stop <-chan struct{}) error {
			started <- struct{}{}
			<-ctx.Done()
			cancelled.Store(true)
			return ctx.Err()
		}})
	})
	start(t, q2)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = q2.Stop(ctx)
	if !cancelled.Load() {
		t.Fatal("Stop returned before the loop's context was cancelled and it returned")
	}
}
