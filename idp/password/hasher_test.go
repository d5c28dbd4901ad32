package password

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/overload"
)

// fastParams keep real argon2id hashing cheap in tests.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t *testing.T, p Params) *Hasher {
	t.Helper()
	h, err := NewHasher(p, 0)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := t.Context()
	for _, p := range []Params{fastParams, {} /* defaults */} {
		h := newTestHasher(t, p)
		phc, err := h.Hash(ctx, "Vt9#kqzmRw")
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		if !phcRE.MatchString(phc) {
			t.Fatalf("Hash = %q, not a PHC string", phc)
		}
		if p == (Params{}) && !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("default params: %q", phc)
		}
		ok, rehash, err := h.Verify(ctx, phc, "Vt9#kqzmRw")
		if !ok || rehash || err != nil {
			t.Errorf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
		for _, wrong := range []string{"vt9#kqzmRw", "Vt9#kqzmR", "", "Vt9#kqzmRw "} {
			if ok, rehash, err := h.Verify(ctx, phc, wrong); ok || rehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
			}
		}
		phc2, _ := h.Hash(ctx, "Vt9#kqzmRw")
		if phc2 == phc {
			t.Error("two hashes of one password are equal: salt not random")
		}
	}
}

// The reference implementation's argon2id test vector (phc-winner-argon2,
// src/test.c): password "password", salt "somesalt", t=2, m=64 MiB, p=1.
func TestVerifyKnownAnswer(t *testing.T) {
	const kat = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := newTestHasher(t, fastParams)
	ok, rehash, err := h.Verify(t.Context(), kat, "password")
	if !ok || !rehash || err != nil {
		t.Fatalf("Verify(KAT) = %v, %v, %v; want true, true (8-byte salt, other params), nil", ok, rehash, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := t.Context()
	old := newTestHasher(t, fastParams)
	phc, err := old.Hash(ctx, "Vt9#kqzmRw")
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(*Params){
		"memory":  func(p *Params) { p.Memory *= 2 },
		"time":    func(p *Params) { p.Time++ },
		"threads": func(p *Params) { p.Threads++ },
		"salt":    func(p *Params) { p.SaltLen = 32 },
		"key":     func(p *Params) { p.KeyLen = 64 },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			p := fastParams
			change(&p)
			h := newTestHasher(t, p)
			if ok, rehash, err := h.Verify(ctx, phc, "Vt9#kqzmRw"); !ok || !rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			// No rehash signal for a wrong password: nothing to store.
			if ok, rehash, _ := h.Verify(ctx, phc, "wrong"); ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v", ok, rehash)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, fastParams)
	for _, phc := range []string{"", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$$", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"} {
		ok, rehash, err := h.Verify(t.Context(), phc, "x")
		if ok || rehash || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v, %v; want ErrMalformedHash", phc, ok, rehash, err)
		}
	}
}

func TestNewHasherInvalidParams(t *testing.T) {
	for _, p := range []Params{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 7, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: MaxMemoryKiB + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: MaxTime + 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := NewHasher(p, 1); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("NewHasher(%+v) error = %v, want ErrInvalidParams", p, err)
		}
	}
}

// countingDerive returns a fixed key and counts calls; it lets tests observe
// what Verify does without timing it.
type countingDerive struct {
	calls   atomic.Int32
	params  atomic.Value // last Params
	current atomic.Int32
	peak    atomic.Int32
	delay   time.Duration
	block   chan struct{} // if not nil, derive waits for it
}

func (c *countingDerive) derive(pw, salt []byte, p Params) []byte {
	c.calls.Add(1)
	c.params.Store(p)
	n := c.current.Add(1)
	for {
		old := c.peak.Load()
		if n <= old || c.peak.CompareAndSwap(old, n) {
			break
		}
	}
	if c.block != nil {
		<-c.block
	}
	time.Sleep(c.delay)
	c.current.Add(-1)
	return bytes.Repeat([]byte{0xAB}, int(p.KeyLen))
}

// Verify computes the whole key and compares it with
// subtle.ConstantTimeCompare: a key differing in its first byte costs the
// same single derivation as one differing in its last byte, and both fail.
func TestVerifyComparesWholeKey(t *testing.T) {
	c := &countingDerive{}
	h, err := newHasher(fastParams, 1, c.derive)
	if err != nil {
		t.Fatal(err)
	}
	good := bytes.Repeat([]byte{0xAB}, 32)
	salt := bytes.Repeat([]byte{1}, 16)
	for i, key := range [][]byte{good, flip(good, 0), flip(good, 31), flip(good, 15)} {
		phc := PHC{Params: fastParams, Salt: salt, Key: key}
		phc.Params.KeyLen = uint32(len(key))
		c.calls.Store(0)
		ok, _, err := h.Verify(t.Context(), phc.Encode(), "pw")
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 0; ok != want {
			t.Errorf("key %d: ok = %v, want %v", i, ok, want)
		}
		if n := c.calls.Load(); n != 1 {
			t.Errorf("key %d: %d derivations, want 1", i, n)
		}
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

func TestSemaphoreBoundsConcurrency(t *testing.T) {
	const limit = 3
	c := &countingDerive{delay: 5 * time.Millisecond}
	h, err := newHasher(fastParams, limit, c.derive)
	if err != nil {
		t.Fatal(err)
	}
	phc, _ := h.Hash(t.Context(), "pw")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(t.Context(), "pw")
			case 1:
				_, _, err = h.Verify(t.Context(), phc, "pw")
			case 2:
				err = h.VerifyDummy(t.Context(), "pw")
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := c.peak.Load(); p != limit {
		t.Errorf("peak concurrent hashes = %d, want %d", p, limit)
	}
}

func TestSemaphoreHonoursContext(t *testing.T) {
	c := &countingDerive{}
	h, err := newHasher(fastParams, 1, c.derive)
	if err != nil {
		t.Fatal(err)
	}
	c.calls.Store(0)
	c.block = make(chan struct{}) // set after the dummy was computed
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Hash(context.Background(), "first") // holds the only slot
	}()
	for c.current.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "second"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash while saturated = %v, want DeadlineExceeded", err)
	}
	if _, _, err := h.Verify(ctx, validPHC, "second"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify while saturated = %v, want DeadlineExceeded", err)
	}
	if err := h.VerifyDummy(ctx, "second"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("VerifyDummy while saturated = %v, want DeadlineExceeded", err)
	}
	close(c.block)
	<-done
	if n := c.calls.Load(); n != 1 {
		t.Errorf("%d derivations, want 1 (waiters must not hash)", n)
	}
}

// budgeted is a hasher of slots slots whose hashes take hash (its derive
// counted by c), with the budget.
func budgeted(t *testing.T, slots int, hash, budget time.Duration) (*Hasher, *countingDerive) {
	t.Helper()
	c := &countingDerive{delay: hash}
	h, err := newHasher(fastParams, slots, c.derive)
	if err != nil {
		t.Fatal(err)
	}
	h.SetBudget(budget)
	return h, c
}

// TestBudget: with two slots, hashes of 20 ms and a budget of 50 ms, a
// burst of 40 callers is split: those whose wait and hash the budget
// covers are served, each within it, and the rest are refused at once
// with ErrBusy (overload.ErrOverloaded, with a Retry-After) — none queues
// for the whole burst.
func TestBudget(t *testing.T) {
	const hash, budget = 20 * time.Millisecond, 50 * time.Millisecond
	h, _ := budgeted(t, 2, hash, budget)
	var served, refused atomic.Int32
	var slowest, slowestRefusal atomic.Int64
	keep := func(a *atomic.Int64, d time.Duration) {
		for old := a.Load(); int64(d) > old && !a.CompareAndSwap(old, int64(d)); old = a.Load() {
		}
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			start := time.Now()
			err := h.VerifyDummy(t.Context(), "pw")
			took := time.Since(start)
			switch {
			case err == nil:
				served.Add(1)
				keep(&slowest, took)
			case errors.Is(err, ErrBusy) && errors.Is(err, overload.ErrOverloaded):
				refused.Add(1)
				keep(&slowestRefusal, took)
				if s, ok := overload.RetryAfter(err); !ok || s < 1 {
					t.Errorf("a refusal without a Retry-After: %v", err)
				}
			default:
				t.Errorf("VerifyDummy: %v", err)
			}
		})
	}
	wg.Wait()
	t.Logf("served %d, refused %d; slowest served %s, slowest refusal %s", served.Load(), refused.Load(),
		time.Duration(slowest.Load()), time.Duration(slowestRefusal.Load()))
	if served.Load() < 2 || refused.Load() < 20 {
		t.Errorf("served %d, refused %d of 40: the budget covers about 2×(50/20) = 4", served.Load(), refused.Load())
	}
	// Generous bounds for a loaded machine; without the budget the last
	// of 40 would wait 20 rounds (400 ms).
	if d := time.Duration(slowest.Load()); d > budget+150*time.Millisecond {
		t.Errorf("a served caller took %s, budget %s (its hash included)", d, budget)
	}
	if d := time.Duration(slowestRefusal.Load()); d > budget+150*time.Millisecond {
		t.Errorf("a refusal took %s", d)
	}
	// The queue empties: the next caller is served.
	if err := h.VerifyDummy(t.Context(), "pw"); err != nil {
		t.Errorf("after the burst: %v", err)
	}
	if h.Waiting() != 0 {
		t.Errorf("%d still waiting", h.Waiting())
	}
}

