-- Cross-replica cache invalidation (internal/cache): every change that
-- must drop what a replica cached appends the cache key it affects here,
-- in the writer's own transaction, by trigger, so that no writer can
-- forget to. Each replica polls the rows past the last it read and drops
-- the entries that depend on those keys; rows are pruned by age. at is
-- the database's clock (Unix microseconds) when the row was written.
-- AUTOINCREMENT: a seq is never reused, even after the newest row is
-- pruned (a replica would take a reused one for a row it already read).
CREATE TABLE cache_invalidations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at  BIGINT NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))
);
CREATE INDEX cache_invalidations_at ON cache_invalidations (at);

-- What userinfo answers from (idp/oidc): the account (name, documents,
-- level, status; erasure), its contacts, evidence and staff roles; the
-- token's client; revocations of the token or its family. A new account
-- or client invalidates nothing: nothing about it can have been cached.
CREATE TRIGGER accounts_cache_update AFTER UPDATE ON accounts BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.id);
    INSERT INTO cache_invalidations (key) SELECT 'account:' || NEW.id WHERE NEW.id IS NOT OLD.id;
END;
CREATE TRIGGER accounts_cache_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.id);
END;
CREATE TRIGGER contacts_cache_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || NEW.account_id);
END;
CREATE TRIGGER contacts_cache_update AFTER UPDATE ON contacts BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.account_id);
    INSERT INTO cache_invalidations (key) SELECT 'account:' || NEW.account_id WHERE NEW.account_id IS NOT OLD.account_id;
END;
CREATE TRIGGER contacts_cache_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.account_id);
END;
CREATE TRIGGER evidence_cache_insert AFTER INSERT ON evidence BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || NEW.account_id);
END;
CREATE TRIGGER evidence_cache_update AFTER UPDATE ON evidence BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.account_id);
    INSERT INTO cache_invalidations (key) SELECT 'account:' || NEW.account_id WHERE NEW.account_id IS NOT OLD.account_id;
END;
CREATE TRIGGER evidence_cache_delete AFTER DELETE ON evidence BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.account_id);
END;
CREATE TRIGGER staff_roles_cache_insert AFTER INSERT ON staff_roles BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || NEW.account_id);
END;
CREATE TRIGGER staff_roles_cache_update AFTER UPDATE ON staff_roles BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.account_id);
    INSERT INTO cache_invalidations (key) SELECT 'account:' || NEW.account_id WHERE NEW.account_id IS NOT OLD.account_id;
END;
CREATE TRIGGER staff_roles_cache_delete AFTER DELETE ON staff_roles BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('account:' || OLD.account_id);
END;
CREATE TRIGGER clients_cache_update AFTER UPDATE ON clients BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('client:' || OLD.id);
    INSERT INTO cache_invalidations (key) SELECT 'client:' || NEW.id WHERE NEW.id IS NOT OLD.id;
END;
CREATE TRIGGER clients_cache_delete AFTER DELETE ON clients BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('client:' || OLD.id);
END;
CREATE TRIGGER oidc_revocations_cache_insert AFTER INSERT ON oidc_revocations BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('token:' || NEW.id);
END;
CREATE TRIGGER oidc_revocations_cache_update AFTER UPDATE ON oidc_revocations BEGIN
    INSERT INTO cache_invalidations (key) VALUES ('token:' || OLD.id);
    INSERT INTO cache_invalidations (key) SELECT 'token:' || NEW.id WHERE NEW.id IS NOT OLD.id;
END;
