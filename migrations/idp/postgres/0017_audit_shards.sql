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
-- exactly as this release does.
ALTER TABLE audit_log ADD COLUMN chain INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (chain, seq);

ALTER TABLE audit_head DROP CONSTRAINT audit_head_id_check;
ALTER TABLE audit_head ADD CONSTRAINT audit_head_id_check CHECK (id >= 1);
