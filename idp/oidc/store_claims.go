package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Claims requests outlive their authorization request: userinfo answers
// an access token, and a refreshed grant issues ID tokens, with what the
// original claims parameter asked for (its verified_claims request). The
// request is stored once under a content address, its ref (a hash of its
// JSON): access-token ids carry the ref (tokenID.ClaimsRef), refresh rows
// keep it (RefreshToken.ClaimsRef), and many grants of one site's request
// share one row.

// claimsRefLen is the length of a ref: 18 bytes of SHA-256, base64url.
const claimsRefLen = 24

// claimsRequestJSON is what is stored of c, and whether anything needs
// storing: only a request with a verified_claims member does (plain
// claims reach refreshed ID tokens through the refresh row's claim names,
// and userinfo returns every consented claim anyway).
func claimsRequestJSON(c *ClaimsRequest) ([]byte, bool, error) {
	if c == nil || len(c.IDToken.VerifiedClaims) == 0 && len(c.UserInfo.VerifiedClaims) == 0 {
		return nil, false, nil
	}
	raw, err := json.Marshal(c)
	return raw, err == nil, err
}

// claimsRef is the content address of a stored claims request.
func claimsRef(raw []byte) string {
	return base64.RawURLEncoding.EncodeToString(sha256Sum("gosid claims request\x00" + string(raw))[:18])
}

// validClaimsRef reports whether s has the form of a ref.
func validClaimsRef(s string) bool {
	if len(s) != claimsRefLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// saveClaimsRequest stores c (when it has anything to keep) until at
// least until, through q, and returns its ref ("" for nothing stored).
// Storing the same request again only pushes its expiry forward.
func (s *store) saveClaimsRequest(ctx context.Context, q sqldb.Querier, c *ClaimsRequest, until time.Time) (string, error) {
	raw, ok, err := claimsRequestJSON(c)
	if err != nil || !ok {
		return "", err
	}
	ref := claimsRef(raw)
	_, err = q.Exec(ctx, `INSERT INTO oidc_claims_requests (ref, request, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (ref) DO UPDATE SET expires_at = CASE WHEN excluded.expires_at > oidc_claims_requests.expires_at
			THEN excluded.expires_at ELSE oidc_claims_requests.expires_at END`, ref, string(raw), sqldb.Micros(until))
	if err != nil {
		return "", fmt.Errorf("store claims request: %w", err)
	}
	return ref, nil
}

// extendClaimsRequest keeps the request of ref until at least until.
func extendClaimsRequest(ctx context.Context, q sqldb.Querier, ref string, until time.Time) error {
	if ref == "" {
		return nil
	}
	_, err := q.Exec(ctx, `UPDATE oidc_claims_requests SET expires_at = $2 WHERE ref = $1 AND expires_at < $2`, ref, sqldb.Micros(until))
	return err
}

// claimsRequest reads the request of ref; nil for "". A request that is
// gone (swept after every grant using it expired) is sqldb.ErrNotFound.
func (s *store) claimsRequest(ctx context.Context, ref string) (*ClaimsRequest, error) {
	if ref == "" {
		return nil, nil
	}
	var raw string
	if err := s.db.QueryRow(ctx, `SELECT request FROM oidc_claims_requests WHERE ref = $1`, ref).Scan(&raw); err != nil {
		return nil, err
	}
	var c ClaimsRequest
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, fmt.Errorf("claims request %s: %w", ref, err)
	}
	return &c, nil
}
