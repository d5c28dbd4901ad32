package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/client"
)

// keySets holds private_key_jwt clients' key sets fetched from their
// jwks_uri, so that a token request does not wait on the client's server
// each time. A cached set is used for keySetTTL. A set that does not know
// the key id an assertion names is fetched again at once (the client
// rotated its keys), but a jwks_uri is fetched at most once per
// keySetRefetch, whatever the outcome: the assertion that names the kid is
// not yet verified (its key is what is missing), so anyone could otherwise
// make Gosid fetch a client's keys with every request. Each replica has
// its own cache; a rotation reaches each within keySetRefetch of the first
// assertion with the new kid.
type keySets struct {
	http *http.Client
	now  func() time.Time

	mu sync.Mutex
	m  map[string]*cachedKeySet // by jwks_uri
}

const (
	keySetTTL     = 5 * time.Minute
	keySetRefetch = 30 * time.Second
)

type cachedKeySet struct {
	set *jose.JSONWebKeySet // nil until a fetch succeeds
	// fetched: when set was fetched; tried: when a fetch last began.
	fetched, tried time.Time
}

func newKeySets(now func() time.Time) *keySets {
	return &keySets{http: &http.Client{Timeout: 5 * time.Second}, now: now, m: map[string]*cachedKeySet{}}
}

// errKeySetRecent: the client's keys were fetched too recently to fetch
// them again.
var errKeySetRecent = errors.New("key set fetched less than 30 s ago")

// forClient returns a client's public keys: inline, or from its jwks_uri.
// kid is the key id the caller looks for ("" for none in particular).
func (ks *keySets) forClient(ctx context.Context, c *client.Client, kid string) (*jose.JSONWebKeySet, error) {
	if c.JWKS != "" {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(c.JWKS), &set); err != nil {
			return nil, fmt.Errorf("client %s jwks: %w", c.ID, err)
		}
		return &set, nil
	}
	if c.JWKSURI == "" {
		return nil, fmt.Errorf("client %s has no keys", c.ID)
	}
	now := ks.now()
	ks.mu.Lock()
	e := ks.m[c.JWKSURI]
	if e == nil {
		e = &cachedKeySet{}
		ks.m[c.JWKSURI] = e
	}
	set := e.set
	if set != nil && now.Sub(e.fetched) >= keySetTTL {
		set = nil // never used past its time
	}
	if set != nil && (kid == "" || hasKID(set, kid)) {
		ks.mu.Unlock()
		return set, nil
	}
	if !e.tried.IsZero() && now.Sub(e.tried) < keySetRefetch {
		ks.mu.Unlock()
		if set != nil {
			return set, nil // without kid: the caller finds no key
		}
		return nil, fmt.Errorf("client %s jwks: %w", c.ID, errKeySetRecent)
	}
	e.tried = now
	ks.mu.Unlock()

	fetched, err := ks.fetch(ctx, c)
	if err != nil {
		return nil, err
	}
	ks.mu.Lock()
	e.set, e.fetched = fetched, now
	ks.mu.Unlock()
	return fetched, nil
}

func (ks *keySets) fetch(ctx context.Context, c *client.Client) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.JWKSURI, nil)
	if err != nil {
		return nil, err
	}
	resp, err := ks.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch client %s jwks: %w", c.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch client %s jwks: status %d", c.ID, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("client %s jwks: %w", c.ID, err)
	}
	return &set, nil
}

func hasKID(set *jose.JSONWebKeySet, kid string) bool {
	for _, k := range set.Keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}
