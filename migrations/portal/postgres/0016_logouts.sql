-- A sign-out's ID token hint (sealed), kept a few minutes under the hash
-- of the session's cookie: a sign-out sent again after its answer was lost
-- (a replica gone while answering) finds the session ended but still asks
-- the provider to end its session with the hint, instead of a hint-less
-- request that the provider must confirm with the citizen.
CREATE TABLE portal_logouts (
    id_hash    BYTEA PRIMARY KEY,
    hint_enc   BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_logouts_expires ON portal_logouts (expires_at);
