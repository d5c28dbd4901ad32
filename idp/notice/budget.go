package notice

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Budget bounds how long a request waits for a message gateway. A send
// that takes longer than Wait goes on in the background, on a context the
// request's end does not cancel, at most Max of them at a time per
// process; past that, a send is refused at once (ErrBacklog) instead of
// piling up. A slow SMS gateway (its own timeout is 10 s, with one retry)
// would otherwise hold every page that sends a code or a notice, and
// every citizen behind them. The zero value uses the defaults.
type Budget struct {
	// Wait is how long the request waits (0: 2 s).
	Wait time.Duration
	// Max bounds the sends still running after their request moved on
	// (0: 256).
	Max int

	once    sync.Once
	pending chan struct{}
}

// ErrBacklog: too many sends already wait for the gateway.
var ErrBacklog = errors.New("notice: too many messages waiting for the gateway")

// NoticeWait is how long a request waits for a notice (not a code) to be
// taken: long enough for a healthy gateway, short enough that a slow one
// does not slow sign-ins from new devices.
const NoticeWait = 250 * time.Millisecond

const (
	defaultBudgetWait = 2 * time.Second
	defaultBudgetMax  = 256
	// sendLimit bounds a background send whatever the sender's own
	// timeouts.
	sendLimit = 30 * time.Second
)

// Send runs send and waits for it at most b.Wait: a failure within the
// budget is returned; past it the send is taken as under way (nil, late
// true) and late, when not nil, is told of its outcome.
func (b *Budget) Send(ctx context.Context, send func(context.Context) error, late func(error)) error {
	wait := b.Wait
	if wait <= 0 {
		wait = defaultBudgetWait
	}
	b.once.Do(func() {
		n := b.Max
		if n <= 0 {
			n = defaultBudgetMax
		}
		b.pending = make(chan struct{}, n)
	})
	select {
	case b.pending <- struct{}{}:
	default:
		return ErrBacklog
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-b.pending }()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendLimit)
		defer cancel()
		done <- send(sctx)
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		if late != nil {
			go func() { late(<-done) }()
		}
		return nil
	}
}
