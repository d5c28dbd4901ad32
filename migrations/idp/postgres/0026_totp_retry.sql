-- The attempt (a hash of the second-factor flow's token) that used the
-- authenticator's last step: the same sign-in retrying the same code after
-- an answer it did not get (a database blip, an exhausted pool) is a retry,
-- not a replay (idp/totp.Store.VerifyFor).
ALTER TABLE totp_secrets ADD COLUMN used_by BYTEA;
