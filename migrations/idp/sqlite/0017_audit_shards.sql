-- The activity log in several chains (idp/audit). One chain with one head
-- row made every audited write in the system wait for the one before it to
-- commit; now each account's entries go to one of several chains (chosen
-- by a hash of the account id; entries of no account go to chain 0), each
-- with its own numbering, links and head, verified on its own.
--
-- The existing chain becomes chain 0, unchanged: its rows get chain 0 and
-- keep seq, prev_hash and hash, and its head stays row 1. A chain's head is
-- row chain + 1, so that replicas of the previous release, which lock row
-- 1 and insert without a chain during a rolling upgrade, extend chain 0
-- exactly as this release does. SQLite cannot change a primary key or a
-- check, so both tables are rebuilt.
CREATE TABLE audit_log_sharded (
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL,
    chain      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chain, seq)
);
INSERT INTO audit_log_sharded (seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash, chain)
SELECT seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash, 0 FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_sharded RENAME TO audit_log;
CREATE INDEX audit_log_account ON audit_log (account_id, at);

CREATE TABLE audit_head_sharded (
    id   INTEGER PRIMARY KEY CHECK (id >= 1),
    seq  BIGINT NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head_sharded (id, seq, hash) SELECT id, seq, hash FROM audit_head;
DROP TABLE audit_head;
ALTER TABLE audit_head_sharded RENAME TO audit_head;
