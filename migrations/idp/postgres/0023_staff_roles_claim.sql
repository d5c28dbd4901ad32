-- Clients that receive the account's staff roles (idp/staff) as the
-- gosid_roles claim; only first-party clients (idp/client validates it).
ALTER TABLE clients ADD COLUMN staff_roles BOOLEAN NOT NULL DEFAULT FALSE;
