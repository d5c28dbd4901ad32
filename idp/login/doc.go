// Package login is password sign-in and sign-out at /login and /logout.
//
// Routes:
//
//	GET  /login                          the form: login (verified phone, e-mail or SNILS) and password
//	POST /login                          check and sign in
//	GET  /login/2fa                      the second factor (mfa.go): authenticator app, SMS code,
//	                                     backup code, a passkey; "remember this device"
//	POST /login/2fa                      check it and complete the sign-in
//	POST /login/2fa/passkey/begin        WebAuthn options for a passkey as the second factor
//	POST /login/2fa/passkey/finish       verify it and complete the sign-in
//	POST /logout                         end the session
//	GET  /account/reauth                 confirm a stale session before a sensitive change (reauth.go):
//	POST /account/reauth                 the password, or a code, or a passkey, then back to ?next=
//	POST /account/reauth/send            send the code
//	POST /account/reauth/passkey/begin   WebAuthn options for re-authenticating with a passkey
//	POST /account/reauth/passkey/finish  verify it
//
// A sign-in attempt goes through these checks, in order:
//
//  1. the form: both fields present, the login of a recognisable shape;
//  2. rate limits, per client IP and per login, both counting failures in
//     the database so that every replica sees them: over either, the answer
//     is "too many attempts" for known and unknown logins alike;
//  3. the account: an unknown login still costs one argon2id hash (against
//     a dummy) so that timing and answers do not reveal which logins exist;
//  4. the lock-out: while password sign-in is locked, the password is
//     hashed but not counted, and the answer is the same as for a wrong
//     password — the owner learns of the lock-out by SMS or e-mail;
//  5. the password: a wrong one counts a failure; the failure that reaches
//     the limit (3 by default) locks sign-in for 30 minutes and notifies
//     the owner; a right one resets the count, rehashes when the argon2id
//     parameters changed, and starts a session — unless password sign-in
//     is suspended (the owner undid a contact change they had not made):
//     then the answer points to password recovery, which lifts it.
//
// Every attempt is written to the account event log.
package login
