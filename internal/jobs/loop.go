package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Loop is a module's own work that every replica runs for as long as its
// queue runs: a table of the module's that is its own queue, drained in
// batches (the registry checks: a check's row is its queue entry, so that a
// check costs no more than a job). The rows, not the process, hold the
// state: a replica that dies leaves them to the others.
type Loop struct {
	// Name identifies the loop in logs; unique per queue.
	Name string
	// Run works until stop is closed, then finishes what it started and
	// returns. ctx ends when Stop's grace runs out: work still going on
	// then must give up and leave its rows for another replica. An error
	// is logged and Run is called again a second later.
	Run func(ctx context.Context, stop <-chan struct{}) error
}

// loops are the queue's loops and their lifecycle.
type loops struct {
	mu      sync.Mutex
	all     []Loop
	stop    chan struct{}
	cancel  context.CancelFunc
	running sync.WaitGroup
}

// AddLoop declares l on q, before Start.
func (q *Queue) AddLoop(l Loop) error {
	if l.Name == "" || l.Run == nil {
		return fmt.Errorf("jobs: a loop needs a name and a Run")
	}
	q.mu.Lock()
	started := q.started
	q.mu.Unlock()
	q.loops.mu.Lock()
	defer q.loops.mu.Unlock()
	if started {
		return fmt.Errorf("jobs: loop %q added after Start", l.Name)
	}
	for _, o := range q.loops.all {
		if o.Name == l.Name {
			return fmt.Errorf("jobs: loop %q added twice", l.Name)
		}
	}
	q.loops.all = append(q.loops.all, l)
	return nil
}

// startLoops runs every loop on its own goroutine.
func (q *Queue) startLoops(ctx context.Context) {
	ls := &q.loops
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.stop != nil || len(ls.all) == 0 {
		return
	}
	stop := make(chan struct{})
	ls.stop = stop
	ctx, ls.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, l := range ls.all {
		ls.running.Add(1)
		go func() {
			defer ls.running.Done()
			for {
				err := l.Run(ctx, stop)
				select {
				case <-stop:
					return
				default:
				}
				q.log.Error("loop failed; running it again in a second", "loop", l.Name, "err", err)
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
			}
		}()
	}
}

// stopLoops tells the loops to stop and waits for them; when ctx ends
// first, their context is cancelled and it waits for them to return.
func (q *Queue) stopLoops(ctx context.Context) {
	ls := &q.loops
	ls.mu.Lock()
	stop, cancel := ls.stop, ls.cancel
	ls.stop, ls.cancel = nil, nil
	ls.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	done := make(chan struct{})
	go func() { ls.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		q.log.Warn("loops still running at shutdown: cancelling them")
		cancel()
		<-done
	}
	cancel()
}
