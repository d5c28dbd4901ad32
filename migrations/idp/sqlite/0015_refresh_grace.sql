-- A refresh whose commit outcome is unknown to the client (the answer lost
-- in a database or network blip) must not turn its retry into "reuse
-- detected, family revoked". For a few seconds after a rotation the rotated
-- token's row keeps its successor, sealed (AES-256-GCM under the
-- provider's key, the token hash as associated data), so that the retry
-- gets that same successor (idp/oidc). The sweeper clears it afterwards.
ALTER TABLE oidc_refresh_tokens ADD COLUMN successor_enc BLOB;
