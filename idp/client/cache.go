package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gosid/gosid/migrations/sqldb"
)

// DefaultCacheTTL is how long a cached client is served without looking at
// the database again.
const DefaultCacheTTL = 30 * time.Second

// maxCacheEntries bounds the cache's memory; only registered clients are
// cached, so it is reached only with that many clients in use.
const maxCacheEntries = 10000

// Cache is a read-through cache of clients for the OIDC endpoints, which
// look a client up on every request. It is safe for concurrent use.
//
// Entries expire ttl after they were read. Nothing tells one process about
// writes made by another (`gosid clients update`, `delete`, `rotate-secret`,
// or another replica), so such a change reaches every replica within ttl:
// until then a replica may still accept a deleted client, its old redirect
// URIs or its old secret. Writes made in this process take effect here at
// once when the writer calls Invalidate. A new secret is accepted at once
// everywhere: CheckSecret re-reads the client before refusing a secret.
// Unknown ids are not cached, so a client created elsewhere is usable at
// once.
type Cache struct {
	store *Store
	ttl   time.Duration

	mu      sync.Mutex
	entries map[string]cacheEntry
	gen     uint64 // incremented by Invalidate; a read that straddles one is not cached
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
	return &Cache{store: store, ttl: ttl, entries: make(map[string]cacheEntry)}
}

// Get returns the client, from the cache when its entry is younger than the
// TTL, else from the store; an error matching sqldb.ErrNotFound if there is
// none. The result is the caller's own copy.
func (c *Cache) Get(ctx context.Context, id string) (*Client, error) {
	cl, _, err := c.get(ctx, id)
	return cl, err
}

// get also reports whether the client came from the cache.
func (c *Cache) get(ctx context.Context, id string) (*Client, bool, error) {
	now := c.store.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c.clone(), true, nil
	}
	cl, err := c.load(ctx, id, gen, now)
	return cl, false, err
}

// load reads the client from the store and caches it unless Invalidate ran
// meanwhile (the read may predate the write that Invalidate announced).
func (c *Cache) load(ctx context.Context, id string, gen uint64, now time.Time) (*Client, error) {
	cl, err := c.store.Get(ctx, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			delete(c.entries, id)
		}
		return nil, err
	}
	if c.gen == gen {
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
	c.gen++
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
	gen := c.gen
	c.mu.Unlock()
	if cl, err = c.load(ctx, id, gen, c.store.now()); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return nil, err
	}
	return checkSecret(cl, secret)
}
