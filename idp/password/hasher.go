package password

import (
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosid/gosid/internal/argon2"

	"github.com/gosid/gosid/internal/overload"
)

// ErrBusy is what a hash refused for overload wraps (it is
// overload.ErrOverloaded): the caller answers 503 with Retry-After and judges
// nothing — a password that was not checked is neither right nor wrong.
var ErrBusy = overload.ErrOverloaded

// Hasher hashes and verifies passwords with argon2id. It is safe for
// concurrent use. At most maxConcurrent hashes are computed at once; other
// callers wait (honouring their context), so a burst of sign-ins costs at most
// maxConcurrent × Params.Memory KiB of memory instead of growing without
// bound. With a budget (SetBudget) a caller who could not be done within it
// is refused at once with ErrBusy instead of queueing: under a burst the
// excess gets a quick 503 and those admitted are done within the budget.
type Hasher struct {
	params Params
	dummy  PHC // a hash of a random secret with the current params, for VerifyDummy

	// The slots: at most slots hashes at once; callers that find them
	// all busy wait in queue, earliest rank (overload.Rank) first, and a
	// released slot passes straight to the first of them.
	mu    sync.Mutex
	slots int
	busy  int
	queue waiters
	seq   uint64

	budget   time.Duration
	waiting  atomic.Int64 // callers waiting for a slot
	admitted atomic.Int64 // callers admitted (Admit) and not yet at a slot or gone
	avg      atomic.Int64 // a moving average of one hash's time, in ns
	tail     atomic.Int64 // a decaying peak of the callers' time after their check (Finished), in ns
	peak     atomic.Int64 // a decaying peak of one hash's time, in ns

	// derive computes the argon2id key; tests replace it to observe
	// concurrency without paying for real hashes.
	derive func(pw, salt []byte, p Params) []byte
}

func argon2idKey(pw, salt []byte, p Params) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// NewHasher returns a Hasher for params. The zero Params means
// DefaultParams(). maxConcurrent ≤ 0 means runtime.GOMAXPROCS(0).
// NewHasher computes one hash (the dummy used by VerifyDummy).
func NewHasher(params Params, maxConcurrent int) (*Hasher, error) {
	return newHasher(params, maxConcurrent, argon2idKey)
}

func newHasher(params Params, maxConcurrent int, derive func(pw, salt []byte, p Params) []byte) (*Hasher, error) {
	if params == (Params{}) {
		params = DefaultParams()
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: params, slots: maxConcurrent, derive: derive}
	secret := make([]byte, 32)
	rand.Read(secret) // never fails since Go 1.24
	h.dummy = h.newPHC(secret)
	return h, nil
}

// SetBudget bounds a password check's time (call it before use): from the
// request's arrival (overload.Arrival of the caller's context; the call
// itself when unknown) to its answer. The hash must end early enough to
// leave a third of the budget for what the citizen waits for besides the
// queue and the hash — on a CPU busy hashing, the statements after it,
// the answer's way back through the proxy in front, the request's way in
// before its arrival was noted — or more, up to half, when requests
// recently took longer after their hash (Finished). A caller that could
// not be done within it — judged from the time already spent, the
// callers ahead and the expected time of a hash — gets ErrBusy at once;
// one admitted but still waiting when only a hash's time is left, or
// given a slot too late, gets it then. Zero (the default) waits as long
// as the caller's context allows.
func (h *Hasher) SetBudget(d time.Duration) { h.budget = max(d, 0) }

// Finished tells the Hasher how long a caller took after its check to
// answer (the work the budget must leave room for). It keeps a decaying
// peak: a longer time at once, a shorter one by 1/32 of the difference.
func (h *Hasher) Finished(d time.Duration) { peak(&h.tail, int64(d)) }

// Admit reports, before a caller does any other work for a password
// check, whether the check could be done within the budget if it began
// now: ErrBusy (an *overload.Error with the wait) when it could not. A
// sign-in refused here costs no database round trip.
//
// With every slot busy the caller is judged as a waiting one would be.
// And at most maxAhead rounds of callers (cap × maxAhead) may be between
// their admission and the hasher at once: at a burst's first rush every
// sign-in asks before any reaches the hasher, and all of them admitted
// crowded the database together and were refused late, when their turn
// came. Admit returns ctx carrying the admission, which the check
// (Verify, VerifyDummy, Hash) takes over, and leave, which the caller
// must call (defer it) for a caller that ends without a check.
func (h *Hasher) Admit(ctx context.Context) (context.Context, func(), error) {
	if h.budget <= 0 {
		return ctx, func() {}, nil
	}
	now := time.Now()
	h.mu.Lock()
	full, ahead := h.busy == h.slots, h.aheadOf(overload.Rank(ctx, now))
	h.mu.Unlock()
	if full {
		if wait, ok := h.fits(ctx, now, ahead); !ok {
			return ctx, func() {}, overloaded(wait)
		}
	}
	if h.admitted.Add(1) > maxAhead*int64(h.slots) {
		h.admitted.Add(-1)
		return ctx, func() {}, overloaded(time.Duration(maxAhead) * h.hashTime())
	}
	a := &admission{h: h}
	return context.WithValue(ctx, admissionKey{}, a), a.leave, nil
}

