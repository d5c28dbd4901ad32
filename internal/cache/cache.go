package cache

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Defaults of Config.
const (
	// DefaultInterval is how often a Watcher polls the invalidation log.
	DefaultInterval = 250 * time.Millisecond
	// DefaultBound is the longest a replica serves an entry after a change
	// committed elsewhere made it wrong (--cache-bound).
	DefaultBound = time.Second
	// DefaultGrace is how long a skipped sequence value is asked for again
	// (PostgreSQL commits sequence values out of order).
	DefaultGrace = 10 * time.Second
	// DefaultRetain is how long log rows are kept.
	DefaultRetain = 10 * time.Minute
)

const (
	// ringSize invalidations are remembered for Put's check; a Ticket
	// older than that many invalidations cannot be judged and its fill is
	// refused.
	ringSize = 4096
	// maxGaps bounds the skipped sequence values asked for again; beyond
	// it the oldest are given up (their rows then go unseen until the TTL).
	maxGaps = 512
	// pageSize rows are read per query; a poll reads pages until it has
	// caught up.
	pageSize = 5000
)

// Config tunes a Watcher; zero fields take the defaults.
type Config struct {
	// Interval between polls.
	Interval time.Duration
	// Bound: entries are served only while the last successful poll began
	// less than Bound ago. At least Interval.
	Bound time.Duration
	// Grace: how long a skipped sequence value is waited for.
	Grace time.Duration
	// Retain: log rows older than this are pruned. At least 10 × Bound
	// and more than Grace.
	Retain time.Duration
	// Now is the clock; it should be the database's (sqldb.Clock), since
	// the log's at column is the database's time.
	Now func() time.Time
	Log *slog.Logger
}

// Watcher polls the invalidation log for one database and drops the
// entries of every Cache built on it. It is safe for concurrent use; run
// exactly one Run per Watcher.
type Watcher struct {
	db  sqldb.Querier
	cfg Config

	// trustedUntil is when the last successful poll stops vouching for
	// the entries (Unix nanoseconds of cfg.Now; 0: never vouched).
	trustedUntil atomic.Int64

	pollMu sync.Mutex // one poll at a time

	mu      sync.Mutex
	started bool
	// max is the highest seq read; every seq up to it was read, is in
	// gaps, or was given up.
	max  int64
	gaps map[int64]time.Time // skipped seq → when first skipped
	// lapsed: trust ran out since the last successful poll, so the entries
	// may have missed invalidations; the next successful poll forgets all.
	lapsed bool
	// gen counts invalidations applied; ring[gen%ringSize] is the key of
	// the gen-th. flushes counts forget-everything events.
	gen     uint64
	ring    [ringSize]string
	flushes uint64
	caches  []invalidatee

	failing bool // for logging a failure once, and the recovery
}

// invalidatee is a Cache of any value type.
type invalidatee interface {
	drop(key string)
	flush()
}

// NewWatcher returns a Watcher over db, which must hold the
// cache_invalidations table (idp migration 0027).
func NewWatcher(db sqldb.Querier, cfg Config) *Watcher {
	if cfg.Interval <= 0 {
		// Four polls within the bound: one slow or failed poll does not
		// yet cost the cache.
		cfg.Interval = DefaultInterval
		if cfg.Bound > 0 {
			cfg.Interval = max(min(cfg.Interval, cfg.Bound/4), 10*time.Millisecond)
		}
	}
	if cfg.Bound <= 0 {
		cfg.Bound = DefaultBound
	}
	cfg.Bound = max(cfg.Bound, cfg.Interval)
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Retain <= 0 {
		cfg.Retain = DefaultRetain
	}
	cfg.Retain = max(cfg.Retain, 10*cfg.Bound, 2*cfg.Grace)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{db: db, cfg: cfg, gaps: map[int64]time.Time{}}
}

// Bound is the staleness bound in force.
func (w *Watcher) Bound() time.Duration { return w.cfg.Bound }

// Trusted reports whether entries may be served now: the last successful
// poll began less than Bound ago.
func (w *Watcher) Trusted() bool {
	return w.cfg.Now().UnixNano() < w.trustedUntil.Load()
}

