-- Account centre (idp/account, idp/audit, idp/login).

-- "Notify me of every sign-in from a new device" (on by default), the
-- citizen's own idle timeout in seconds (NULL: the configured default),
-- changes of verified person data waiting for verification (sealed JSON;
-- tokens keep the verified values meanwhile), and a requested deletion:
-- the time after which the person data is erased unless a sign-in cancels it.
ALTER TABLE accounts ADD COLUMN notify_new_device BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE accounts ADD COLUMN idle_timeout_s INTEGER;
ALTER TABLE accounts ADD COLUMN pending BYTEA;
ALTER TABLE accounts ADD COLUMN delete_after BIGINT;
CREATE INDEX accounts_delete_after ON accounts (delete_after);

-- A session's own idle timeout in seconds, from the account's setting
-- when it started (NULL: the configured default).
ALTER TABLE sessions ADD COLUMN idle_s INTEGER;

-- Devices an account has signed in from: the device cookie's keyed hash.
-- A sign-in from a device not listed here is "from a new device".
CREATE TABLE account_devices (
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_hash BYTEA NOT NULL,
    user_agent  TEXT NOT NULL DEFAULT '',
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_hash)
);

-- Sign-in history flags, space-separated: "new_device".
ALTER TABLE account_events ADD COLUMN flags TEXT NOT NULL DEFAULT '';

-- The activity log: every change to an account, by whom. Append-only; each
-- entry's hash is a keyed MAC over the previous entry's hash and its own
-- fields, so an edited, removed or reordered row breaks the chain. seq is
-- the chain position; UNIQUE makes two replicas racing for the same
-- position conflict, and the loser retries on the new tail. account_id is
-- kept, without a foreign key, after the account is erased: it is a random
-- identifier, a pseudonymous reference.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    prev_hash  BYTEA NOT NULL,
    hash       BYTEA NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, at);

-- The chain's head: the last entry's position and hash, one row. Appending
-- locks this row (SELECT … FOR UPDATE on PostgreSQL; SQLite writers are
-- serialised anyway), so replicas append one after another.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
