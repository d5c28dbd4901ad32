-- Confirmation codes by registered letter (verification/letter).
--
-- A letter goes ordered → exported (its code made, the PDF printed) → sent
-- (tracking number recorded; the code works 30 days from dispatch, 3
-- tries) → confirmed, spent (3 wrong codes) or expired. The recipient's
-- name and postal address are sealed (AES-GCM, the letter id as associated
-- data); of the code only a keyed hash is kept, made at export.
CREATE TABLE letters (
    id            TEXT PRIMARY KEY,
    account_id    UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    recipient_enc BYTEA NOT NULL,
    code_hash     BYTEA,
    tries         INTEGER NOT NULL DEFAULT 0,
    tracking      TEXT NOT NULL DEFAULT '',
    ordered_at    BIGINT NOT NULL,
    exported_at   BIGINT,
    sent_at       BIGINT,
    expires_at    BIGINT,
    closed_at     BIGINT
);
-- At most one letter of an account on its way at a time.
CREATE UNIQUE INDEX letters_open ON letters (account_id) WHERE status IN ('ordered', 'exported', 'sent');
CREATE INDEX letters_account ON letters (account_id, ordered_at);
CREATE INDEX letters_status ON letters (status, ordered_at);

-- When each account last ordered a letter. Ordering is one conditional
-- upsert of this row (refused within 30 days of the last order), in the
-- transaction that inserts the letter, so two racing requests make one
-- letter on every replica and dialect.
CREATE TABLE letter_orders (
    account_id UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    ordered_at BIGINT NOT NULL
);
