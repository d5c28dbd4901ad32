package oidc

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
)

// The userinfo endpoint, answered by Gosid rather than op so that every
// refusal is what RFC 6750 section 3 says a protected resource answers:
//
//	no access token at all        401, WWW-Authenticate: Bearer (no error: the client did not try)
//	malformed, unknown, expired,  401, WWW-Authenticate: Bearer error="invalid_token"
//	revoked token, or its client
//	or account gone
//	a token without openid        403, WWW-Authenticate: Bearer error="insufficient_scope", scope="openid"
//	the token in the query        400, WWW-Authenticate: Bearer error="invalid_request"
//	string, or sent two ways
//	the database unreachable      503, Retry-After: 1, temporarily_unavailable: a store failure is
//	                              never a verdict on the token (a client would drop a good one)
//
// each with a JSON body {"error", "error_description"}. The token comes
// from the Authorization header or a form-encoded POST body (RFC 6750
// sections 2.1 and 2.2), never from the query string, which ends up in
// logs and browser history (section 2.3 is a MAY; Gosid does not).

// errTokenInactive: the access token is malformed, expired or revoked.
var errTokenInactive = errors.New("access token not active")

// errTokenHolderGone: the token's client or account no longer exists.
var errTokenHolderGone = errors.New("access token's client or account gone")

// activeToken parses an access token's id and checks that it has not
// expired and is not revoked. A store failure is returned as it is, never
// as errTokenInactive.
func (ad *adapter) activeToken(ctx context.Context, id string) (tokenID, error) {
	tid, err := parseTokenID(id)
	if err != nil {
		return tokenID{}, errTokenInactive
	}
	if !ad.store.now().Before(tid.Expires) {
		return tokenID{}, errTokenInactive
	}
	revoked, err := ad.store.revoked(ctx, tid.ID, tid.Family)
	if err != nil {
		return tokenID{}, fmt.Errorf("revocations: %w", err)
	}
	if revoked {
		return tokenID{}, errTokenInactive
	}
	return tid, nil
}

// tokenHolder checks an active access token of a citizen (not a client's
// own) and returns its id and the account. Errors: errTokenInactive,
// errTokenHolderGone, or a store failure.
func (ad *adapter) tokenHolder(ctx context.Context, id, subject string) (tokenID, *account.Account, error) {
	tid, err := ad.activeToken(ctx, id)
	if err != nil {
		return tokenID{}, nil, err
	}
	if tid.ClientID == subject {
		return tid, nil, errClientToken
	}
	if _, err := ad.clients.Get(ctx, tid.ClientID); err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			return tokenID{}, nil, errTokenHolderGone
		}
		return tokenID{}, nil, fmt.Errorf("client: %w", err)
	}
	a, err := ad.accounts.Get(ctx, subject)
	if err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			return tokenID{}, nil, errTokenHolderGone
		}
		return tokenID{}, nil, fmt.Errorf("account: %w", err)
	}
	return tid, a, nil
}

// errClientToken: a client_credentials token, whose subject is the client.
var errClientToken = errors.New("a client's own access token")

// bearer errors of the request itself.
var (
	errNoToken          = errors.New("no access token")
	errTokenInQuery     = errors.New("access token in the query string")
	errTwoBearerMethods = errors.New("access token sent more than one way")
	errBadHeader        = errors.New("malformed Authorization header")
)

// bearerToken takes the access token from the Authorization header or a
// form-encoded POST body.
func bearerToken(r *http.Request) (string, error) {
	if r.URL.Query().Has("access_token") {
		return "", errTokenInQuery
	}
	var fromHeader, fromBody string
	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return "", errTwoBearerMethods
	}
	if len(headers) == 1 {
		// Another scheme is no attempt at bearer authentication: as if no
		// header had been sent.
		if scheme, token, _ := strings.Cut(headers[0], " "); strings.EqualFold(scheme, "Bearer") {
			if token = strings.TrimSpace(token); token == "" || strings.ContainsAny(token, " \t") {
				return "", errBadHeader
			}
			fromHeader = token
		}
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return "", errBadHeader
			}
			switch v := r.PostForm["access_token"]; {
			case len(v) > 1:
				return "", errTwoBearerMethods
			case len(v) == 1:
				fromBody = v[0]
				if fromBody == "" {
					return "", errBadHeader
				}
			}
		}
	}
	switch {
	case fromHeader != "" && fromBody != "":
		return "", errTwoBearerMethods
	case fromHeader != "":
		return fromHeader, nil
	case fromBody != "":
		return fromBody, nil
	}
	return "", errNoToken
}

