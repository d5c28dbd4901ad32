-- The keyed hashes of the SNILS and INN the identity provider vouched for
-- at a citizen's latest sign-in (portal/payments): who to tell of a new
-- charge by SNILS or INN while they are signed out. No values, only the
-- blind index the charges are found by.
CREATE TABLE portal_verified_ids (
    subject    TEXT NOT NULL,
    hash       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (subject, hash)
);
CREATE INDEX portal_verified_ids_hash ON portal_verified_ids (hash);
