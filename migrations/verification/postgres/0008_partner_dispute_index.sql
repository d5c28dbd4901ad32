-- The notice job finds a confirmation's dispute row by confirmation_id
-- (to put the link's token hash on it), and deleting a confirmation
-- cascades to it: without an index both scanned the whole table, about
-- 1 ms a confirmation once a few thousand were stored.
CREATE INDEX partner_disputes_confirmation ON partner_disputes (confirmation_id);
