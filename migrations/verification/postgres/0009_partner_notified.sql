-- The «Это были не вы?» notice of a bank's confirmation goes out right
-- after the confirmation commits, with the link whose hash the dispute
-- row was written with, and notified_at records that it went. A row left
-- without it (a replica that stopped after the commit, a gateway that
-- failed) is found by the notice sweep, which sends it with a new link.
-- A queued job per confirmation cost PostgreSQL as much as a third of the
-- confirmation itself. Rows of the release before were told by their
-- jobs.
ALTER TABLE partner_disputes ADD COLUMN notified_at BIGINT;
UPDATE partner_disputes SET notified_at = 0;
CREATE INDEX partner_disputes_unnotified ON partner_disputes (expires_at) WHERE notified_at IS NULL;
