package overload

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// ErrOverloaded is wrapped by the errors of a bounded resource (the
// password hashing pool, the database pool) that refused to queue a
// request because its wait would exceed the budget. It is no verdict:
// the request was not judged and the client should come back shortly
// (503 with Retry-After), never be told its password is wrong.
var ErrOverloaded = errors.New("overloaded: the wait would exceed its budget")

// Error is an ErrOverloaded with the wait the resource suggests.
type Error struct {
	// What names the resource, for the log ("password hashing").
	What string
	// RetryAfter is when to come back; at least a second is sent.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.What + ": " + ErrOverloaded.Error() }

// Is makes errors.Is(err, ErrOverloaded) hold.
func (e *Error) Is(target error) bool { return target == ErrOverloaded }

// RetryAfter is the Retry-After, in whole seconds (at least 1), for an
// error that wraps ErrOverloaded; ok is false for any other error.
func RetryAfter(err error) (seconds int, ok bool) {
	if !errors.Is(err, ErrOverloaded) {
		return 0, false
	}
	var oe *Error
	if errors.As(err, &oe) {
		return max(1, int((oe.RetryAfter+time.Second-1)/time.Second)), true
	}
	return 1, true
}

// SetRetryAfter sets the Retry-After header for an overload error (and
// reports whether err is one).
func SetRetryAfter(w http.ResponseWriter, err error) bool {
	s, ok := RetryAfter(err)
	if ok {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	return ok
}

type arrivalKey struct{}

// WithArrival records when the request carried by ctx arrived, so that a
// budget can count the time already spent on it (the HTTP layer sets it
// for every request).
func WithArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, &arrival{at: t})
}

// arrival is a request's arrival and what it has waited for bounded
// resources since.
type arrival struct {
	at     time.Time
	waited atomic.Int64 // nanoseconds
}

// Arrival is when the request carried by ctx arrived, or the zero time
// when nobody recorded it.
func Arrival(ctx context.Context) time.Time {
	if a, ok := ctx.Value(arrivalKey{}).(*arrival); ok {
		return a.at
	}
	return time.Time{}
}

// Waited is what the request carried by ctx has waited so far for a
// resource that counts its waits with AddWait (the database pool), and
// whether the request's arrival was recorded at all.
func Waited(ctx context.Context) (time.Duration, bool) {
	a, ok := ctx.Value(arrivalKey{}).(*arrival)
	if !ok {
		return 0, false
	}
	return time.Duration(a.waited.Load()), true
}

// AddWait counts d towards the request's Waited.
func AddWait(ctx context.Context, d time.Duration) {
	if a, ok := ctx.Value(arrivalKey{}).(*arrival); ok {
		a.waited.Add(int64(d))
	}
}

type queuedKey struct{}

// WithQueued records that the client of the request carried by ctx has
// been kept waiting by refusals since t (a ticket it brought back with its
// retry): a bounded resource serves it before those who came later, so
// that under sustained overload a citizen's retries are not a lottery —
// each refused one moves up the queue.
func WithQueued(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, queuedKey{}, t)
}

// MaxQueuedAdvance is how far ahead of its arrival a ticket (WithQueued)
// may place a request. A citizen's retries move up by the time they have
// been kept waiting, up to this; a ticket kept and replayed for minutes,
// or collected for many logins in one burst, buys no more than a client
// that arrived this much earlier.
const MaxQueuedAdvance = 30 * time.Second

// Rank is the request's place in a queue for a bounded resource: the
// earlier of the time its client was first refused (WithQueued; at most
// MaxQueuedAdvance before the arrival) and its arrival (WithArrival), or
// now when neither is known. Earlier is served first.
func Rank(ctx context.Context, now time.Time) time.Time {
	rank := now
	if a := Arrival(ctx); !a.IsZero() && a.Before(rank) {
		rank = a
	}
	if q, ok := ctx.Value(queuedKey{}).(time.Time); ok && !q.IsZero() && q.Before(rank) {
		floor := rank.Add(-MaxQueuedAdvance)
		rank = q
		if q.Before(floor) {
			rank = floor
		}
	}
	return rank
}

// Queued is the time WithQueued recorded, zero without one.
func Queued(ctx context.Context) time.Time {
	q, _ := ctx.Value(queuedKey{}).(time.Time)
	return q
}
