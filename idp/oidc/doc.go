// Package oidc is Gosid's OpenID provider, built on zitadel/oidc's op
// package: the adapter implements op.Storage over Gosid's stores, and the
// business rules (who may sign in, levels, consent) stay in Gosid's own
// code.
//
// An authorization request goes:
//
//	GET /authorize            op validates the request (client, exact redirect URI, PKCE)
//	                          and stores it; → /authorize/continue?id=…
//	GET /authorize/continue   no usable SSO session (none, max_age exceeded, prompt=login,
//	                          another subject in id_token_hint) → /login?next=… (or
//	                          login_required for prompt=none); level below the client's
//	                          minimum or acr_values → an explanation page (cancel →
//	                          unmet_authentication_requirements); no stored grant for the
//	                          scopes (or prompt=consent) → /authorize/consent; else the code
//	                          goes to the redirect URI with state and iss (RFC 9207)
//	GET/POST /authorize/consent   decision=allow stores the grant; deny → access_denied
//	POST /oauth/token         code (single use, 60 s; spent only when tokens are issued
//	                          for it, so a failed request leaves it usable; a reused
//	                          code revokes what it issued), refresh_token (rotation; a
//	                          rotated token presented again revokes its family),
//	                          client_credentials, device_code
//	/userinfo, /oauth/introspect, /oauth/revoke, /oauth/logout, /oauth/device_authorization
//
// The endpoints that authenticate clients (token, introspection,
// revocation, device authorization) take POST bodies only, authenticate the
// client themselves before op reads anything (clientauth.go: Basic, post,
// private_key_jwt, none for public clients) and answer RFC 6749 JSON
// errors (protocol.go). Token, revocation and userinfo answer CORS for the
// origins of the client's redirect URIs (cors.go). Device codes entered at
// /device are rate-limited per address and per code.
//
// Storage: authorization requests, codes (SHA-256), refresh tokens
// (SHA-256, families), revocations and grants live in the database, so
// every step may land on any replica. Access-token ids carry their family,
// scopes and client, so that userinfo and introspection need no row per
// token; revoking a family or a token id is a row in oidc_revocations.
package oidc