// Run polls every Interval and prunes old rows every Retain/10 until ctx
// ends. A failed poll is logged (once, until one succeeds again); the
// caches stop serving when Bound passes without a successful one.
func (w *Watcher) Run(ctx context.Context) error {
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	lastPrune := w.cfg.Now()
	for {
		w.pollLogged(ctx)
		if now := w.cfg.Now(); now.Sub(lastPrune) >= w.cfg.Retain/10 {
			lastPrune = now
			if _, err := w.Prune(ctx); err != nil && ctx.Err() == nil {
				w.cfg.Log.WarnContext(ctx, "cache: prune the invalidation log", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (w *Watcher) pollLogged(ctx context.Context) {
	err := w.Poll(ctx)
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	was := w.failing
	w.failing = err != nil
	w.mu.Unlock()
	switch {
	case err != nil && !was:
		w.cfg.Log.ErrorContext(ctx, "cache: cannot read the invalidation log; caches answer from the database until it can be read", "err", err)
	case err == nil && was:
		w.cfg.Log.InfoContext(ctx, "cache: the invalidation log is readable again")
	}
}

// Poll reads the log rows not yet read (and the skipped ones), drops the
// entries they name, and on success vouches for the caches until Bound
// from its start.
func (w *Watcher) Poll(ctx context.Context) error {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	start := w.cfg.Now()
	if !w.trustedNow(start) {
		w.mu.Lock()
		w.lapsed = w.lapsed || w.trustedUntil.Load() != 0
		w.mu.Unlock()
	}
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		// Start after the rows old enough that no gap before them can
		// still fill; the younger ones are read (harmlessly: nothing is
		// cached yet) and their gaps waited for as usual.
		var low int64
		err := w.db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM cache_invalidations WHERE at < $1`,
			sqldb.Micros(start.Add(-w.cfg.Grace))).Scan(&low)
		if err != nil {
			return fmt.Errorf("cache: start position: %w", err)
		}
		w.mu.Lock()
		w.started, w.max = true, low
		w.mu.Unlock()
	}
	for {
		w.mu.Lock()
		from := w.max
		gaps := make([]int64, 0, len(w.gaps))
		for s := range w.gaps {
			gaps = append(gaps, s)
		}
		w.mu.Unlock()
		rows, err := w.read(ctx, from, gaps)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.applyRows(rows, start)
		w.mu.Unlock()
		if len(rows) < pageSize {
			break
		}
	}
	w.mu.Lock()
	for s, since := range w.gaps {
		if start.Sub(since) >= w.cfg.Grace {
			delete(w.gaps, s) // a rolled-back writer's, most likely
		}
	}
	if w.lapsed {
		// Polls failed for longer than Bound: an invalidation may have
		// been missed (pruned, or a gap given up), so forget everything.
		w.flushAll()
		w.lapsed = false
	}
	w.trustedUntil.Store(start.Add(w.cfg.Bound).UnixNano())
	w.mu.Unlock()
	return nil
}

func (w *Watcher) trustedNow(now time.Time) bool { return now.UnixNano() < w.trustedUntil.Load() }

type logRow struct {
	seq int64
	key string
}

// read fetches up to pageSize rows past from, and the rows of gaps, in
// seq order.
func (w *Watcher) read(ctx context.Context, from int64, gaps []int64) ([]logRow, error) {
	var b strings.Builder
	b.WriteString(`SELECT seq, key FROM cache_invalidations WHERE seq > $1`)
	args := []any{from}
	if len(gaps) > 0 {
		b.WriteString(` OR seq IN (`)
		for i, s := range gaps {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, s)
			fmt.Fprintf(&b, "$%d", len(args))
		}
		b.WriteString(`)`)
	}
	fmt.Fprintf(&b, ` ORDER BY seq LIMIT %d`, pageSize)
	rows, err := w.db.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("cache: read the invalidation log: %w", err)
	}
	out, err := sqldb.Collect(rows, func(s sqldb.Scanner) (logRow, error) {
		var r logRow
		return r, s.Scan(&r.seq, &r.key)
	})
	if err != nil {
		return nil, fmt.Errorf("cache: read the invalidation log: %w", err)
	}
	return out, nil
}

// applyRows drops what rows name and notes the sequence values skipped
// over. w.mu is held.
func (w *Watcher) applyRows(rows []logRow, now time.Time) {
	for _, r := range rows {
		_, skipped := w.gaps[r.seq]
		switch {
		case r.seq > w.max:
			// Sequence values between are uncommitted (or rolled back):
			// ask for them again until Grace has passed.
			first := max(w.max+1, r.seq-maxGaps)
			if first > w.max+1 {
				w.cfg.Log.Warn("cache: too many skipped invalidation log rows to wait for; some are given up", "skipped", r.seq-w.max-1)
			}
			for s := first; s < r.seq; s++ {
				w.gaps[s] = now
			}
			w.max = r.seq
		case skipped:
			delete(w.gaps, r.seq)
		default:
			continue // read before
		}
		w.apply(r.key)
	}
	for len(w.gaps) > maxGaps {
		oldest := int64(-1)
		for s := range w.gaps {
			if oldest < 0 || s < oldest {
				oldest = s
			}
		}
		delete(w.gaps, oldest)
	}
}

// apply drops key's entries from every cache. w.mu is held.
func (w *Watcher) apply(key string) {
	w.gen++
	w.ring[w.gen%ringSize] = key
	for _, c := range w.caches {
		c.drop(key)
	}
}

// flushAll forgets every entry of every cache. w.mu is held.
func (w *Watcher) flushAll() {
	w.flushes++
	for _, c := range w.caches {
		c.flush()
	}
}

// Invalidate drops the keys' entries in this process at once. Call it
// after committing a change whose invalidation must not wait for the next
// poll (the replica that revoked a token).
func (w *Watcher) Invalidate(keys ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		w.apply(k)
	}
}

// Append logs keys in q's transaction, for a writer whose change no
// trigger covers: every replica drops their entries after the commit.
func Append(ctx context.Context, q sqldb.Querier, keys ...string) error {
	for _, k := range keys {
		if _, err := q.Exec(ctx, `INSERT INTO cache_invalidations (key) VALUES ($1)`, k); err != nil {
			return fmt.Errorf("cache: log an invalidation: %w", err)
		}
	}
	return nil
}

// Prune deletes log rows older than Retain and reports how many.
func (w *Watcher) Prune(ctx context.Context) (int64, error) {
	res, err := w.db.Exec(ctx, `DELETE FROM cache_invalidations WHERE at < $1`, sqldb.Micros(w.cfg.Now().Add(-w.cfg.Retain)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Ticket is where the invalidations stood before a miss read the
// database; Put compares it with where they stand after.
type Ticket struct {
	gen, flushes uint64
}

// Ticket returns the position to give Put for a read about to start.
func (w *Watcher) Ticket() Ticket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Ticket{gen: w.gen, flushes: w.flushes}
}

// invalidatedSince reports whether any of deps was invalidated since t
// (or cannot be told). w.mu is held.
func (w *Watcher) invalidatedSince(t Ticket, deps []string) bool {
	if t.flushes != w.flushes || w.gen-t.gen >= ringSize {
		return true
	}
	for g := t.gen + 1; g <= w.gen; g++ {
		k := w.ring[g%ringSize]
		for _, d := range deps {
			if d == k {
				return true
			}
		}
	}
	return false
}

// Cache is a bounded map of values, each dropped when any of its keys is
// invalidated (on any replica), when its TTL or own expiry passes, or when
// the least recently used must make room. Safe for concurrent use.
type Cache[V any] struct {
	w    *Watcher
	size int
	ttl  time.Duration

	mu    sync.Mutex
	lru   *list.List // of *entry[V], most recently used first
	byKey map[string]*list.Element
	byDep map[string]map[string]struct{} // invalidation key → entry keys

	hits, misses atomic.Uint64
}

type entry[V any] struct {
	key     string
	v       V
	deps    []string
	expires time.Time
}

// New returns a cache of at most size entries (at least 1), each kept at
// most ttl (> 0), invalidated through w.
func New[V any](w *Watcher, size int, ttl time.Duration) *Cache[V] {
	c := &Cache[V]{w: w, size: max(size, 1), ttl: ttl, lru: list.New(),
		byKey: map[string]*list.Element{}, byDep: map[string]map[string]struct{}{}}
	w.mu.Lock()
	w.caches = append(w.caches, c)
	w.mu.Unlock()
	return c
}

// Get returns key's value when it is cached, unexpired, and the Watcher
// vouches for the cache; it never reads the database.
func (c *Cache[V]) Get(key string) (V, bool) {
	var zero V
	now := c.w.cfg.Now()
	if !c.w.trustedNow(now) {
		c.misses.Add(1)
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		c.misses.Add(1)
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !now.Before(e.expires) {
		c.remove(el)
		c.misses.Add(1)
		return zero, false
	}
	c.lru.MoveToFront(el)
	c.hits.Add(1)
	return e.v, true
}

// Put stores v under key, depending on deps, unless one of deps was
// invalidated since t (the value may have been read before the change),
// or the cache is not vouched for now. until, if not zero, ends the entry
// before its TTL (the expiry of what it describes). It reports whether v
// was stored.
func (c *Cache[V]) Put(t Ticket, key string, v V, until time.Time, deps ...string) bool {
	now := c.w.cfg.Now()
	expires := now.Add(c.ttl)
	if !until.IsZero() && until.Before(expires) {
		expires = until
	}
	if !now.Before(expires) {
		return false
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if !c.w.trustedNow(now) || c.w.invalidatedSince(t, deps) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	for c.lru.Len() >= c.size {
		c.remove(c.lru.Back())
	}
	deps = append([]string(nil), deps...)
	c.byKey[key] = c.lru.PushFront(&entry[V]{key: key, v: v, deps: deps, expires: expires})
	for _, d := range deps {
		m := c.byDep[d]
		if m == nil {
			m = map[string]struct{}{}
			c.byDep[d] = m
		}
		m[key] = struct{}{}
	}
	return true
}

// remove drops an entry. c.mu is held.
func (c *Cache[V]) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry[V])
	delete(c.byKey, e.key)
	for _, d := range e.deps {
		if m := c.byDep[d]; m != nil {
			delete(m, e.key)
			if len(m) == 0 {
				delete(c.byDep, d)
			}
		}
	}
}

func (c *Cache[V]) drop(dep string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.byDep[dep] {
		if el, ok := c.byKey[key]; ok {
			c.remove(el)
		}
	}
}

func (c *Cache[V]) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.byKey)
	clear(c.byDep)
}

// Len is the number of entries held (expired ones included until met).
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Stats reports the hits and misses of Get so far.
func (c *Cache[V]) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }
