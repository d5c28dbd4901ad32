-- Look-ups by SSO session (idp/oidc backchannel.go): signing out finds the
-- token families and the clients of the session, to revoke them and to
-- send back-channel logout tokens. Without these indexes each sign-out
-- read every authorization request and every refresh token: at a million
-- live refresh tokens the scale test's sign-out p99 grew with the table
-- (README, Scale).
CREATE INDEX oidc_auth_requests_session ON oidc_auth_requests (session_id);
CREATE INDEX oidc_refresh_tokens_session ON oidc_refresh_tokens (session_id);
