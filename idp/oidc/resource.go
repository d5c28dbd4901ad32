package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
)

// Gosid's own resource APIs (the bank partner API /partner/v1, later the
// agency API) check the access tokens presented to them here, by the same
// rules as userinfo: a JWT access token's signature by Gosid's keys, or an
// opaque one's seal; expiry; revocation; a client that still exists.

// AccessInfo is what an active access token grants.
type AccessInfo struct {
	// Client is the client the token was issued to, as it is now.
	Client *client.Client
	// Subject is the account's id, or the client's own id for a
	// client_credentials token (ClientToken).
	Subject string
	Scopes  []string
	Expires time.Time
}

// ClientToken reports whether the token is a client's own
// (client_credentials), not a citizen's.
func (a *AccessInfo) ClientToken() bool { return a.Subject == a.Client.ID }

// HasScope reports whether the token was issued for scope.
func (a *AccessInfo) HasScope(scope string) bool { return slices.Contains(a.Scopes, scope) }

var (
	// ErrNoAccessToken: the request carried no bearer token at all (RFC
	// 6750 section 3.1: answer 401 with a bare WWW-Authenticate: Bearer).
	ErrNoAccessToken = errors.New("oidc: no access token")
	// ErrInvalidAccessToken: the token is malformed, sent more than one
	// way, not Gosid's, expired or revoked, or its client is gone (401,
	// error="invalid_token").
	ErrInvalidAccessToken = errors.New("oidc: invalid access token")
)

// AccessToken checks the raw access token. Errors: ErrInvalidAccessToken,
// or a store failure (never a verdict on the token: answer 503).
//
// A resource API's client calls with one token many times (a bank's
// confirmations): with a cache (Deps.Cache), each replica keeps what an
// active token grants, by the token's SHA-256, as the userinfo cache
// keeps answers and on the same terms — dropped within the cache's bound
// when any replica revokes the token or its family or changes or removes
// its client (token:<id>, token:<family>, client:<id>), at once when this
// one revokes it; its expiry judged on every hit. Only active tokens are
// kept: a refusal or a store failure is read again next time.
func (p *Provider) AccessToken(ctx context.Context, raw string) (*AccessInfo, error) {
	var key string
	if p.accessInfos != nil {
		key = tokenCacheKey(raw)
		if e, ok := p.accessInfos.Get(key); ok && p.store.now().Before(e.Expires) {
			return &e, nil
		}
	}
	ticket := p.cacheTicket()
	id, subject, ok := p.accessTokenID(ctx, raw)
	if !ok {
		return nil, ErrInvalidAccessToken
	}
	tid, err := p.adapter.activeToken(ctx, id)
	if errors.Is(err, errTokenInactive) {
		return nil, ErrInvalidAccessToken
	}
	if err != nil {
		return nil, err
	}
	c, err := p.deps.Clients.Get(ctx, tid.ClientID)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, ErrInvalidAccessToken
	}
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	info := AccessInfo{Client: c, Subject: subject, Scopes: tid.Scopes, Expires: tid.Expires}
	if p.accessInfos != nil {
		p.accessInfos.Put(ticket, key, info, tid.Expires, tokenDeps(tid)...)
	}
	return &info, nil
}

// Authenticate takes the bearer token of a request to a resource API
// (Authorization header; a form body too) and checks it as AccessToken
// does. Errors: ErrNoAccessToken, ErrInvalidAccessToken, or a store failure.
func (p *Provider) Authenticate(r *http.Request) (*AccessInfo, error) {
	raw, err := bearerToken(r)
	switch {
	case errors.Is(err, errNoToken):
		return nil, ErrNoAccessToken
	case err != nil:
		return nil, ErrInvalidAccessToken
	}
	return p.AccessToken(r.Context(), raw)
}
