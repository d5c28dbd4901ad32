-- Temporary access codes (verification/access): issued by an operator at
-- an office after checking the passport, with which a citizen who lost
-- their phone sets a new password and phone. One live code per account
-- (issuing again replaces it); only a keyed hash of the code is kept.
-- Times are Unix microseconds. (IF NOT EXISTS: a development database
-- of the day it was added got it from the idp migrations.)
CREATE TABLE IF NOT EXISTS access_codes (
    account_id UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    issued_by  TEXT NOT NULL,
    org_code   TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    spent_at   BIGINT
);