// TestBudgetCountsArrival: the budget runs from the request's arrival
// (overload.WithArrival, set by the HTTP layer), not from the call: a
// caller who already spent most of it before asking, and would have to
// wait for a slot, is refused at once; with a slot free it is served.
func TestBudgetCountsArrival(t *testing.T) {
	const hash, budget = 20 * time.Millisecond, 100 * time.Millisecond
	h, c := budgeted(t, 1, hash, budget)
	c.calls.Store(0)
	c.block = make(chan struct{})
	late := overload.WithArrival(t.Context(), time.Now().Add(-90*time.Millisecond))
	// With the slot free, even a late caller hashes at once.
	done := make(chan error, 1)
	go func() { done <- h.VerifyDummy(late, "pw") }()
	for c.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The slot is taken: a fresh caller may wait, a late one may not.
	start := time.Now()
	if err := h.VerifyDummy(late, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("a caller 90 ms into a 100 ms budget, behind a 20 ms hash: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("the refusal took %s, want at once", d)
	}
	fresh := make(chan error, 1)
	go func() { fresh <- h.VerifyDummy(overload.WithArrival(t.Context(), time.Now()), "pw") }()
	time.Sleep(5 * time.Millisecond)
	close(c.block)
	if err := <-done; err != nil {
		t.Errorf("the first caller: %v", err)
	}
	if err := <-fresh; err != nil {
		t.Errorf("a fresh caller within its budget: %v", err)
	}
}

// TestAdmit: before any other work a sign-in asks whether its check
// could be done within the budget if it began now. With a slot free it
// could, however late; behind a running hash a fresh caller could, and
// so could one that has spent 60 ms of a 300 ms budget (its hash would
// end at 100 ms, within the 200 ms left by the least reserve, a third) —
// until callers report taking 150 ms after their check (Finished): then
// its hash must end by 150 ms, and one that has spent 120 ms is refused. Admit reserves nothing
// and waits for nothing.
func TestAdmit(t *testing.T) {
	const hash, budget = 20 * time.Millisecond, 300 * time.Millisecond
	h, c := budgeted(t, 1, hash, budget)
	late := overload.WithArrival(t.Context(), time.Now().Add(-60*time.Millisecond))
	admit := func(ctx context.Context) error {
		_, leave, err := h.Admit(ctx)
		leave()
		return err
	}
	if err := admit(late); err != nil {
		t.Errorf("with the slot free: %v", err)
	}
	c.calls.Store(0)
	c.block = make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- h.VerifyDummy(t.Context(), "pw") }()
	for c.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := admit(overload.WithArrival(t.Context(), time.Now())); err != nil {
		t.Errorf("a fresh caller behind one hash: %v", err)
	}
	if err := admit(late); err != nil {
		t.Errorf("a caller 60 ms into a 300 ms budget behind a 20 ms hash, nothing known of the time after: %v", err)
	}
	later := overload.WithArrival(t.Context(), time.Now().Add(-120*time.Millisecond))
	if err := admit(later); err != nil {
		t.Errorf("a caller 120 ms into a 300 ms budget behind a 20 ms hash, nothing known of the time after: %v", err)
	}
	h.Finished(150 * time.Millisecond)
	h.Finished(time.Millisecond) // the peak decays slowly
	start := time.Now()
	err := admit(later)
	if !errors.Is(err, ErrBusy) {
		t.Errorf("a caller 120 ms into a 300 ms budget behind a 20 ms hash, 150 ms needed after it: %v, want ErrBusy", err)
	} else if s, ok := overload.RetryAfter(err); !ok || s < 1 {
		t.Errorf("the refusal has no Retry-After: %v", err)
	}
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Errorf("Admit took %s, want at once", d)
	}
	if h.Waiting() != 0 {
		t.Errorf("Admit left %d waiting", h.Waiting())
	}
	close(c.block)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestAdmitCountsAdmitted: at most maxAhead rounds of callers may be
