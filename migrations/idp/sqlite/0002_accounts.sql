-- Accounts, contacts, sessions, sign-in flows and the account event log
-- (packages idp/account, idp/session, idp/flow).

-- One row per citizen. Document numbers are sealed (AES-256-GCM under a data
-- key, the account id and field name as associated data); SNILS also has a
-- keyed HMAC blind index for look-up and uniqueness. Dates are ISO strings,
-- times Unix microseconds.
CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    status              TEXT NOT NULL DEFAULT 'active',
    level               TEXT NOT NULL DEFAULT 'simplified',
    family_name         TEXT NOT NULL,
    given_name          TEXT NOT NULL,
    middle_name         TEXT NOT NULL DEFAULT '',
    birth_date          TEXT,
    gender              TEXT,
    snils_enc           BLOB,
    snils_index         BLOB UNIQUE,
    inn_enc             BLOB,
    passport_enc        BLOB,
    password_hash       TEXT,
    password_changed_at BIGINT,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        BIGINT,
    consent_version     TEXT,
    consent_at          BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- Phone and e-mail. The value is sealed; value_index is its blind index.
-- A verified value belongs to one account only.
CREATE TABLE contacts (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    value_enc   BLOB NOT NULL,
    value_index BLOB NOT NULL,
    verified_at BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind)
);
CREATE UNIQUE INDEX contacts_verified_value ON contacts (kind, value_index) WHERE verified_at IS NOT NULL;

-- What happened to an account: sign-ins, failures, lock-outs, recoveries,
-- sign-outs. account_id is NULL for attempts on unknown logins.
CREATE TABLE account_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    result     TEXT NOT NULL,
    method     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX account_events_account ON account_events (account_id, at);

-- Server-side SSO sessions. The cookie holds a random token; only its
-- SHA-256 is stored.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    amr          TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_until   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    ended_at     BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id);
-- Sweep deletes rows whose absolute lifetime ended, or that were ended,
-- before a cut-off. idle_until is deliberately not indexed: it is
-- rewritten on activity and an index would cost every such write.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_ended ON sessions (ended_at) WHERE ended_at IS NOT NULL;

-- Multi-step flows (registration, recovery) whose state must survive a
-- request landing on another replica. The cookie holds a random token; only
-- its SHA-256 is stored. data is sealed JSON.
CREATE TABLE flows (
    token_hash BLOB PRIMARY KEY,
    kind       TEXT NOT NULL,
    data       BLOB NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX flows_expires ON flows (expires_at);
