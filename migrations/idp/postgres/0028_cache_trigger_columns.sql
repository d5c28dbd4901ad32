-- The cache-invalidation triggers of 0027 found the key's column with
-- to_jsonb(OLD) ->> column: the whole row (an account's, with its sealed
-- documents) turned into JSON twice on every update of it, for one
-- column. Two functions read the column itself: the row's id, or its
-- account_id.
-- An INSERT has no OLD, a DELETE no NEW; an UPDATE that keeps the key
-- logs it once.
CREATE FUNCTION cache_invalidate_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || NEW.id::text);
        RETURN NULL;
    END IF;
    INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || OLD.id::text);
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id IS DISTINCT FROM OLD.id THEN
            INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || NEW.id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION cache_invalidate_account_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || NEW.account_id::text);
        RETURN NULL;
    END IF;
    INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || OLD.account_id::text);
    IF TG_OP = 'UPDATE' THEN
        IF NEW.account_id IS DISTINCT FROM OLD.account_id THEN
            INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || NEW.account_id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER accounts_cache ON accounts;
CREATE TRIGGER accounts_cache AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_id('account:');
DROP TRIGGER contacts_cache ON contacts;
CREATE TRIGGER contacts_cache AFTER INSERT OR UPDATE OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_account_id('account:');
DROP TRIGGER evidence_cache ON evidence;
CREATE TRIGGER evidence_cache AFTER INSERT OR UPDATE OR DELETE ON evidence
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_account_id('account:');
DROP TRIGGER staff_roles_cache ON staff_roles;
CREATE TRIGGER staff_roles_cache AFTER INSERT OR UPDATE OR DELETE ON staff_roles
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_account_id('account:');
DROP TRIGGER clients_cache ON clients;
CREATE TRIGGER clients_cache AFTER UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_id('client:');
DROP TRIGGER oidc_revocations_cache ON oidc_revocations;
CREATE TRIGGER oidc_revocations_cache AFTER INSERT OR UPDATE ON oidc_revocations
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_id('token:');
DROP FUNCTION cache_invalidate();
