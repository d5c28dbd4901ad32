-- PostgreSQL's cache-invalidation triggers of 0027 turned the whole row
-- into JSON to find the key; SQLite's name the column (OLD.id,
-- NEW.account_id) already. Nothing to change here.
SELECT 1;
