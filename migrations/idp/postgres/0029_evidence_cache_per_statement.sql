-- A batch of registry checks inserts three evidence rows for each of up
-- to a hundred accounts in one statement; the row trigger logged one
-- invalidation per row. An insert now logs each account once per
-- statement, from the statement's new rows; updates and deletes (a
-- dispute, an erasure) stay per row.
CREATE FUNCTION cache_invalidate_inserted_account_ids() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cache_invalidations (key) SELECT DISTINCT TG_ARGV[0] || account_id::text FROM inserted;
    RETURN NULL;
END
$$;

DROP TRIGGER evidence_cache ON evidence;
CREATE TRIGGER evidence_cache AFTER UPDATE OR DELETE ON evidence
    FOR EACH ROW EXECUTE FUNCTION cache_invalidate_account_id('account:');
CREATE TRIGGER evidence_insert_cache AFTER INSERT ON evidence
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION cache_invalidate_inserted_account_ids('account:');
