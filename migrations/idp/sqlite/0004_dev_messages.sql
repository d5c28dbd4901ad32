-- Messages caught by the dev message sink (package idp/message): in dev mode
-- SMS and e-mails are stored here instead of being delivered, so that the
-- dev page shows them whichever replica sent them. Only the newest 500 are
-- kept; production mode never writes here.
CREATE TABLE dev_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    body_text  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dev_messages_recipient ON dev_messages (recipient, kind, id);