// between their admission and the hasher, so that a rush of sign-ins,
// all asking before any checks, is not admitted whole: with one slot,
// four are admitted and the fifth is refused at once, with a
// Retry-After; one leaving makes room for one; one checking takes its
// place at the hasher and makes room too.
func TestAdmitCountsAdmitted(t *testing.T) {
	const hash, budget = 20 * time.Millisecond, 300 * time.Millisecond
	h, _ := budgeted(t, 1, hash, budget)
	now := func() context.Context { return overload.WithArrival(t.Context(), time.Now()) }
	var ctxs []context.Context
	var leaves []func()
	for i := range maxAhead {
		ctx, leave, err := h.Admit(now())
		if err != nil {
			t.Fatalf("caller %d of the rush: %v", i+1, err)
		}
		ctxs, leaves = append(ctxs, ctx), append(leaves, leave)
	}
	start := time.Now()
	_, _, err := h.Admit(now())
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("one more, behind %d admitted: %v, want ErrBusy", maxAhead, err)
	} else if s, ok := overload.RetryAfter(err); !ok || s < 1 {
		t.Errorf("the refusal has no Retry-After: %v", err)
	}
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Errorf("the refusal took %s, want at once", d)
	}
	leaves[0]()
	leaves[0]() // leaving twice counts once
	_, leave, err := h.Admit(now())
	if err != nil {
		t.Fatalf("after one left: %v", err)
	}
	defer leave()
	if _, _, err := h.Admit(now()); !errors.Is(err, ErrBusy) {
		t.Fatalf("after one left and one came: %v, want ErrBusy", err)
	}
	// A caller that checks is at the hasher: no longer counted as
	// admitted, and its leave afterwards changes nothing.
	if err := h.VerifyDummy(ctxs[1], "pw"); err != nil {
		t.Fatal(err)
	}
	leaves[1]()
	if got := h.admitted.Load(); got != maxAhead-1 {
		t.Errorf("%d counted as admitted, want %d", got, maxAhead-1)
	}
	if _, leave, err := h.Admit(now()); err != nil {
		t.Errorf("after one checked: %v", err)
	} else {
		leave()
	}
	for _, l := range leaves[2:] {
		l()
	}
	if got := h.admitted.Load(); got != 1 {
		t.Errorf("%d counted as admitted after all left, want 1", got)
	}
}

