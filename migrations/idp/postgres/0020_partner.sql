-- Bank partners (idp/client, verification/partner): the id of the bank
-- (verification/bank) a client acts for at the partner API /partner/v1,
-- '' for every other client. Only a partner client may hold the partner
-- scopes.
ALTER TABLE clients ADD COLUMN partner TEXT NOT NULL DEFAULT '';

-- Evidence its citizen disputed («Это был не я» after a bank's partner-API
-- confirmation): kept for the record, no longer counted for
-- verified_claims. NULL: not disputed.
ALTER TABLE evidence ADD COLUMN disputed_at BIGINT;
