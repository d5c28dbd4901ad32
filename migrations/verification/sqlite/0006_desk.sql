-- The in-person desk (verification/desk). Times are Unix microseconds.
--
-- desk_codes: a citizen's confirmation code for the desk. The code itself
-- is never stored in the clear: code_index is its keyed HMAC (the lookup
-- an operator's typed or scanned code finds), code_enc the code sealed
-- with the row id as associated data, so that its owner can see it again.
-- At most one live code per account (the partial unique index).
CREATE TABLE desk_codes (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_index  BLOB NOT NULL UNIQUE,
    code_enc    BLOB NOT NULL,
    region      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    closed_at   BIGINT
);
CREATE UNIQUE INDEX desk_codes_live ON desk_codes (account_id) WHERE status = 'live';
CREATE INDEX desk_codes_expires ON desk_codes (status, expires_at);

-- desk_operations: what staff did at an office's desk, for the office's
-- supervisors and the record: the operation id (also the evidence id of a
-- confirmation), the office, the operator's account, the citizen's
-- account, the action (viewed, confirmed, refused, corrected, checked),
-- a refusal's reason and note, the documents checked. operator_id keeps
-- no reference: the record outlives the operator's account.
CREATE TABLE desk_operations (
    id          TEXT PRIMARY KEY,
    org_code    TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    documents   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX desk_operations_org ON desk_operations (org_code, created_at);
CREATE INDEX desk_operations_account ON desk_operations (account_id, created_at);
