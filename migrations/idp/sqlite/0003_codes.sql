-- Rate-limit logs and one-time codes (packages idp/ratelimit, idp/otp).

-- Sliding-log rate limits. key_hash is SHA-256(rule name || 0x00 || key);
-- the key itself (an IP, a login, a blind index) is never stored.
-- rate_limit_keys has one row per key: Allow upserts it first, and the row
-- lock that upsert takes serialises concurrent Allow calls on the key, so the
-- count of rate_limit_hits read next is exact. Only admitted hits are logged,
-- so a key holds at most Limit hit rows.
CREATE TABLE rate_limit_keys (
    key_hash   BLOB PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_limit_keys_expires ON rate_limit_keys (expires_at);

CREATE TABLE rate_limit_hits (
    key_hash   BLOB NOT NULL,
    at         BIGINT NOT NULL,
    nonce      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key_hash, at, nonce)
);
CREATE INDEX rate_limit_hits_expires ON rate_limit_hits (expires_at);

-- One-time codes sent by SMS or e-mail. One row per (purpose, destination):
-- a new code replaces the previous one. id_hash is SHA-256 of the opaque
-- challenge id; destination_hash is HMAC-SHA256(pepper, destination);
-- code_hash is HMAC-SHA256(pepper, code || challenge id). resend_at is the
-- end of the resend cool-down.
CREATE TABLE otp_challenges (
    id_hash          BLOB PRIMARY KEY,
    purpose          TEXT NOT NULL,
    destination_hash BLOB NOT NULL,
    code_hash        BLOB NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    resend_at        BIGINT NOT NULL,
    consumed_at      BIGINT,
    UNIQUE (purpose, destination_hash)
);
CREATE INDEX otp_challenges_expires ON otp_challenges (expires_at);
