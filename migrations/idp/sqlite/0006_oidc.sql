-- The OpenID provider's state (package idp/oidc).

-- Authorization requests, from /authorize until the code is exchanged.
-- request is the validated request as JSON (scopes, redirect URI, state,
-- nonce, PKCE challenge, prompt, max_age…). The code is stored as its
-- SHA-256 only; code_used_at marks a spent code, kept until expiry so that
-- a second use is recognised and revokes what the first one issued
-- (family_id).
CREATE TABLE oidc_auth_requests (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    request      TEXT NOT NULL,
    account_id   TEXT,
    session_id   TEXT,
    auth_time    BIGINT,
    amr          TEXT,
    acr          TEXT,
    done         BOOLEAN NOT NULL DEFAULT FALSE,
    code_hash    BLOB UNIQUE,
    code_expires BIGINT,
    code_used_at BIGINT,
    family_id    TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- Refresh tokens, stored as SHA-256. Each rotation marks the presented
-- token rotated and adds its successor in the same family; presenting a
-- rotated token again revokes the whole family (reuse detection).
CREATE TABLE oidc_refresh_tokens (
    hash        BLOB PRIMARY KEY,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    session_id  TEXT NOT NULL DEFAULT '',
    scopes      TEXT NOT NULL,
    amr         TEXT NOT NULL,
    acr         TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    rotated_at  BIGINT
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family_id);
CREATE INDEX oidc_refresh_tokens_account ON oidc_refresh_tokens (account_id, client_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);

-- Revoked token families and access tokens: an access token (JWT or
-- opaque) names its family in its id; introspection refuses tokens of a
-- revoked family or a revoked id until they would have expired anyway.
CREATE TABLE oidc_revocations (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- What each citizen has allowed each site: the scopes granted and when.
CREATE TABLE oidc_grants (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- Client-assertion ids already used (private_key_jwt), kept until the
-- assertion expires, so that a replayed assertion is refused.
CREATE TABLE oidc_assertion_jtis (
    jti_hash   BLOB PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Device authorizations (kiosks, TVs): the device polls with device_code
-- (stored as SHA-256); the citizen enters user_code at /device.
CREATE TABLE oidc_device_codes (
    device_hash BLOB PRIMARY KEY,
    user_code   TEXT NOT NULL UNIQUE,
    client_id   TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    account_id  TEXT,
    amr         TEXT,
    acr         TEXT,
    auth_time   BIGINT,
    state       TEXT NOT NULL DEFAULT 'pending',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Back-channel logout tokens waiting to be delivered (OpenID Connect
-- Back-Channel Logout 1.0). Any replica may deliver: a row is leased by
-- moving next_at forward with a compare-and-swap, and retried with
-- back-off until delivered or out of attempts.
CREATE TABLE oidc_logout_outbox (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    uri        TEXT NOT NULL,
    token      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX oidc_logout_outbox_next ON oidc_logout_outbox (next_at);
