-- Banks (verification/bank): upstream OpenID providers a citizen signs in
-- to so that the bank vouches for their identity. A bank's configuration
-- is one JSON document (names, issuer, client id, scopes, claim mapping,
-- vouched fields); no secret is stored, only the paths of the files that
-- hold them.
CREATE TABLE banks (
    id         TEXT PRIMARY KEY,
    config     TEXT NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One authorization request in flight: the key is the SHA-256 of the state
-- sent to the bank (the state itself is never stored); the nonce and the
-- PKCE verifier are sealed with the flow id as associated data. A flow is
-- consumed by deleting it, so a replayed callback finds nothing.
CREATE TABLE bank_flows (
    id          TEXT PRIMARY KEY,
    bank_id     TEXT NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    account_id  UUID REFERENCES accounts (id) ON DELETE CASCADE,
    data        TEXT NOT NULL DEFAULT '',
    secrets_enc BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX bank_flows_expires ON bank_flows (expires_at);
CREATE INDEX bank_flows_account ON bank_flows (account_id);

-- A bank identity (the bank and its subject) linked to an account.
CREATE TABLE bank_links (
    bank_id      TEXT NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    linked_at    BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, subject)
);
CREATE INDEX bank_links_account ON bank_links (account_id);
