-- Password lock-out per login identifier (idp/account, idp/login): the
-- consecutive wrong passwords given for one phone, e-mail or SNILS, known
-- or not, under a keyed hash of the identifier, so that an unknown login
-- locks after as many failures as a known one and gets the same answer.
-- account_id names the account the identifier belonged to when a failure
-- was counted; an operator's unlock, a recovery or a new password clears
-- that account's rows, and erasing the account deletes them.
CREATE TABLE login_lockouts (
    key_hash     TEXT PRIMARY KEY,
    account_id   UUID REFERENCES accounts (id) ON DELETE CASCADE,
    failures     INTEGER NOT NULL,
    locked_until BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX login_lockouts_account ON login_lockouts (account_id);
CREATE INDEX login_lockouts_updated ON login_lockouts (updated_at);
