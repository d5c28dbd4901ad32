// Package oidc is Gosid's OpenID provider, built on zitadel/oidc's op
// package: the adapter implements op.Storage over Gosid's stores, and the
// business rules (who may sign in, levels, consent; a code spent once,
// refresh tokens rotated once, reuse revoking a family: the store's
// redeemCode and refresh) stay in Gosid's own code.
//
// An authorization request goes:
//
//	GET /authorize            Gosid's own endpoint (authorize.go): the client and the exact
//	                          redirect URI (else Gosid's error page), response_mode (query or
//	                          form_post), response type code, PKCE S256 (required unless an
//	                          operator made it optional for a confidential client), the claims
//	                          parameter; the request is stored; → /authorize/continue?id=…
//	GET /authorize/continue   no usable SSO session (none, max_age exceeded, prompt=login,
//	                          another subject in id_token_hint) → /login?next=… (or
//	                          login_required for prompt=none); level below the client's
//	                          minimum or acr_values → an explanation page (cancel →
//	                          unmet_authentication_requirements); no stored grant for the
//	                          scopes (or prompt=consent) → /authorize/consent; else the code
//	                          goes to the redirect URI
//	GET/POST /authorize/consent   decision=allow stores the grant; deny → access_denied
//	POST /oauth/token         code (single use, 60 s; spent only when tokens are issued
//	                          for it, so a failed request leaves it usable; a reused
//	                          code revokes what it issued), refresh_token (rotation; a
//	                          rotated token presented again revokes its family),
//	                          client_credentials, device_code; op parses and validates,
//	                          Gosid makes the tokens and signs each once with the client's
//	                          algorithm, the access token typed at+jwt (tokens.go)
//	/userinfo                 Gosid's own (userinfo.go): RFC 6750 errors, 503 on a store failure
//	/oauth/logout             Gosid's own (logout.go): asks the citizen unless the id_token_hint
//	                          is the session's account; → /oauth/logged-out without a redirect
//	/oauth/introspect, /oauth/revoke, /oauth/device_authorization
//	GET /oauth/logged-out     "you have signed out", when no post_logout_redirect_uri applies
//	GET/POST /device          the device flow's page: the user code, then consent
//	GET /.well-known/openid-configuration   discovery (op's, with Gosid's additions)
//
// The signing keys (jwks_uri, /keys) are served by keys.Manager.JWKSHandler.
//
// Every authorization response, the code and every error, carries state and
// iss (RFC 9207), in the query or in a form_post page that works under the
// CSP. ID tokens hold the protocol claims; personal claims come from
// userinfo, or from the ID token when the claims parameter or the client's
// registration asks (claimsreq.go). verified_claims (OpenID Connect for
// Identity Assurance) come in userinfo and/or the ID token as the claims
// parameter's members ask (vcrequest.go parses the request, vclaims.go
// answers it from the evidence Deps.Evidence reads: only values that
// evidence verified and the account still holds). A session that ends revokes the tokens
// issued in it and, in the same transaction, enqueues a back-channel logout
// job for each client that got tokens in it (SessionEnded, backchannel.go;
// the jobs run on internal/jobs).
//
// The endpoints that authenticate clients (token, introspection,
// revocation, device authorization) take POST bodies only, authenticate the
// client themselves before op reads anything (clientauth.go: Basic, post,
// private_key_jwt, none for public clients) and answer RFC 6749 JSON
// errors (protocol.go). Token, revocation and userinfo answer CORS for the
// origins of the client's redirect URIs (cors.go). Device codes entered at
// /device are rate-limited per address and per code. A private_key_jwt
// client's jwks_uri is cached for five minutes and fetched again at once
// when an assertion names a key it lacks, at most every 30 seconds
// (keyset.go).
//
// Storage (store.go, store_refresh.go, store_device.go, each statement
// and the policy tested on both dialects by store_test.go): authorization
// requests, codes (SHA-256), refresh tokens (SHA-256, families),
// revocations, grants and device codes live in the database, so
// every step may land on any replica. Access-token ids carry their family,
// scopes and client, so that userinfo and introspection need no row per
// token; revoking a family or a token id is a row in oidc_revocations. A
// claims parameter with verified_claims is stored once by content address
// (store_claims.go); access-token ids and refresh rows name it, so that
// userinfo and refreshed grants honour it.
package oidc
