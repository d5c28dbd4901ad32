-- The tokens a sign-in's code was exchanged for (sealed), kept on the
-- sign-in until its session opens: a callback sent again after a failure
-- that came after the exchange (userinfo or the database not answering)
-- goes on with them, instead of presenting the spent code again, which
-- the provider refuses and answers by revoking what it issued.
ALTER TABLE portal_logins ADD COLUMN tokens_enc BYTEA;
