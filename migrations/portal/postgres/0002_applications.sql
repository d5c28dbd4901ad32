-- Applications (portal/applications): a citizen's application for a
-- service, from draft to result. subject is the citizen at the identity
-- provider (the ID token's sub); the form's values are sealed. number is
-- given at submission (10 digits, unique); version is the compare-and-swap
-- of every change, so that of two officers acting at once one wins. Times
-- are Unix microseconds.
CREATE TABLE portal_applications (
    id           TEXT PRIMARY KEY,
    number       TEXT UNIQUE,
    subject      TEXT NOT NULL,
    service_id   TEXT NOT NULL,
    agency       TEXT NOT NULL,
    status       TEXT NOT NULL,
    version      BIGINT NOT NULL,
    data_enc     BYTEA NOT NULL,
    officer      TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    submitted_at BIGINT,
    due_at       BIGINT
);
-- The citizen's list (newest change first) and the agency's queue (oldest
-- submission first, by status).
CREATE INDEX portal_applications_subject ON portal_applications (subject, updated_at DESC);
CREATE INDEX portal_applications_queue ON portal_applications (agency, status, submitted_at, id);

-- What happened to an application, in order: each status it reached, by
-- whom, with the officer's or the citizen's comment.
CREATE TABLE portal_application_events (
    application_id TEXT NOT NULL REFERENCES portal_applications (id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    status         TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor          TEXT NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (application_id, seq)
);

-- Files of an application: the citizen's attachments, the agency's result
-- document and its detached signature. The bytes are encrypted files in
-- internal/blob under blob_key; name is normalised (Latin letters, digits,
-- _ and -); content_type is what the content is, not what the name says.
CREATE TABLE portal_attachments (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES portal_applications (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           BIGINT NOT NULL,
    blob_key       TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX portal_attachments_application ON portal_attachments (application_id, created_at);
