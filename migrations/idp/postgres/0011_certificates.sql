-- Qualified e-signature certificates bound to accounts (idp/esign).
-- fingerprint is the SHA-256 of the certificate's DER; the DER itself holds
-- the SNILS and INN, so it is sealed (AES-GCM, the fingerprint as AAD).
CREATE TABLE account_certificates (
    fingerprint  BYTEA PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    serial       TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    not_before   BIGINT NOT NULL,
    not_after    BIGINT NOT NULL,
    der_enc      BYTEA NOT NULL,
    linked_at    BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX account_certificates_account ON account_certificates (account_id);
