-- A SNILS a citizen typed is a claim; one proven by evidence (a qualified
-- e-signature certificate; later a registry check, a bank, an operator) is
-- verified. Only a verified SNILS is unique and finds an account.
--
-- snils_index keeps its UNIQUE constraint and now holds the blind index of a
-- verified SNILS only; snils_claim_index holds that of a claimed one, not
-- unique: claims never conflict, so they neither block nor enumerate anyone.
-- When a SNILS becomes verified on one account, the claims of it on other
-- accounts are found through snils_claim_index and dropped.
ALTER TABLE accounts ADD COLUMN snils_claim_index BYTEA;
ALTER TABLE accounts ADD COLUMN snils_verified_at BIGINT;
ALTER TABLE accounts ADD COLUMN snils_verified_by TEXT;
CREATE INDEX accounts_snils_claim ON accounts (snils_claim_index);

-- Until now a certificate could be bound only to an account whose SNILS
-- equalled the certificate's: such a SNILS was proven by the certificate.
-- Every other SNILS was typed by the citizen and becomes a claim.
UPDATE accounts SET snils_verified_at = (SELECT MIN(c.linked_at) FROM account_certificates c WHERE c.account_id = accounts.id),
    snils_verified_by = 'qualified_esignature'
WHERE snils_index IS NOT NULL AND EXISTS (SELECT 1 FROM account_certificates c WHERE c.account_id = accounts.id);
UPDATE accounts SET snils_claim_index = snils_index, snils_index = NULL
WHERE snils_index IS NOT NULL AND snils_verified_at IS NULL;
