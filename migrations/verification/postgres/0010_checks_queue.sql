-- A check's row is its queue entry: every replica claims the pending
-- checks that are due (due_at) in batches, pushing due_at past the time a
-- batch may take (a lease: a replica that dies leaves them due again), and
-- a check waiting for an unavailable registry is due again after its
-- back-off. attempts counts the claims, for the back-off. A job per check
-- on the job queue cost more than the check itself; checks of the release
-- before are due at once (their jobs find them done).
ALTER TABLE verification_checks ADD COLUMN due_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE verification_checks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX verification_checks_due ON verification_checks (due_at) WHERE status = 'pending';
