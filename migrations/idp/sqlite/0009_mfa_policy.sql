-- Second-factor policy (idp/account, idp/login).

-- The second factor a password sign-in must be followed by: '' (none),
-- 'totp' or 'sms'.
ALTER TABLE accounts ADD COLUMN mfa TEXT NOT NULL DEFAULT '';

-- "Remember this device": a browser that completed a second factor may
-- skip it for a while, from the same IP address only. The cookie holds a
-- random token; only its SHA-256 is stored.
CREATE TABLE trusted_devices (
    token_hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX trusted_devices_account ON trusted_devices (account_id);
