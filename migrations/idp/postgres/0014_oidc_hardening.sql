-- Hardening of the OpenID provider (idp/client, idp/oidc; issue 11).

-- PKCE (S256) is required of every client; an operator may let a legacy
-- confidential client go without it ('optional'), never a public one
-- (idp/client.Validate). Clients registered before this migration are
-- required to use it too.
ALTER TABLE clients ADD COLUMN pkce TEXT NOT NULL DEFAULT 'required';
-- The client's ID tokens carry the personal claims of the consented scopes
-- (by default they come only from userinfo, or by the claims parameter).
ALTER TABLE clients ADD COLUMN id_token_claims BOOLEAN NOT NULL DEFAULT FALSE;

-- The generation of the clients table: one row, bumped in the transaction
-- of every client write, so that each replica's client cache notices any
-- change by reading one number (idp/client.Cache).
CREATE TABLE client_generation (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    gen BIGINT NOT NULL
);
INSERT INTO client_generation (id, gen) VALUES (1, 0);

-- The personal claims that the authorization request's claims parameter
-- asked for in the ID token (space-separated names), kept with the refresh
-- token so that a refreshed ID token carries the same ones.
ALTER TABLE oidc_refresh_tokens ADD COLUMN claims TEXT NOT NULL DEFAULT '';
