-- Second factors: TOTP authenticators and recovery codes (packages
-- idp/totp, idp/backupcode).

-- One authenticator per account. secret_enc is the active secret, NULL until
-- the first enrolment is confirmed; pending_enc is a secret shown at
-- enrolment and not yet confirmed by a valid code (it replaces an earlier
-- pending one, and the active secret stays in force until it is confirmed).
-- Both are sealed (AES-256-GCM under a data key, "totp|" + account id as
-- associated data). last_step is the newest 30-second step accepted: a code
-- is accepted only for a later step, by a compare-and-swap on this column,
-- so that a code is never accepted twice, even by two replicas at once.
-- Times are Unix microseconds.
CREATE TABLE totp_secrets (
    account_id   UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_enc   BYTEA,
    pending_enc  BYTEA,
    pending_at   BIGINT,
    last_step    BIGINT NOT NULL DEFAULT 0,
    confirmed_at BIGINT,
    used_at      BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Single-use recovery codes, ten per account, stored as HMAC-SHA256 under a
-- server-side pepper. used_at marks a spent code; a code is spent by a
-- compare-and-swap on used_at IS NULL. Generating new codes deletes all
-- earlier ones.
CREATE TABLE backup_codes (
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);