func TestVerifyDummy(t *testing.T) {
	// Real hashing: it works and returns nil.
	h := newTestHasher(t, fastParams)
	if err := h.VerifyDummy(t.Context(), "anything"); err != nil {
		t.Fatalf("VerifyDummy: %v", err)
	}
	// Exactly one derivation, with the current parameters.
	c := &countingDerive{}
	p := Params{Memory: 128, Time: 3, Threads: 2, SaltLen: 24, KeyLen: 48}
	h, err := newHasher(p, 1, c.derive)
	if err != nil {
		t.Fatal(err)
	}
	c.calls.Store(0)
	if err := h.VerifyDummy(t.Context(), "anything"); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("VerifyDummy ran %d derivations, want 1", n)
	}
	if got := c.params.Load().(Params); got != p {
		t.Errorf("VerifyDummy used %+v, want %+v", got, p)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyDummy(cancelled) = %v", err)
	}
}

func TestPasswordTooLong(t *testing.T) {
	h := newTestHasher(t, fastParams)
	long := strings.Repeat("a", MaxPasswordBytes+1)
	if _, err := h.Hash(t.Context(), long); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash: %v", err)
	}
	phc, _ := h.Hash(t.Context(), "x")
	if _, _, err := h.Verify(t.Context(), phc, long); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Verify: %v", err)
	}
	if err := h.VerifyDummy(t.Context(), long); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("VerifyDummy: %v", err)
	}
}

