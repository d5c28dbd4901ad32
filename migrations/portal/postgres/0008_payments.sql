-- Charges and payments (portal/payments). A charge («начисление») is an
-- agency's claim for money under a УИН; whom it concerns is kept only as
-- keyed hashes (portal_charge_ids, for matching a citizen's identifiers)
-- and sealed (data_enc, for display). Dates of the Treasury (issued, due,
-- discount until) are civil dates 'YYYY-MM-DD' in Moscow time; times are
-- Unix microseconds. version is the compare-and-swap of an agency's change.
CREATE TABLE portal_charges (
    uin             TEXT PRIMARY KEY,
    agency          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payee           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL DEFAULT '',
    amount          BIGINT NOT NULL,
    discount_amount BIGINT NOT NULL DEFAULT 0,
    discount_until  TEXT NOT NULL DEFAULT '',
    issued_on       TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    data_enc        BYTEA NOT NULL,
    status          TEXT NOT NULL,
    version         BIGINT NOT NULL,
    cancel_reason   TEXT NOT NULL DEFAULT '',
    paid_at         BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Whom a charge concerns: HMAC-SHA256(key, kind ":" normalised value).
CREATE TABLE portal_charge_ids (
    uin  TEXT NOT NULL REFERENCES portal_charges (uin) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    PRIMARY KEY (uin, hash)
);
CREATE INDEX portal_charge_ids_hash ON portal_charge_ids (hash);

-- Payments of charges. id is the acquirer's OrderID. At most one active
-- (new or pending) payment per charge: the partial unique index is what
-- makes twenty concurrent «Оплатить» one payment. needs_refund marks money
-- taken for a charge that another payment had already paid (or that was
-- cancelled meanwhile): never lost silently.
CREATE TABLE portal_payments (
    id               TEXT PRIMARY KEY,
    uin              TEXT NOT NULL REFERENCES portal_charges (uin),
    subject          TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    discounted       BOOLEAN NOT NULL DEFAULT FALSE,
    status           TEXT NOT NULL,
    acquirer_id      TEXT NOT NULL DEFAULT '',
    confirmation_url TEXT NOT NULL DEFAULT '',
    card             TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    needs_refund     BOOLEAN NOT NULL DEFAULT FALSE,
    refunded         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    captured_at      BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX portal_payments_active ON portal_payments (uin) WHERE status IN ('new', 'pending');
CREATE INDEX portal_payments_subject ON portal_payments (subject, created_at DESC);
CREATE INDEX portal_payments_status ON portal_payments (status, updated_at);

-- Refunds, by the agency's refund id (the idempotence key at the acquirer
-- too). A pending refund has its amount reserved in portal_payments.refunded.
CREATE TABLE portal_refunds (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES portal_payments (id),
    uin         TEXT NOT NULL,
    agency      TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    status      TEXT NOT NULL,
    acquirer_id TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX portal_refunds_payment ON portal_refunds (payment_id);

-- «Мои документы»: a citizen's driving licences and vehicle registration
-- certificates, for matching charges: the keyed hash for lookup, the value
-- sealed for display. One document once per citizen.
CREATE TABLE portal_documents (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    value_enc  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (subject, hash)
);
