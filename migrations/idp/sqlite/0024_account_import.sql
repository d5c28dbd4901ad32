-- Bulk import of accounts (gosid accounts import, idp/account importer.go).
--
-- external_id is the account's key in the system it was imported from (a
-- migration's source), NULL for every account made here. It is unique, so
-- that a re-run of the same import skips the accounts already loaded
-- instead of loading them twice; several NULLs never conflict.
ALTER TABLE accounts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX accounts_external_id ON accounts (external_id);

-- Every contact by its blind index, verified or not. The unique index
-- contacts_verified_value covers verified values only; an import must also
-- find unverified ones (a duplicate phone or e-mail is refused whatever its
-- state), once per record, and without this index each look-up would scan
-- the table. The blind index is keyed per kind, so value_index alone is
-- selective.
CREATE INDEX contacts_value_index ON contacts (value_index);
