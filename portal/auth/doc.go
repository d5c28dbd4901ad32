// Package auth signs citizens in to the portal through Gosid, as any
// relying party would: the portal never reads the identity provider's
// tables and imports nothing of idp; it speaks OpenID Connect over HTTP.
//
// A sign-in is the authorization code flow with PKCE (S256), a nonce and
// a state, the client authenticated by private_key_jwt (RFC 7523) with the
// portal's own key (Key: made by the first replica that starts, sealed in
// portal_keys, published at JWKS for an identity provider that fetches
// it). The flow's secrets wait in portal_logins, keyed by the state's
// hash and used once, so that the callback may reach another replica.
// They hold the hash of the starting browser's binding cookie
// (webui.Binding): a callback that another browser brings — an address an
// attacker sent after signing in as themselves (login CSRF) — redeems
// nothing and starts the sign-in again in that browser.
// The callback checks the authorization response's iss (RFC 9207), redeems
// the code, verifies the ID token (signature by the provider's JWKS,
// issuer, audience, nonce, expiry) and fetches userinfo with the
// verified_claims the portal asks for, and opens a portal session.
//
// A portal session (portal_sessions) is a random cookie whose SHA-256 is
// the row's key; the row holds the provider's subject and session id
// (sid), the level and whether a second factor was used, and, sealed, the
// tokens and the profile. The profile is refreshed from userinfo with the
// refresh token when older than Config.ProfileTTL; a provider that says
// the refresh token is no longer valid ends the session (the citizen was
// signed out there). Sessions end after Config.IdleTimeout without a
// request and Config.SessionTTL at most; a session with staff roles after
// StaffIdleTimeout, and its profile is refreshed after StaffProfileTTL.
//
// Step-up: a page that needs a level or a second factor sends the citizen
// to the provider with acr_values and comes back to the same page
// (Need). Signing out ends the portal session and sends the citizen to
// the provider's end_session_endpoint (RP-initiated logout); a
// back-channel logout token from the provider (BackchannelLogout) ends
// the portal sessions of its sid, or of its subject.
package auth