func TestRedaction(t *testing.T) {
	h := newTestHasher(t, fastParams)
	phc, _ := h.Hash(t.Context(), "Vt9#kqzmRw")
	parsed, _ := ParsePHC(phc)
	secret := phc[strings.LastIndexByte(phc, '$')+1:]
	saltB64 := strings.Split(phc, "$")[4]
	pc := PolicyContext{Phone: "+79123456789", Email: "ivan@example.ru", SNILS: "11223344595", FamilyName: "Петров", GivenName: "Иван"}

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "phc", parsed, "ctx", pc, "hasher", h)
	out := buf.String() + fmt.Sprint(parsed, pc, h) + fmt.Sprintf("%v %+v %s", parsed, pc, h)
	for _, s := range []string{secret, saltB64, "79123456789", "ivan@", "11223344595", "Петров"} {
		if strings.Contains(out, s) {
			t.Errorf("output leaks %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "m=64") {
		t.Errorf("parameters missing from output: %s", out)
	}
}

// TestQueueByRank: callers waiting for a slot get it by rank
// (overload.Rank), not by when they asked: a citizen whose earlier try
// was refused (overload.WithQueued) comes before those who arrived since.
// With a budget, the queue full of newcomers still admits the earlier
// one, whose wait is counted behind those of its rank only, and refuses
// another newcomer.
func TestQueueByRank(t *testing.T) {
	c := &countingDerive{}
	// The order the slot is given in is the order of the derivations
	// (one slot): each records its caller, the password.
	var mu sync.Mutex
	var order []string
	h, err := newHasher(fastParams, 1, func(pw, salt []byte, p Params) []byte {
		mu.Lock()
		order = append(order, string(pw))
		mu.Unlock()
		return c.derive(pw, salt, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	order = nil // the dummy's
	c.block = make(chan struct{})
	var wg sync.WaitGroup
	verify := func(name string, ctx context.Context) {
		wg.Go(func() {
			if err := h.VerifyDummy(ctx, name); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	verify("holder", t.Context())
	for c.current.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	now := time.Now()
	for i, name := range []string{"new1", "new2", "new3"} {
		verify(name, overload.WithArrival(t.Context(), now.Add(time.Duration(i)*time.Millisecond)))
		for h.Waiting() != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	verify("refused-before", overload.WithQueued(overload.WithArrival(t.Context(), now.Add(time.Second)), now.Add(-10*time.Second)))
	for h.Waiting() != 4 {
		time.Sleep(time.Millisecond)
	}
	close(c.block)
	wg.Wait()
	want := []string{"holder", "refused-before", "new1", "new2", "new3"}
	if !slices.Equal(order, want) {
		t.Fatalf("served in the order %v, want %v", order, want)
	}
	if h.Waiting() != 0 || h.busy != 0 {
		t.Fatalf("after all: %d waiting, %d busy", h.Waiting(), h.busy)
	}

	// Admission: one slot, hashes of 200 ms, a budget of 1,350 ms (900 ms
	// for the wait and the hash, the rest kept for the answer); three
	// newcomers wait (the third done at 800 ms), a fourth would be done
	// at 1,000 ms.
	b, bc := budgeted(t, 1, 200*time.Millisecond, 1350*time.Millisecond)
	// The hash time as the hasher judges it, exactly (the dummy's, timed
	// on a busy machine, may be longer).
	b.avg.Store(int64(200 * time.Millisecond))
	b.peak.Store(int64(200 * time.Millisecond))
	bc.block = make(chan struct{})
	defer close(bc.block)
	go func() { _ = b.VerifyDummy(context.Background(), "pw") }()
	for bc.current.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	for i := range 3 {
		go func() { _ = b.VerifyDummy(overload.WithArrival(context.Background(), start), "pw") }()
		for b.Waiting() != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	if _, leave, err := b.Admit(overload.WithArrival(t.Context(), time.Now())); !errors.Is(err, ErrBusy) {
		leave()
		t.Fatalf("a newcomer behind three waiting: %v, want ErrBusy", err)
	}
	ctx, leave, err := b.Admit(overload.WithQueued(overload.WithArrival(t.Context(), time.Now()), start.Add(-5*time.Second)))
	if err != nil {
		t.Fatalf("a citizen refused before, behind the same three newcomers: %v, want admitted", err)
	}
	leave()
	_ = ctx
}
