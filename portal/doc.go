// Package portal is the citizen portal ("личный кабинет"): a relying party
// of the Gosid identity provider with its own session and tables. It talks to
// the IdP only over HTTP (OpenID Connect and the documented APIs), exactly as
// a third-party site would, and imports none of idp, verification or keys.
//
// For now it serves a landing page that points the citizen to sign-in at the
// IdP; services, applications, appointments and payments follow in later
// issues.
//
// Routes:
//
//	GET /{$}           landing page (Russian, English with ?lang=en or Accept-Language)
//	GET /static/       the stylesheet and the shared static files (internal/webui)
//	GET /healthz       liveness (Handler.Server, the portal's listener)
//
// Pages render through internal/webui with the portal's own layout; any
// other address or method gets the portal's branded error page.
package portal
