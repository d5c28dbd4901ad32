-- Cross-replica cache invalidation (internal/cache): every change that
-- must drop what a replica cached appends the cache key it affects here,
-- in the writer's own transaction, by trigger, so that no writer can
-- forget to. Each replica polls the rows past the last it read and drops
-- the entries that depend on those keys; rows are pruned by age. at is
-- the database's clock (Unix microseconds) when the row was written.
CREATE TABLE cache_invalidations (
    seq BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at  BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT
);
CREATE INDEX cache_invalidations_at ON cache_invalidations (at);

-- cache_invalidate(prefix, column) logs prefix || the row's column, for the
-- old row and for the new one (when it names another key).
CREATE FUNCTION cache_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o TEXT;
    n TEXT;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        o := to_jsonb(OLD) ->> TG_ARGV[1];
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        n := to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    IF o IS NOT NULL THEN
        INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || o);
    END IF;
    IF n IS NOT NULL AND n IS DISTINCT FROM o THEN
        INSERT INTO cache_invalidations (key) VALUES (TG_ARGV[0] || n);
    END IF;
    RETURN NULL;
END
$$;

-- What userinfo answers from (idp/oidc): the account (name, documents,
-- level, status; erasure), its contacts, evidence and staff roles; the
-- token's client; revocations of the token or its family. A new account
-- or client invalidates nothing: nothing about it can have been cached.
CREATE TRIGGER accounts_cache AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate('account:', 'id');
CREATE TRIGGER contacts_cache AFTER INSERT OR UPDATE OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate('account:', 'account_id');
CREATE TRIGGER evidence_cache AFTER INSERT OR UPDATE OR DELETE ON evidence
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate('account:', 'account_id');
CREATE TRIGGER staff_roles_cache AFTER INSERT OR UPDATE OR DELETE ON staff_roles
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate('account:', 'account_id');
CREATE TRIGGER clients_cache AFTER UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate('client:', 'id');
CREATE TRIGGER oidc_revocations_cache AFTER INSERT OR UPDATE ON oidc_revocations
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate('token:', 'id');
