-- Appointments (portal/appointments): places where citizens book visits,
-- their resources (windows, doctors), and the bookings. Times are Unix
-- microseconds (UTC); a place's hours are local to its time zone.

-- A place: week holds the opening intervals per weekday and exceptions the
-- dated holidays and special hours, both as JSON written by the store.
CREATE TABLE portal_appt_places (
    id         TEXT PRIMARY KEY,
    agency     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    region     TEXT NOT NULL,
    address    TEXT NOT NULL,
    phone      TEXT NOT NULL DEFAULT '',
    tz         TEXT NOT NULL,
    week       TEXT NOT NULL,
    exceptions TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX portal_appt_places_region ON portal_appt_places (region, agency);

-- A resource of a place: a window, a desk or a doctor. step is the slot
-- grid in minutes, capacity the seats per grid cell. touched is bumped by
-- every booking onto the resource and by every closure over it, so that a
-- booking and a closure racing each other serialise on this row.
CREATE TABLE portal_appt_resources (
    id        TEXT PRIMARY KEY,
    place_id  TEXT NOT NULL REFERENCES portal_appt_places (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    specialty TEXT NOT NULL DEFAULT '',
    step      INTEGER NOT NULL,
    capacity  INTEGER NOT NULL,
    touched   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX portal_appt_resources_place ON portal_appt_resources (place_id);

-- Which catalogue services a resource serves.
CREATE TABLE portal_appt_resource_services (
    resource_id TEXT NOT NULL REFERENCES portal_appt_resources (id) ON DELETE CASCADE,
    service_id  TEXT NOT NULL,
    PRIMARY KEY (resource_id, service_id)
);
CREATE INDEX portal_appt_resource_services_service ON portal_appt_resource_services (service_id);

-- How long a service takes at a place, in minutes (absent: one step).
CREATE TABLE portal_appt_durations (
    place_id   TEXT NOT NULL REFERENCES portal_appt_places (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,
    minutes    INTEGER NOT NULL,
    PRIMARY KEY (place_id, service_id)
);

-- Exceptional closures announced by the agency: the whole place
-- (resource_id '') or one resource, over [starts_at, ends_at).
CREATE TABLE portal_appt_closures (
    id          TEXT PRIMARY KEY,
    place_id    TEXT NOT NULL REFERENCES portal_appt_places (id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL DEFAULT '',
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX portal_appt_closures_place ON portal_appt_closures (place_id, ends_at);

-- Bookings. At most one active ('booked') booking per citizen and service,
-- enforced by the partial unique index. number is the human booking number.
CREATE TABLE portal_appt_bookings (
    id            TEXT PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    subject       TEXT NOT NULL,
    service_id    TEXT NOT NULL,
    place_id      TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    status        TEXT NOT NULL,
    cancel_reason TEXT NOT NULL DEFAULT '',
    officer       TEXT NOT NULL DEFAULT '',
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX portal_appt_bookings_active ON portal_appt_bookings (subject, service_id) WHERE status = 'booked';
CREATE INDEX portal_appt_bookings_subject ON portal_appt_bookings (subject, starts_at);
CREATE INDEX portal_appt_bookings_place ON portal_appt_bookings (place_id, starts_at);

-- Seats taken: one row per grid cell a booking covers. The primary key is
-- what makes double booking impossible: a seat of a cell is inserted by one
-- booking only, whatever the concurrency or the number of replicas.
CREATE TABLE portal_appt_claims (
    resource_id TEXT NOT NULL,
    cell_start  BIGINT NOT NULL,
    seat        INTEGER NOT NULL,
    booking_id  TEXT NOT NULL REFERENCES portal_appt_bookings (id) ON DELETE CASCADE,
    place_id    TEXT NOT NULL,
    PRIMARY KEY (resource_id, cell_start, seat)
);
CREATE INDEX portal_appt_claims_booking ON portal_appt_claims (booking_id);
CREATE INDEX portal_appt_claims_place ON portal_appt_claims (place_id, cell_start);
