// Package portal is the citizen portal ("личный кабинет"): a relying party
// of the Gosid identity provider with its own session and tables. It talks to
// the IdP only over HTTP (OpenID Connect and the documented APIs), exactly as
// a third-party site would, and imports none of idp, verification or keys.
//
// Citizens sign in through Gosid (portal/auth: code flow with PKCE,
// private_key_jwt, back-channel logout); pages that need a level or a
// second factor send them to Gosid to step up and back (Handler.Page).
// Services, applications, appointments and payments follow.
//
// Routes:
//
//	GET  /{$}                       home: the landing page, or the signed-in citizen's dashboard
//	GET  /login                     sign in at Gosid (?return=/path, ?level=standard|confirmed, ?mfa=1)
//	GET  /auth/callback             the authorization response (portal/auth)
//	POST /logout                    sign out of the portal and of Gosid (RP-initiated logout)
//	POST /auth/backchannel-logout   Gosid's back-channel logout tokens (no cookie; the signed token)
//	GET  /jwks.json                 the portal's client key, for a Gosid that fetches it
//	GET  /profile                   «Мои данные»: the citizen's data from Gosid, verified or not
//	GET  /static/                   the portal's stylesheet and icon
//	GET  /static/gosid.css          the shared stylesheet (internal/webui)
//	GET  /healthz                   liveness (Handler.Server, the portal's listener)
//
// Pages render through internal/webui with the portal's own layout; any
// other address or method gets the portal's branded error page.
package portal
