// Package session keeps citizens' single sign-on sessions on the server, in
// the sessions table, so that any replica can serve any request and ending a
// session takes effect at once everywhere: no replica caches a session.
//
// # Cookie
//
// The browser holds one cookie, gosid_session by default, whose value is a
// random token (32 bytes, base64url). Only the token's SHA-256 is stored; a
// leaked database row does not let anyone sign in. The cookie is HttpOnly,
// SameSite=Lax (sign-in redirects from relying parties are top-level GETs,
// which Lax allows), Path=/, without Domain, and its Max-Age and Expires end
// with the session's absolute lifetime. When the public URL is https it is
// Secure and named __Host-gosid_session (web.CookieName), so that browsers
// take it only from this host over HTTPS: a sibling subdomain cannot plant a
// session of its choosing. Each session
// also has a separate random public ID that the account centre shows, lists
// and ends sessions by; the token never leaves the cookie.
//
// Start always issues a fresh token and ends the session of any cookie the
// browser presented, so a token planted before sign-in (session fixation) is
// worth nothing after it.
//
// # Expiry
//
// A session ends at the first of:
//
//   - its absolute lifetime (Config.Lifetime, 12 h) after creation, which
//     activity never extends;
//   - its idle deadline (Config.IdleTimeout, 30 min), which each Lookup slides
//     forward, never beyond the absolute end;
//   - End, EndAll or SignOut, which set ended_at; every replica sees it on
//     its next Lookup.
//
// Lookup returns sqldb.ErrNotFound for an unknown or ended session and
// sqldb.ErrExpired for an idle or absolutely expired one, so pages can say
// "your session has expired" instead of nothing.
//
// To spare the database, Lookup writes last_seen_at and idle_until at most
// once per Config.TouchEvery (1 min) per session; the idle deadline may
// therefore fall up to TouchEvery earlier than IdleTimeout after the last
// request. The write is a conditional UPDATE that only moves the deadline
// forward, so replicas racing on one session neither fail nor move it back.
//
// Sweep deletes rows that were ended, or whose absolute lifetime ended, more
// than Config.Retention ago; until then Lookup can still tell "expired" from
// "unknown". Run it periodically on any one replica (running it on several is
// harmless).
//
// The session records the authentication methods (RFC 8176 amr values) and
// the time of the latest authentication; AddAuthentication merges a step-up
// or a re-authentication into them. The assurance level (acr) is not stored
// here: it is the account's level when a token is issued.
//
// # Recent authentication
//
// Sensitive changes need an authentication at most Reauth.MaxAge (5 min)
// old: Fresh is that one rule, on AuthTime, and Reauth.Require sends a
// stale session to the re-authentication page (ReauthPath) with the form's
// page to return to.
package session
