-- Support requests («Обратная связь», portal/support): a citizen's
-- request to Gosid's support, its conversation and files. subject is the
-- citizen at the identity provider; number (10 digits, unique) is what
-- the citizen quotes. The contact for the answer is sealed (contact_enc);
-- so is every message's text (body_enc). version is the compare-and-swap
-- of every transition (two staff taking one request: one wins). assignee
-- is the support staff member who took it. resolved_at starts the 14 days
-- in which the citizen may reopen it; after them a sweep closes it. Times
-- are Unix microseconds.
CREATE TABLE portal_support_requests (
    id          TEXT PRIMARY KEY,
    number      TEXT NOT NULL UNIQUE,
    subject     TEXT NOT NULL,
    topic       TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    contact_enc BYTEA NOT NULL,
    status      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    assignee    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    resolved_at BIGINT
);
-- The citizen's list (newest change first), the console's queue (oldest
-- first by status) and the sweep (resolved, by resolution time).
CREATE INDEX portal_support_requests_subject ON portal_support_requests (subject, updated_at DESC);
CREATE INDEX portal_support_requests_queue ON portal_support_requests (status, created_at, id);
CREATE INDEX portal_support_requests_resolved ON portal_support_requests (status, resolved_at);

-- The conversation, in order: the citizen's description first, then
-- answers, replies and system lines (reopened, closed).
CREATE TABLE portal_support_messages (
    request_id  TEXT NOT NULL REFERENCES portal_support_requests (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    author_kind TEXT NOT NULL,
    author      TEXT NOT NULL,
    body_enc    BYTEA NOT NULL,
    PRIMARY KEY (request_id, seq)
);

-- Files of a message: encrypted bytes in internal/blob under blob_key;
-- name normalised by portal/upload; content_type is what the content is.
CREATE TABLE portal_support_files (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES portal_support_requests (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    blob_key     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX portal_support_files_request ON portal_support_files (request_id, seq);
