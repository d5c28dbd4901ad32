// Package partner is the bank partner API /partner/v1 (docs/partner-api.yaml,
// docs/partners.md): banks confirm the identity of customers who have a
// Gosid account and register accounts for customers who have none.
//
// Routes:
//
//	POST /partner/v1/confirmations       scope partner:confirmations
//	GET  /partner/v1/confirmations/{id}  scope partner:confirmations
//	POST /partner/v1/registrations       scope partner:registrations
//	GET|POST /activate                   the citizen sets a password on a registered account
//	GET|POST /account/dispute            «Это был не я»: undo a bank's confirmation
//
// A call goes: bearer token (idp/oidc AccessToken: 401; a client_credentials
// token of a partner client with the scope, else 403) → the bank's rate
// (idp/ratelimit, 429 + Retry-After) → for POSTs the idempotency row:
//
//	(partner, Idempotency-Key) absent   → inserted pending, committed; this request works
//	pending, same body                  → wait for the answer (poll), then replay it
//	answered, same body                 → replay status, body and Location
//	any, another body                   → 422 idempotency_key_reused
//	pending for over staleAfter         → taken over (its replica died)
//	work failed with 5xx                → row released; a retry works again
//
// A success stores its answer in the transaction that confirms (Verify's),
// so a confirmation and its answer commit together.
//
// The account is found by a verified SNILS only: anyone can type a SNILS
// into their own account, so a claimed one never matches. The bank's data
// are matched and recorded by verification/bank's Confirmer, as a bank
// ID service's are; the partner's own rows ride in its transaction through
// a wrapping Verifier. Every call that touches an account is in its
// activity log (actor: the bank) and every call in
// gosid_partner_requests_total{partner,operation,status}.
//
// The citizen is told (notices.go): of a confirmation right after its
// commit, the dispute row being the durable record that the notice is
// owed until notified_at is set (the sweep sends what is left); of a
// registration by a job enqueued with it.
package partner