// accessTokenID opens an access token: an opaque one is op's sealed
// "id:subject", a JWT one is verified against Gosid's keys (signature,
// issuer, expiry). ok is false for anything else.
func (p *Provider) accessTokenID(ctx context.Context, token string) (id, subject string, ok bool) {
	if plain, err := p.op.Crypto().Decrypt(token); err == nil {
		id, subject, ok = strings.Cut(plain, ":")
		return id, subject, ok && id != "" && subject != "" && !strings.Contains(subject, ":")
	}
	ctx = op.ContextWithIssuer(ctx, p.cfg.Issuer)
	claims, err := op.VerifyAccessToken[*zoidc.AccessTokenClaims](ctx, token, p.op.AccessTokenVerifier(ctx))
	if err != nil || claims.JWTID == "" || claims.Subject == "" {
		return "", "", false
	}
	return claims.JWTID, claims.Subject, true
}

// userinfo is the userinfo endpoint (OpenID Connect Core section 5.3).
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeBearerError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
		return
	}
	ctx := r.Context()
	token, err := bearerToken(r)
	switch {
	case errors.Is(err, errNoToken):
		// RFC 6750 section 3.1: no error code when the request carried no
		// authentication at all.
		w.Header().Set("WWW-Authenticate", `Bearer`)
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "an access token is required")
		return
	case errors.Is(err, errBadHeader):
		p.invalidToken(w, "the access token is malformed")
		return
	case err != nil:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request", error_description="send the access token in the Authorization header or a form body, once"`)
		writeBearerError(w, http.StatusBadRequest, "invalid_request", "send the access token in the Authorization header or a form body, once")
		return
	}
	if p.cachedUserinfo(w, token) {
		return
	}
	// Taken before the first read: an answer read while a change to any
	// of its parts was being announced is not cached.
	ticket := p.cacheTicket()
	id, subject, ok := p.accessTokenID(ctx, token)
	if !ok {
		p.invalidToken(w, "the access token is invalid or has expired")
		return
	}
	tid, a, err := p.adapter.tokenHolder(ctx, id, subject)
	switch {
	case errors.Is(err, errTokenInactive):
		p.invalidToken(w, "the access token is invalid, expired or revoked")
		return
	case errors.Is(err, errTokenHolderGone):
		p.invalidToken(w, "the access token's client or account no longer exists")
		return
	case errors.Is(err, errClientToken):
		p.insufficientScope(w)
		return
	case err != nil:
		p.deps.Log.ErrorContext(ctx, "userinfo", "err", err)
		writeUnavailable(w)
		return
	}
	if !slices.Contains(tid.Scopes, "openid") {
		p.insufficientScope(w)
		return
	}
	info := &zoidc.UserInfo{}
	setClaims(info, a, tid.Scopes)
	if err := p.adapter.userinfoVerifiedClaims(ctx, info, tid, a); err != nil {
		p.deps.Log.ErrorContext(ctx, "userinfo: verified claims", "err", err)
		writeUnavailable(w)
		return
	}
	if err := p.adapter.userinfoStaffRoles(ctx, info, tid, a); err != nil {
		p.deps.Log.ErrorContext(ctx, "userinfo: staff roles", "err", err)
		writeUnavailable(w)
		return
	}
	body, err := encodeUserinfo(info)
	if err != nil {
		p.deps.Log.ErrorContext(ctx, "userinfo: encode", "err", err)
		writeUnavailable(w)
		return
	}
	p.keepUserinfo(ticket, token, tid, subject, body)
	writeUserinfo(w, body)
}

func (p *Provider) invalidToken(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
	writeBearerError(w, http.StatusUnauthorized, "invalid_token", desc)
}

func (p *Provider) insufficientScope(w http.ResponseWriter) {
	const desc = "the access token was not issued for the openid scope"
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", error_description="`+desc+`", scope="openid"`)
	writeBearerError(w, http.StatusForbidden, "insufficient_scope", desc)
}

// writeUnavailable answers a request that failed because a store did:
// the client should try again shortly, and must not conclude anything
// about its credentials.
func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeBearerError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable; try again")
}

func writeBearerError(w http.ResponseWriter, status int, kind, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = jsonEncode(w, map[string]string{"error": kind, "error_description": desc})
}
