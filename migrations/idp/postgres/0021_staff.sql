-- Staff (idp/staff): organisations — service centres (МФЦ), post offices,
-- pension-fund offices, agencies, support — and the roles ordinary
-- accounts hold in them. Every role belongs to one organisation of a
-- kind that has it (idp/staff.Role.Fits). Times are Unix microseconds.
CREATE TABLE orgs (
    code       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name_ru    TEXT NOT NULL,
    name_en    TEXT NOT NULL DEFAULT '',
    region     TEXT NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    hours      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orgs_region ON orgs (region, kind);

CREATE TABLE staff_roles (
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    org_code   TEXT NOT NULL REFERENCES orgs (code),
    granted_by TEXT NOT NULL DEFAULT '',
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, role, org_code)
);
CREATE INDEX staff_roles_org ON staff_roles (org_code);
