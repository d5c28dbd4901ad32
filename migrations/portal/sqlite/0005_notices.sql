-- What the portal keeps of a citizen to tell them of their applications
-- when they are not signed in (portal/notices.go): the contacts and the
-- language of their latest sign-in, sealed.
CREATE TABLE portal_citizens (
    subject     TEXT PRIMARY KEY,
    data_enc    BLOB NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The citizen's inbox in the portal: one notice per status change of an
-- application (the text is rendered when shown, in the page's language).
CREATE TABLE portal_notices (
    id             TEXT PRIMARY KEY,
    subject        TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES portal_applications (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    read_at        BIGINT
);
CREATE INDEX portal_notices_subject ON portal_notices (subject, created_at DESC);
