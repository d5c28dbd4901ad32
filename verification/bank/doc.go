// Package bank federates with upstream OpenID providers — banks' ID
// services (Сбер ID, T-ID, ВТБ ID) and any other OpenID provider — as a
// relying party, so that a bank can vouch for a citizen's identity.
//
// A bank is configuration ([Bank], kept by [Store] in the banks table and
// managed with `gosid banks add|list|update|remove` through [Options]). The
// [Connector] runs the authorization code flow with PKCE:
//
//	Begin    discovery (cached for 10 min) → a flow row: SHA-256 of a
//	         random state, the sealed nonce and PKCE verifier, purpose,
//	         account, caller's data, 10 min to live → the bank's
//	         authorization URL
//	(the citizen signs in at the bank, which redirects to Callback)
//	Finish   the flow is deleted (compare-and-swap: a replay finds
//	         nothing) → iss of the response (RFC 9207) → code exchange
//	         (client_secret_basic or private_key_jwt) → ID token verified
//	         (JWKS signature, iss, aud, exp, nonce) → userinfo (same sub)
//	         → claims mapped to Gosid fields and normalised → [Result]
//
// Flow state lives only in the database, so Begin and Finish may run on
// different replicas; discovery documents and key sets are cached per
// process. What the caller does with a Result (matching against the
// account, evidence, links, sign-in) is not this package's business; links
// of bank identities to accounts are stored here ([Store.Link]).
//
// The pages (web.go, signin.go, register.go) use the purposes: Confirm
// raises a signed-in account to confirmed ([Confirmer]); SignIn signs a
// linked identity in (amr "fed", the account's sign-in rules applied by
// idp/login) or, unlinked, offers to link it after a Gosid sign-in or to
// register; Register carries the bank's vouched data into idp/registration
// and records them on the new account ([Confirmer.Registered]). The
// account centre lists and removes links at /account/banks.
//
// Errors wrap one of the package's sentinels: [ErrUnavailable] (the bank is
// down: try later), [ErrRefused] (a protocol failure), [ErrCancelled],
// [ErrUnknownFlow], [ErrUnknownBank]. Logs name the reason, never tokens,
// codes or claims' values.
//
// Routes:
//
//	POST /account/confirm/bank       confirm the signed-in account through a bank (web.go)
//	GET  /bank/callback              the banks' redirect back, every purpose (web.go)
//	POST /login/bank                 sign in with a bank (signin.go)
//	GET  /bank/link                  after a Gosid sign-in: link the bank identity? (signin.go)
//	POST /bank/link                  link it (signin.go)
//	GET  /account/banks              the account's linked banks (signin.go)
//	POST /account/banks/remove       unlink one (signin.go)
//	POST /register/bank              register with the bank's vouched data (register.go)
package bank
