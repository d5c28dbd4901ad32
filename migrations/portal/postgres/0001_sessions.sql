-- The portal's own sign-in state (portal/auth): the portal is a relying
-- party of the identity provider and keeps nothing of its tables. Times
-- are Unix microseconds.

-- A sign-in under way: the state sent to the identity provider (its
-- hash), the PKCE verifier and the nonce (sealed), and where the citizen
-- goes back to. Used once; expires in minutes.
CREATE TABLE portal_logins (
    state_hash BYTEA PRIMARY KEY,
    secret_enc BYTEA NOT NULL,
    return_to  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_logins_expires ON portal_logins (expires_at);

-- A citizen's portal session: the cookie's hash, the identity provider's
-- subject and session id (sid, for back-channel logout), the assurance
-- and the authentication methods of the sign-in, the profile from
-- userinfo and the tokens (sealed), refreshed when stale.
CREATE TABLE portal_sessions (
    id_hash      BYTEA PRIMARY KEY,
    subject      TEXT NOT NULL,
    idp_sid      TEXT NOT NULL,
    acr          TEXT NOT NULL,
    amr          TEXT NOT NULL,
    data_enc     BYTEA NOT NULL,
    profile_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX portal_sessions_sid ON portal_sessions (idp_sid);
CREATE INDEX portal_sessions_subject ON portal_sessions (subject);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);

-- Back-channel logout tokens already acted on (their jti), kept until
-- they could no longer be accepted anyway: a replayed token does nothing.
CREATE TABLE portal_logout_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- The portal's own keys (its private_key_jwt client key), sealed; the
-- first replica to start makes one and every other reads it.
CREATE TABLE portal_keys (
    name       TEXT PRIMARY KEY,
    key_enc    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
