-- Relying parties registered with Gosid (package idp/client).

-- One row per client. secret_hash is the SHA-256 of the client secret (a
-- random 256-bit token shown once), NULL for clients that authenticate
-- without one (none, private_key_jwt). The list columns hold JSON arrays of
-- strings; jwks holds the client's public keys as JWKS JSON ('' when none).
-- Times are Unix microseconds; updated_at only ever grows, and updates
-- compare it to refuse a write based on a stale read.
CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               BLOB,
    auth_method               TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    backchannel_logout_uri    TEXT NOT NULL DEFAULT '',
    scopes                    TEXT NOT NULL DEFAULT '[]',
    grant_types               TEXT NOT NULL DEFAULT '[]',
    jwks                      TEXT NOT NULL DEFAULT '',
    jwks_uri                  TEXT NOT NULL DEFAULT '',
    first_party               BOOLEAN NOT NULL DEFAULT FALSE,
    min_level                 TEXT NOT NULL DEFAULT 'simplified',
    id_token_alg              TEXT NOT NULL DEFAULT 'RS256',
    access_token_format       TEXT NOT NULL DEFAULT 'jwt',
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
