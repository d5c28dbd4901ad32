-- The one-time code that confirms an application's submission, sent by
-- SMS (portal/apply.go): only a keyed hash is kept; tries are counted
-- before the comparison; sends are spaced (sent_at) and limited per hour
-- (window_start, sends).
CREATE TABLE portal_codes (
    application_id TEXT PRIMARY KEY REFERENCES portal_applications (id) ON DELETE CASCADE,
    code_hash      BLOB NOT NULL,
    expires_at     BIGINT NOT NULL,
    tries          INTEGER NOT NULL DEFAULT 0,
    sent_at        BIGINT NOT NULL,
    window_start   BIGINT NOT NULL,
    sends          INTEGER NOT NULL DEFAULT 1
);
