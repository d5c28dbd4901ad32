-- Notices of bookings and charges as well as of applications: kind says
-- which; application_id is set for applications only; ref is the booking's
-- id or the charge's УИН (the link of the notice); params are what its
-- text needs (JSON), rendered when shown in the page's language.
-- SQLite cannot drop a NOT NULL: the table is rebuilt (nothing refers to it).
CREATE TABLE portal_notices_new (
    id             TEXT PRIMARY KEY,
    subject        TEXT NOT NULL,
    application_id TEXT REFERENCES portal_applications (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    read_at        BIGINT,
    kind           TEXT NOT NULL DEFAULT 'application',
    ref            TEXT NOT NULL DEFAULT '',
    params         TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO portal_notices_new (id, subject, application_id, status, comment, created_at, read_at)
    SELECT id, subject, application_id, status, comment, created_at, read_at FROM portal_notices;
DROP TABLE portal_notices;
ALTER TABLE portal_notices_new RENAME TO portal_notices;
CREATE INDEX portal_notices_subject ON portal_notices (subject, created_at DESC);

-- A booking's notices by the booking: a superseded one is not texted.
CREATE INDEX portal_notices_ref ON portal_notices (ref, created_at);

-- Agencies' webhooks for charges too: payload is the event's object (JSON)
-- for events that are not about an application.
ALTER TABLE portal_webhook_deliveries ADD COLUMN payload TEXT NOT NULL DEFAULT '';
