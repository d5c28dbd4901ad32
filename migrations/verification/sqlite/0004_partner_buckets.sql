-- Each bank partner's token bucket for the partner API's rate limit
-- (verification/partner): tokens left at updated_at (microseconds since
-- the epoch), refilled at the configured rate up to the burst. One
-- statement takes a token, so the limit holds across replicas without a
-- transaction held around it.
CREATE TABLE partner_buckets (
    partner    TEXT PRIMARY KEY,
    tokens     REAL NOT NULL,
    updated_at BIGINT NOT NULL
);
