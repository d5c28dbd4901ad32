-- WebAuthn credentials (passkeys and security keys) and the challenges of
-- ceremonies in progress (package idp/passkey).

-- One row per registered credential. id is the credential ID the
-- authenticator chose (globally unique: a second registration of the same
-- ID is refused); public_key is its COSE key. sign_count is the newest
-- signature counter seen, advanced only by a compare-and-swap, so that two
-- replicas verifying assertions at once cannot move it back. clone_warning
-- marks a credential whose counter went backwards (possibly cloned): it is
-- refused from then on. transports is a space-separated list. Times are
-- Unix microseconds.
CREATE TABLE passkeys (
    id              BYTEA PRIMARY KEY,
    account_id      UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    public_key      BYTEA NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    transports      TEXT NOT NULL DEFAULT '',
    aaguid          BYTEA,
    attachment      TEXT NOT NULL DEFAULT '',
    attestation     TEXT NOT NULL DEFAULT '',
    user_verified   BOOLEAN NOT NULL DEFAULT FALSE,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
    clone_warning   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);

-- Challenges of registration and sign-in ceremonies, so that any replica
-- can finish a ceremony another began. The row is found by the SHA-256 of
-- the challenge (which comes back inside clientDataJSON) and deleted by the
-- statement that reads it: a challenge is used at most once. session_data
-- is go-webauthn's SessionData as JSON; account_id is NULL for a
-- discoverable (username-less) sign-in.
CREATE TABLE passkey_challenges (
    challenge_hash BYTEA PRIMARY KEY,
    purpose        TEXT NOT NULL,
    account_id     UUID REFERENCES accounts (id) ON DELETE CASCADE,
    session_data   TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
