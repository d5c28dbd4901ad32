package main

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// gapBound is the longest answer the pg-restart verdict allows: a
// request while the database is away waits at most for a pooled
// connection (sqldb.DefaultAcquireTimeout, 2 s) and the query's retry,
// then answers 503.
const gapBound = 5 * time.Second

// readyWait is how long after the database's return the replicas'
// /readyz is watched for 200 (the verdict wants ≤ 5 s).
const readyWait = 10 * time.Second

// readyPoll is how often /readyz is asked.
const readyPoll = 50 * time.Millisecond

// readyWatch asks every live replica's /readyz every readyPoll while the
// database restarts, keeping when one first answered other than 200.
type readyWatch struct {
	start time.Time
	stop  context.CancelFunc
	done  chan struct{}
	mu    sync.Mutex
	down  time.Time
}

func watchReady(ctx context.Context, rs []*replica, start time.Time) *readyWatch {
	ctx, stop := context.WithCancel(ctx)
	w := &readyWatch{start: start, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			for _, r := range rs {
				if !r.alive() {
					continue
				}
				if ok := ready(ctx, r); !ok && ctx.Err() == nil {
					w.mu.Lock()
					if w.down.IsZero() {
						w.down = time.Now()
					}
					w.mu.Unlock()
				}
			}
			sleepCtx(ctx, readyPoll)
		}
	}()
	return w
}

// readyAgain stops the watch once every live replica's /readyz answers
// 200, and returns the seconds that took; -1 when it did not within
// readyWait (or the run ended first).
func (w *readyWatch) readyAgain(ctx context.Context, rs []*replica) float64 {
	defer func() { w.stop(); <-w.done }()
	back := time.Now()
	for time.Since(back) < readyWait && ctx.Err() == nil {
		all := true
		for _, r := range rs {
			if r.alive() && !ready(ctx, r) {
				all = false
			}
		}
		if all {
			return time.Since(back).Seconds()
		}
		sleepCtx(ctx, readyPoll)
	}
	return -1
}

// firstDown is when (seconds since the run's start) a /readyz first
// answered other than 200; 0 never.
func (w *readyWatch) firstDown() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down.IsZero() {
		return 0
	}
	return w.down.Sub(w.start).Seconds()
}

// ready reports whether r's /readyz answers 200 within a second.
func ready(ctx context.Context, r *replica) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.admin+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
