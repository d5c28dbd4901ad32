-- The bank partner API /partner/v1 (verification/partner).

-- Idempotency: one row per (partner, Idempotency-Key), inserted and
-- committed before the request's work starts, so that a racing request
-- with the same key finds it and waits for the answer instead of doing the
-- work again. body_hash is the SHA-256 of the operation and the request
-- body; status is 0 while the first request is being worked, then the
-- answer's HTTP status, with its body in response.
CREATE TABLE partner_requests (
    partner    TEXT NOT NULL,
    idem_key   TEXT NOT NULL,
    body_hash  BYTEA NOT NULL,
    status     INTEGER NOT NULL DEFAULT 0,
    response   TEXT NOT NULL DEFAULT '',
    location   TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (partner, idem_key)
);
CREATE INDEX partner_requests_created ON partner_requests (created_at);

-- A bank's confirmation of its customer's identity that matched an
-- account: the account's evidence is evidence_id (idp/assurance).
CREATE TABLE partner_confirmations (
    id           TEXT PRIMARY KEY,
    partner      TEXT NOT NULL,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    evidence_id  TEXT NOT NULL,
    method       TEXT NOT NULL,
    reference    TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX partner_confirmations_account ON partner_confirmations (account_id);

-- The "it was not me" link of the notice that tells a citizen a bank
-- confirmed them: only the SHA-256 of its token is kept; it works once
-- (used_at) until expires_at.
CREATE TABLE partner_disputes (
    token_hash      BYTEA PRIMARY KEY,
    confirmation_id TEXT NOT NULL REFERENCES partner_confirmations (id) ON DELETE CASCADE,
    account_id      UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_level      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX partner_disputes_account ON partner_disputes (account_id);

-- An account a bank registered for its customer: no password until the
-- citizen opens the activation link (only the SHA-256 of its token is
-- kept) and sets one before expires_at; a never-activated account is then
-- removed by the sweep.
CREATE TABLE partner_registrations (
    id           TEXT PRIMARY KEY,
    partner      TEXT NOT NULL,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    reference    TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    activated_at BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX partner_registrations_expires ON partner_registrations (expires_at);
