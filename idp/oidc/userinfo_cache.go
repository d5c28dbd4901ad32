package oidc

import (
	"bytes"
	"net/http"
	"slices"
	"time"

	"github.com/gosid/gosid/internal/cache"
)

// The userinfo cache. A relying party may call userinfo often with one
// access token; every answer needs the token's revocations, client,
// account, contacts, evidence and staff roles — half a dozen queries. Each
// replica keeps the JSON of recent answers by access token id and subject
// (internal/cache); a hit answers without the database. An entry depends
// on the keys
//
//	token:<id>, token:<family>   a revocation of the token or its family
//	account:<subject>            the account's row (name, documents, level,
//	                             status, erasure), contacts, evidence, staff roles
//	client:<id>                  the client's row (removal, staff-roles flag)
//
// which the triggers of idp migration 0025 log in the writer's own
// transaction on any replica; this replica's Watcher drops the entry
// within cache.Watcher.Bound (1 s, --cache-bound). A revocation made here
// drops it at once (store.forgetTokens). Expiry and scope are checked
// from the token id itself on every hit. Only successful answers are
// cached: a refusal or a 503 reads the database again next time.

const (
	// userinfoCacheSize bounds the entries per replica (about 1 KiB each).
	userinfoCacheSize = 50000
	// userinfoCacheTTL is a backstop for an invalidation a replica could
	// miss (a writer that committed more than cache.DefaultGrace after
	// its change): no answer is older than this.
	userinfoCacheTTL = time.Minute
)

func tokenKey(id string) string       { return "token:" + id }
func accountKey(id string) string     { return "account:" + id }
func clientCacheKey(id string) string { return "client:" + id }

// userinfoKey names an answer: the token id and the subject it was
// issued for (both come from the sealed or signed token).
func userinfoKey(id, subject string) string { return id + "\x00" + subject }

// userinfoDeps are the invalidation keys an answer for tid depends on.
func userinfoDeps(tid tokenID, subject string) []string {
	deps := []string{tokenKey(tid.ID), accountKey(subject), clientCacheKey(tid.ClientID)}
	if tid.Family != "" {
		deps = append(deps, tokenKey(tid.Family))
	}
	return deps
}

// cachedUserinfo answers from the cache when it holds the token's answer
// and the token is still unexpired; it reports whether it answered.
func (p *Provider) cachedUserinfo(w http.ResponseWriter, id, subject string) bool {
	if p.userinfos == nil {
		return false
	}
	tid, err := parseTokenID(id)
	if err != nil || !p.store.now().Before(tid.Expires) || !slices.Contains(tid.Scopes, "openid") {
		return false // the full path gives the refusal
	}
	body, ok := p.userinfos.Get(userinfoKey(id, subject))
	if !ok {
		return false
	}
	writeUserinfo(w, body)
	return true
}

// userinfoTicket is taken before the database is read for an answer.
func (p *Provider) userinfoTicket() cache.Ticket {
	if p.userinfos == nil {
		return cache.Ticket{}
	}
	return p.deps.Cache.Ticket()
}

// keepUserinfo caches an answer read since t.
func (p *Provider) keepUserinfo(t cache.Ticket, tid tokenID, subject string, body []byte) {
	if p.userinfos == nil {
		return
	}
	p.userinfos.Put(t, userinfoKey(tid.ID, subject), body, tid.Expires, userinfoDeps(tid, subject)...)
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
