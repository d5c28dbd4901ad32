package oidc

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"slices"
	"time"

	"github.com/gosid/gosid/internal/cache"
)

// The userinfo cache. A relying party may call userinfo often with one
// access token; every answer needs the token's revocations, client,
// account, contacts, evidence and staff roles — half a dozen queries. Each
// replica keeps the JSON of recent answers by the SHA-256 of the access
// token itself (internal/cache); a hit answers without the database and
// without verifying the token's signature again: the very same token was
// verified when its answer was cached, and signing keys stay published
// longer than any token they signed lives. An entry depends on the keys
//
//	token:<id>, token:<family>   a revocation of the token or its family
//	account:<subject>            the account's row (name, documents, level,
//	                             status, erasure), contacts, evidence, staff roles
//	client:<id>                  the client's row (removal, staff-roles flag)
//
// which the triggers of idp migration 0027 log in the writer's own
// transaction on any replica; this replica's Watcher drops the entry
// within cache.Watcher.Bound (1 s, --cache-bound). A revocation made here
// drops it at once (store.forgetTokens). Expiry and scope are checked
// from the entry on every hit. Only successful answers are
// cached: a refusal or a 503 reads the database again next time.

const (
	// userinfoCacheSize bounds the entries per replica (about 1 KiB each).
	userinfoCacheSize = 50000
	// userinfoCacheTTL is a backstop for an invalidation a replica could
	// miss (a writer that committed more than cache.DefaultGrace after
	// its change): no answer is older than this.
	userinfoCacheTTL = time.Minute
	// accessCacheSize bounds the resource APIs' active tokens per
	// replica (resource.go): a few hundred bytes each.
	accessCacheSize = 10000
)

func tokenKey(id string) string       { return "token:" + id }
func accountKey(id string) string     { return "account:" + id }
func clientCacheKey(id string) string { return "client:" + id }

// tokenCacheKey names what is cached for an access token (a userinfo
// answer, a resource API's access info): the token's SHA-256.
func tokenCacheKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return string(h[:])
}

// userinfoEntry is a cached answer.
type userinfoEntry struct {
	body []byte
	// expires is the token's expiry, judged on the provider's clock.
	expires time.Time
}

// tokenDeps are the invalidation keys of what an active token grants:
// its id, its family and its client.
func tokenDeps(tid tokenID) []string {
	deps := []string{tokenKey(tid.ID), clientCacheKey(tid.ClientID)}
	if tid.Family != "" {
		deps = append(deps, tokenKey(tid.Family))
	}
	return deps
}

// userinfoDeps are the invalidation keys an answer for tid depends on:
// the token's, and its account's.
func userinfoDeps(tid tokenID, subject string) []string {
	return append(tokenDeps(tid), accountKey(subject))
}

// cachedUserinfo answers from the cache when it holds the token's answer
// and the token is still unexpired; it reports whether it answered.
// Only answers of tokens with the openid scope are ever cached.
func (p *Provider) cachedUserinfo(w http.ResponseWriter, token string) bool {
	if p.userinfos == nil {
		return false
	}
	e, ok := p.userinfos.Get(tokenCacheKey(token))
	if !ok || !p.store.now().Before(e.expires) {
		return false // the full path gives the refusal
	}
	writeUserinfo(w, e.body)
	return true
}

// UserinfoCacheStats reports the userinfo cache's hits and misses so far
// (zero without a cache), for metrics.
func (p *Provider) UserinfoCacheStats() (hits, misses uint64) {
	if p.userinfos == nil {
		return 0, 0
	}
	return p.userinfos.Stats()
}

// cacheTicket is taken before the database is read for what a cache
// (userinfo's answers, the resource APIs' tokens) is to keep.
func (p *Provider) cacheTicket() cache.Ticket {
	if p.deps.Cache == nil {
		return cache.Ticket{}
	}
	return p.deps.Cache.Ticket()
}

// keepUserinfo caches an answer read since t.
func (p *Provider) keepUserinfo(t cache.Ticket, token string, tid tokenID, subject string, body []byte) {
	if p.userinfos == nil || !slices.Contains(tid.Scopes, "openid") {
		return
	}
	// The entry's own lifetime is on the cache's clock (the database's in
	// production); the token's expiry is judged on each hit.
	p.userinfos.Put(t, tokenCacheKey(token), userinfoEntry{body: body, expires: tid.Expires}, tid.Expires, userinfoDeps(tid, subject)...)
}

func writeUserinfo(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// encodeUserinfo is the JSON of an answer, as jsonEncode writes it.
func encodeUserinfo(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := jsonEncode(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
