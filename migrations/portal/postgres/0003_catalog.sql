-- The catalogue of services (portal/catalog): each service's definition as
-- JSON, as imported from YAML and checked at import. Times are Unix
-- microseconds.
CREATE TABLE portal_services (
    id         TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    category   TEXT NOT NULL,
    agency     TEXT NOT NULL,
    -- The catalogue version of the import that last wrote the service.
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX portal_services_category ON portal_services (category, id);
CREATE INDEX portal_services_agency ON portal_services (agency, id);

-- One row: the catalogue's version, bumped in the transaction of every
-- import, so that each replica's search index sees a change by reading it
-- (at most once a second).
CREATE TABLE portal_catalog_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO portal_catalog_version (id, version, updated_at) VALUES (1, 0, 0);