// maxAhead bounds the callers between admission and the hasher, in rounds
// of the hasher (cap callers each). The work before a check (a few
// statements) is shorter than a hash: in a steady stream about one round
// is there; more than four means a rush the budget cannot hold.
const maxAhead = 4

// admission is a caller admitted by Admit until it reaches its check or
// leaves.
type admission struct {
	h    *Hasher
	gone atomic.Bool
}

type admissionKey struct{}

func (a *admission) leave() {
	if a.gone.CompareAndSwap(false, true) {
		a.h.admitted.Add(-1)
	}
}

// arrived ends the admission ctx carries, if any: its caller is at the
// hasher now, in a slot or among those waiting.
func (h *Hasher) arrived(ctx context.Context) {
	if a, ok := ctx.Value(admissionKey{}).(*admission); ok && a.h == h {
		a.leave()
	}
}

// fits predicts a caller's wait for a slot and its hash from now, with
// ahead callers before it, and reports whether they end before the
// caller's deadline for the hash: the callers ahead leave cap at a time,
// each round one hash long (those in a slot end within one), and then
// the caller's own hash must fit too.
func (h *Hasher) fits(ctx context.Context, now time.Time, ahead int64) (wait time.Duration, ok bool) {
	hash := h.hashTime()
	wait = time.Duration(ahead/int64(h.slots)) * hash
	return wait + hash, !now.Add(wait + hash).After(h.deadline(ctx, now))
}

// deadline is when a caller's hash must end.
func (h *Hasher) deadline(ctx context.Context, now time.Time) time.Time {
	arrival := overload.Arrival(ctx)
	if arrival.IsZero() {
		arrival = now
	}
	reserve := min(max(time.Duration(h.tail.Load()), h.budget/3), h.budget/2)
	return arrival.Add(h.budget - reserve)
}

// Waiting is how many callers wait for a hashing slot now (the metric
// gosid_password_waiting).
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// derived runs derive and keeps the moving average of its time (1/8 of
// each new sample).
func (h *Hasher) derived(pw, salt []byte, p Params) []byte {
	start := time.Now()
	key := h.derive(pw, salt, p)
	d := int64(time.Since(start))
	peak(&h.peak, d)
	if old := h.avg.Load(); old > 0 {
		d = old + (d-old)/8
	}
	h.avg.Store(d)
	return key
}

// hashTime is what the next hash is expected to take: the larger of the
// moving average and the decaying peak, so that a CPU that suddenly has
// more to do (a burst beginning, another process) counts at once, not
// after the average catches up.
func (h *Hasher) hashTime() time.Duration {
	return time.Duration(max(h.avg.Load(), h.peak.Load()))
}

// peak keeps a decaying peak in p: a longer time at once, a shorter one
// by 1/32 of the difference.
func peak(p *atomic.Int64, d int64) {
	for {
		old := p.Load()
		if p.CompareAndSwap(old, max(d, old-(old-d)/32)) {
			return
		}
	}
}

