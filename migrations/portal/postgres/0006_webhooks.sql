-- Agencies' webhooks (portal/webhooks.go): where an agency's system wants
-- to hear of new applications and of citizens' actions, and the secret
-- that signs each delivery (sealed), set by the agency through its API.
CREATE TABLE portal_agencies (
    code        TEXT PRIMARY KEY,
    webhook_url TEXT NOT NULL,
    secret_enc  BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Every delivery, in the agency's delivery log: enqueued as a job in the
-- transaction of the change it tells of, retried with back-off.
CREATE TABLE portal_webhook_deliveries (
    id             TEXT PRIMARY KEY,
    agency         TEXT NOT NULL,
    event          TEXT NOT NULL,
    application_id TEXT NOT NULL,
    status         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_attempt   BIGINT,
    last_status    INTEGER,
    last_error     TEXT NOT NULL DEFAULT '',
    delivered_at   BIGINT
);
CREATE INDEX portal_webhook_deliveries_agency ON portal_webhook_deliveries (agency, created_at DESC);
