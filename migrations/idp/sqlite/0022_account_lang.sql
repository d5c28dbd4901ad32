-- The language of an account's latest sign-in (idp/account Account.Lang):
-- notices sent without a request (a registry check's outcome, a bank's
-- confirmation) are written in it.
ALTER TABLE accounts ADD COLUMN lang TEXT NOT NULL DEFAULT 'ru';
