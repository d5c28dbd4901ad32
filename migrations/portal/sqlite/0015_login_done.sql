-- When a sign-in's session opened (microseconds). The row is kept, used
-- up, until it expires: a callback sent again after its answer was lost
-- (a replica gone while answering; a browser or a balancer resends a GET)
-- starts the sign-in again, answered from the provider's session, instead
-- of «Не удалось войти».
ALTER TABLE portal_logins ADD COLUMN done_at INTEGER;
