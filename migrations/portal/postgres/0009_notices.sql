-- Notices of bookings and charges as well as of applications: kind says
-- which; application_id is set for applications only; ref is the booking's
-- id or the charge's УИН (the link of the notice); params are what its
-- text needs (JSON), rendered when shown in the page's language.
ALTER TABLE portal_notices ALTER COLUMN application_id DROP NOT NULL;
ALTER TABLE portal_notices ADD COLUMN kind TEXT NOT NULL DEFAULT 'application';
ALTER TABLE portal_notices ADD COLUMN ref TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_notices ADD COLUMN params TEXT NOT NULL DEFAULT '{}';

-- A booking's notices by the booking: a superseded one is not texted.
CREATE INDEX portal_notices_ref ON portal_notices (ref, created_at);

-- Agencies' webhooks for charges too: payload is the event's object (JSON)
-- for events that are not about an application.
ALTER TABLE portal_webhook_deliveries ADD COLUMN payload TEXT NOT NULL DEFAULT '';
