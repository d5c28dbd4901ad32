-- Recent authentication for sensitive changes and «Это был не я»
-- (idp/account, idp/profile, idp/login, idp/recovery).

-- Password sign-in is refused from this time until the password is set
-- anew (recovery clears it): the owner said a contact change was not theirs,
-- so whoever made it may know the password. NULL: not suspended.
ALTER TABLE accounts ADD COLUMN password_suspended_at BIGINT;

-- Undo links of contact changes, sent to the previous phone or e-mail. Only
-- the token's SHA-256 is stored. old_value_enc is the previous contact,
-- sealed ("contact_undos|" + account id as associated data). used_at marks a
-- spent link (single use, by a compare-and-swap on used_at IS NULL); a link
-- is also spent when an earlier change of the same contact is undone. Times
-- are Unix microseconds; the sweeper deletes rows past expires_at.
CREATE TABLE contact_undos (
    token_hash    BLOB PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    old_value_enc BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
CREATE INDEX contact_undos_account ON contact_undos (account_id, kind, created_at);
CREATE INDEX contact_undos_expires ON contact_undos (expires_at);

-- Remembered devices are swept once expired.
CREATE INDEX trusted_devices_expires ON trusted_devices (expires_at);
