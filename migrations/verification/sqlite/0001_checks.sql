-- Registry checks (verification/check): a citizen's person data sent to
-- the state registries (СФР for the SNILS, МВД for the passport, ФНС for
-- the INN). One row per check. What was sent and what each registry
-- answered is sealed in state (it holds document numbers; the check id is
-- the associated data); status and outcome are in the clear for the
-- queue's metrics and the operators' view. At most one check of an account
-- is pending: a new submission supersedes the one before.
CREATE TABLE verification_checks (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',
    state_enc   BLOB NOT NULL,
    deadline    BIGINT NOT NULL,
    notified    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX verification_checks_account ON verification_checks (account_id, created_at);
CREATE UNIQUE INDEX verification_checks_open ON verification_checks (account_id) WHERE status = 'pending';
CREATE INDEX verification_checks_pending ON verification_checks (created_at) WHERE status = 'pending';
