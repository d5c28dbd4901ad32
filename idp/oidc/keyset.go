package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/client"
)

// jwksCache holds clients' key sets fetched from their jwks_uri for a few
// minutes, so that a token request does not wait on the client's server
// each time; a key set that does not yet know an assertion's kid is
// fetched again (the client rotated its keys).
var jwksCache = struct {
	sync.Mutex
	m map[string]cachedJWKS
}{m: map[string]cachedJWKS{}}

type cachedJWKS struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
}

var jwksHTTP = &http.Client{Timeout: 5 * time.Second}

// clientKeys returns a client's public keys: inline, or from its jwks_uri.
func clientKeys(ctx context.Context, c *client.Client) (*jose.JSONWebKeySet, error) {
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
	jwksCache.Lock()
	cached, ok := jwksCache.m[c.JWKSURI]
	jwksCache.Unlock()
	if ok && time.Since(cached.fetched) < 5*time.Minute {
		return cached.set, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.JWKSURI, nil)
	if err != nil {
		return nil, err
	}
	resp, err := jwksHTTP.Do(req)
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
	jwksCache.Lock()
	jwksCache.m[c.JWKSURI] = cachedJWKS{set: &set, fetched: time.Now()}
	jwksCache.Unlock()
	return &set, nil
}
