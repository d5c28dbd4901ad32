-- OpenID Connect for Identity Assurance (idp/oidc): a site's claims
-- parameter (with its verified_claims request) must still be honoured by
-- userinfo and by the ID tokens of refreshed grants, long after the
-- authorization request's row is gone. Access-token ids and refresh rows
-- name the request by a content address (a hash of its JSON), so that a
-- site's many grants of one request share one row. expires_at is pushed
-- forward by every grant that uses the row; the sweeper removes it after.
CREATE TABLE oidc_claims_requests (
    ref        TEXT PRIMARY KEY,
    request    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_claims_requests_expires ON oidc_claims_requests (expires_at);

-- The claims request of a refresh token's grant ('' for none, and for
-- tokens issued before).
ALTER TABLE oidc_refresh_tokens ADD COLUMN claims_ref TEXT NOT NULL DEFAULT '';