// overloaded is the refusal of a wait of about wait.
func overloaded(wait time.Duration) error {
	return fmt.Errorf("password: %w", &overload.Error{What: "password hashing", RetryAfter: wait})
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// newPHC hashes pw with a fresh salt, without the semaphore.
func (h *Hasher) newPHC(pw []byte) PHC {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	return PHC{Params: h.params, Salt: salt, Key: h.derived(pw, salt, h.params)}
}

// aheadOf is how many callers are ahead of one of the given rank when
// every slot is busy: those in the slots and those waiting with an
// earlier or equal rank. The caller holds h.mu.
func (h *Hasher) aheadOf(rank time.Time) int64 {
	n := int64(h.slots)
	for _, w := range h.queue {
		if !w.rank.After(rank) {
			n++
		}
	}
	return n
}

// acquire takes a slot, or fails with ctx's error, or with ErrBusy when
// the wait would exceed the budget. Waiting callers get the slots by rank
// (overload.Rank: a client refused earlier, else an earlier arrival),
// so a citizen whose sign-in was refused comes before those who came
// after its first try; a caller overtaken so that its hash no longer fits
// is refused while a refusal is still quick.
func (h *Hasher) acquire(ctx context.Context) error {
	h.arrived(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	rank := overload.Rank(ctx, now)
	h.mu.Lock()
	if h.busy < h.slots {
		h.busy++
		h.mu.Unlock()
		return nil
	}
	var deadline time.Time
	var timer *time.Timer
	var timeout <-chan time.Time
	if h.budget > 0 {
		// Every slot is busy: those in them and those waiting before
		// this caller are ahead.
		if wait, ok := h.fits(ctx, now, h.aheadOf(rank)); !ok {
			h.mu.Unlock()
			return overloaded(wait)
		}
		deadline = h.deadline(ctx, now)
		timer = time.NewTimer(deadline.Sub(now) - h.hashTime())
		defer timer.Stop()
		timeout = timer.C
	}
	h.seq++
	w := &waiter{rank: rank, seq: h.seq, ready: make(chan struct{})}
	heap.Push(&h.queue, w)
	h.waiting.Store(int64(len(h.queue)))
	h.mu.Unlock()
	for {
		select {
		case <-w.ready:
			if timer != nil && time.Now().Add(h.hashTime()).After(deadline) {
				// The slot came, but too late for the hash to end in
				// time as the hash time is judged now.
				h.release()
				return overloaded(h.hashTime())
			}
			return nil
		case <-ctx.Done():
			h.leaveQueue(w)
			return ctx.Err()
		case <-timeout:
			// Only a hash's time is left, as the hash time was
			// judged when the caller began to wait: judged again now,
			// the caller waits on if it still fits, else it is refused
			// while a refusal is still quick.
			if left := time.Until(deadline) - h.hashTime(); left > 0 {
				timer.Reset(left)
				continue
			}
			h.leaveQueue(w)
			return overloaded(h.hashTime() * time.Duration(h.waiting.Load()/int64(h.slots)+1))
		}
	}
}

// leaveQueue takes a waiter that gives up out of the queue; a slot given
// to it meanwhile is released again.
func (h *Hasher) leaveQueue(w *waiter) {
	h.mu.Lock()
	if w.index >= 0 {
		heap.Remove(&h.queue, w.index)
		h.waiting.Store(int64(len(h.queue)))
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.release()
}

// release frees a slot: to the first waiting caller, if any.
func (h *Hasher) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.queue) == 0 {
		h.busy--
		return
	}
	w := heap.Pop(&h.queue).(*waiter)
	h.waiting.Store(int64(len(h.queue)))
	close(w.ready)
}

// waiter is a caller waiting for a slot.
type waiter struct {
	rank  time.Time
	seq   uint64 // arrival order among equal ranks
	ready chan struct{}
	index int // in the queue; -1 once given a slot or gone
}

// waiters is a heap of waiting callers, the earliest rank first.
type waiters []*waiter

func (q waiters) Len() int { return len(q) }
func (q waiters) Less(i, j int) bool {
	if !q[i].rank.Equal(q[j].rank) {
		return q[i].rank.Before(q[j].rank)
	}
	return q[i].seq < q[j].seq
}
func (q waiters) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *waiters) Push(x any) {
	w := x.(*waiter)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *waiters) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*q = old[:len(old)-1]
	return w
}

// Hash returns an argon2id PHC string for pw with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	if err := h.acquire(ctx); err != nil {
		return "", fmt.Errorf("password: waiting to hash: %w", err)
	}
	defer h.release()
	return h.newPHC([]byte(pw)).Encode(), nil
}

// Verify reports whether pw matches the stored PHC string. The keys are
// compared in constant time. needsRehash is true, for a matching password
// only, when the stored parameters differ from the Hasher's; the caller
// should then store a fresh Hash. A malformed PHC string is an error
// wrapping ErrMalformedHash (no hash is computed in that case).
func (h *Hasher) Verify(ctx context.Context, phc, pw string) (ok, needsRehash bool, err error) {
	stored, err := ParsePHC(phc)
	if err != nil {
		return false, false, err
	}
	if len(pw) > MaxPasswordBytes {
		return false, false, ErrPasswordTooLong
	}
	ok, err = h.verify(ctx, stored, pw)
	if err != nil || !ok {
		return false, false, err
	}
	return true, stored.Params != h.params, nil
}

// VerifyDummy computes exactly one hash with the current parameters against
// a fixed dummy hash and discards the result, so that a login for an unknown
// identifier takes as long as one for a known identifier. Like Verify, it
// returns ErrPasswordTooLong without hashing for over-long input; otherwise
// it returns only context errors.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	if len(pw) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	_, err := h.verify(ctx, h.dummy, pw)
	return err
}

func (h *Hasher) verify(ctx context.Context, stored PHC, pw string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, fmt.Errorf("password: waiting to verify: %w", err)
	}
	key := h.derived([]byte(pw), stored.Salt, stored.Params)
	h.release()
	return subtle.ConstantTimeCompare(key, stored.Key) == 1, nil
}

// String describes the Hasher's parameters; it holds no secret of its own
// but implements String and LogValue so that the dummy hash never leaks.
func (h *Hasher) String() string {
	return fmt.Sprintf("password.Hasher{argon2id %s, concurrency %d, budget %s}", h.params, h.slots, h.budget)
}

// LogValue implements slog.LogValuer.
func (h *Hasher) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("alg", "argon2id"),
		slog.String("params", h.params.String()),
		slog.Int("max_concurrent", h.slots),
		slog.Duration("budget", h.budget),
	)
}
