// Package sandbox is a small, clearly labelled development OpenID provider
// that plays a bank's ID service («Песочница банка — тестовый банк, не
// настоящий»), so that a newcomer running the embedded default can try
// confirming an identity through a bank with no set-up. It is a fake at the
// edge of the world: development mode only, one process, never production.
//
// Its state (pending authorization requests, codes, access tokens) and its
// RS256 signing key live in the process's memory and are lost on restart;
// that is acceptable here and nowhere else in Gosid, where nothing a request
// needs may live in one process.
//
// Routes, relative to the issuer's path:
//
//	GET  /.well-known/openid-configuration  discovery (code flow, S256 PKCE,
//	                                         client_secret_basic/_post, RFC 9207 iss)
//	GET  /authorize   validates the request and shows the test customers
//	POST /authorize   the chosen customer (or «Отменить») → redirect with
//	                  code, state and iss (or error=access_denied)
//	POST /token       authorization_code grant: one client, PKCE S256
//	GET  /userinfo    the customer's claims for a Bearer access token
//	POST /userinfo
//	GET  /jwks        the public signing key
//
// The flow: GET /authorize checks client_id and redirect_uri first (a bad
// one gets a 400 page, never a redirect), then response_type=code, scope
// with openid, code_challenge with method S256, and prompt (none is refused
// with login_required: there is no session); any of those wrong redirects
// with error=, state and iss (RFC 6749 §4.1.2.1, RFC 9207). A valid request
// is kept for 10 minutes under a random anti-forgery token, put in the
// page's hidden field and bound to the browser by a cookie; the POST must
// carry both, and uses them up. The code it issues is single-use and lives
// 60 seconds; the access token is opaque, random, and lives 5 minutes.
//
// The test customers (Customers) are documented in
// docs/verification.md («The sandbox bank»).
package sandbox
