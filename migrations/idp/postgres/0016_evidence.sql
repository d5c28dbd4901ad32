-- Evidence (idp/assurance): each verification of an account's person data
-- — what was verified (claim names), how, by whom, when, which document
-- (its details sealed, the evidence id as associated data) — and the level
-- it supported. Levels change only through it.
CREATE TABLE evidence (
    id            TEXT PRIMARY KEY,
    account_id    UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    method        TEXT NOT NULL,
    verifier_kind TEXT NOT NULL,
    verifier_id   TEXT NOT NULL DEFAULT '',
    claims        TEXT NOT NULL,
    document_type TEXT NOT NULL DEFAULT '',
    document_enc  BYTEA,
    level         TEXT NOT NULL DEFAULT '',
    verified_at   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX evidence_account ON evidence (account_id, verified_at);

-- Until now the only evidence was a qualified e-signature certificate:
-- it verified the SNILS (and, for a confirmed account, the identity). Its
-- record is kept without the certificate's details, which were not stored.
INSERT INTO evidence (id, account_id, method, verifier_kind, verifier_id, claims, document_type, level, verified_at, created_at)
SELECT md5(id::text || 'evidence'), id, 'qualified_esignature', 'ca', '', 'snils', 'qualified_certificate',
    CASE WHEN level = 'confirmed' THEN 'confirmed' ELSE '' END, snils_verified_at, snils_verified_at
FROM accounts WHERE snils_verified_at IS NOT NULL AND snils_verified_by = 'qualified_esignature';
