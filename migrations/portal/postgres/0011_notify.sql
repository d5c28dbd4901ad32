-- Notifications (portal/notify): what the citizen wants to be told of and
-- how, what reached them, and news of categories they subscribed to.

-- Inbox: the event a notice is of (its row in the settings matrix), an
-- urgent notice ignores quiet hours, archived notices leave the inbox.
ALTER TABLE portal_notices ADD COLUMN event TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_notices ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE portal_notices ADD COLUMN archived_at BIGINT;
CREATE INDEX portal_notices_unread ON portal_notices (subject) WHERE read_at IS NULL AND archived_at IS NULL;

-- The citizen's choices that differ from the defaults of the matrix of
-- events × channels (an absent row is the default), and their time zone
-- for quiet hours (none: Moscow).
CREATE TABLE portal_notify_prefs (
    subject TEXT NOT NULL,
    event   TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (subject, event, channel)
);
CREATE TABLE portal_notify_settings (
    subject    TEXT PRIMARY KEY,
    tz         TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Subscriptions to categories of news; a broadcast reads them in key
-- order, a page at a time.
CREATE TABLE portal_subscriptions (
    category   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (category, subject)
);
CREATE INDEX portal_subscriptions_subject ON portal_subscriptions (subject);

-- One row per notice and channel: its delivery status, shown on the
-- message. A job sends a row whose status is not final; "sending" is
-- written (and committed) before the gateway is called, so that a retry
-- after a crash knows it may have been sent and passes the same dedupe key.
CREATE TABLE portal_deliveries (
    notice_id  TEXT NOT NULL REFERENCES portal_notices (id) ON DELETE CASCADE,
    channel    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    until      BIGINT,
    updated_at BIGINT NOT NULL,
    sent_at    BIGINT,
    PRIMARY KEY (notice_id, channel)
);
-- Per-citizen rate limits count what was sent on a channel lately.
CREATE INDEX portal_deliveries_sent ON portal_deliveries (subject, channel, sent_at);

-- Web push subscriptions of the citizen's browsers: the endpoint and keys
-- sealed (an endpoint is a capability to push), found by a keyed hash.
CREATE TABLE portal_push_subscriptions (
    id            TEXT PRIMARY KEY,
    subject       TEXT NOT NULL,
    endpoint_hash BYTEA NOT NULL UNIQUE,
    data_enc      BYTEA NOT NULL,
    user_agent    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX portal_push_subscriptions_subject ON portal_push_subscriptions (subject);

-- News sent by an administrator to a category's subscribers, worked a page
-- of subscribers at a time on the bulk queue; cursor is the last subject
-- done, so a page job that runs twice does nothing twice.
CREATE TABLE portal_broadcasts (
    id          TEXT PRIMARY KEY,
    category    TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    cursor      TEXT NOT NULL DEFAULT '',
    total       BIGINT NOT NULL,
    done        BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
