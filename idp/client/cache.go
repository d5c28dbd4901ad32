package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// DefaultCacheTTL is how long a cached client is served without reading it
// again, when nothing says it changed (a backstop: the generation check
// below notices every change much sooner).
const DefaultCacheTTL = 30 * time.Second

// CacheCheckInterval is how often a Cache reads the clients table's
// generation. A client change (`gosid clients update`, `delete`,
// `rotate-secret`, or a write on another replica) is in force on every
// replica within this interval and one database round trip: well within a
// second.
const CacheCheckInterval = 250 * time.Millisecond

// maxCacheEntries bounds the cache's memory; only registered clients are
// cached, so it is reached only with that many clients in use.
const maxCacheEntries = 10000

// Cache is a read-through cache of clients for the OIDC endpoints, which
// look a client up on every request. It is safe for concurrent use.
//
// Every client write bumps the clients table's generation in its own
// transaction (Store). Before answering, a Cache reads the generation
// again when CacheCheckInterval has passed since it last did (one small
// query per interval and process, not one per request) and drops every
// entry when it changed, so a client changed or deleted anywhere stops
// being served from memory within the interval. If the generation cannot
// be read, nothing is served from memory until it can: the cache never
// outlives its own uncertainty. Entries also expire ttl after they were
// read. Writes made in this process take effect here at once when the
// writer calls Invalidate. A new secret is accepted at once everywhere:
// CheckSecret re-reads the client before refusing a secret. Unknown ids
// are not cached, so a client created elsewhere is usable at once.
type Cache struct {
	store *Store
	ttl   time.Duration
	every time.Duration

	mu      sync.Mutex
	entries map[string]cacheEntry
	epoch   uint64 // incremented by every flush and Invalidate; a read that straddles one is not cached
	// gen is the clients table's generation the entries are current
	// with, read at checked; known is false until it has been read (and
	// after a failed read).
	gen      int64
	known    bool
	checked  time.Time
	checking bool
}

type cacheEntry struct {
	c       *Client
	expires time.Time
}

// NewCache returns a cache over store, reading time from the store's clock.
// ttl <= 0 means DefaultCacheTTL.
func NewCache(store *Store, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &Cache{store: store, ttl: ttl, every: CacheCheckInterval, entries: make(map[string]cacheEntry)}
}

// Get returns the client, from the cache when its entry is younger than the
// TTL and no client changed since, else from the store; an error matching
// sqldb.ErrNotFound if there is none. The result is the caller's own copy.
func (c *Cache) Get(ctx context.Context, id string) (*Client, error) {
	cl, _, err := c.get(ctx, id)
	return cl, err
}

// get also reports whether the client came from the cache.
func (c *Cache) get(ctx context.Context, id string) (*Client, bool, error) {
	now := c.store.now()
	c.sync(ctx, now)
	c.mu.Lock()
	e, ok := c.entries[id]
	epoch, known := c.epoch, c.known
	c.mu.Unlock()
	if ok && known && now.Before(e.expires) {
		return e.c.clone(), true, nil
	}
	cl, err := c.load(ctx, id, epoch, now)
	return cl, false, err
}

// sync reads the clients table's generation when the last check is older
// than the interval, and flushes the cache when it changed. One caller
// checks at a time; the others go on meanwhile with what the last check
// vouched for.
func (c *Cache) sync(ctx context.Context, now time.Time) {
	c.mu.Lock()
	if c.checking || (c.known && now.Sub(c.checked) < c.every && !now.Before(c.checked)) {
		c.mu.Unlock()
		return
	}
	c.checking = true
	c.mu.Unlock()

	gen, err := c.store.Generation(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking = false
	switch {
	case err != nil:
		// Unknown: serve nothing from memory until a check succeeds.
		c.flush()
		c.known = false
	case !c.known || gen != c.gen:
		c.flush()
		c.gen, c.known, c.checked = gen, true, now
	default:
		c.checked = now
	}
}

// flush drops every entry; loads in flight are not cached. c.mu is held.
func (c *Cache) flush() {
	clear(c.entries)
	c.epoch++
}

// load reads the client from the store and caches it unless a flush or
// Invalidate ran meanwhile (the read may predate the write announced).
func (c *Cache) load(ctx context.Context, id string, epoch uint64, now time.Time) (*Client, error) {
	cl, err := c.store.Get(ctx, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			delete(c.entries, id)
		}
		return nil, err
	}
	if c.epoch == epoch && c.known {
		if len(c.entries) >= maxCacheEntries {
			c.evict(now)
		}
		c.entries[id] = cacheEntry{c: cl, expires: now.Add(c.ttl)}
	}
	return cl.clone(), nil
}

// evict drops expired entries, and everything if none had expired.
func (c *Cache) evict(now time.Time) {
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	if len(c.entries) >= maxCacheEntries {
		clear(c.entries)
	}
}

// Invalidate drops the client's entry, so that the next Get reads the
// store. Call it after changing the client in this process.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.epoch++
	c.mu.Unlock()
}

// CheckSecret is Store.CheckSecret through the cache. A secret that does not
// match the cached client is checked once more against the stored one, so
// that a secret rotated by another process works here at once; an unknown
// id and a wrong secret therefore both cost one database read.
func (c *Cache) CheckSecret(ctx context.Context, id, secret string) (*Client, error) {
	cl, cached, err := c.get(ctx, id)
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return nil, err
	}
	ok, err := checkSecret(cl, secret)
	if err == nil || !cached {
		return ok, err
	}
	c.mu.Lock()
	epoch := c.epoch
	c.mu.Unlock()
	if cl, err = c.load(ctx, id, epoch, c.store.now()); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return nil, err
	}
	return checkSecret(cl, secret)
}
