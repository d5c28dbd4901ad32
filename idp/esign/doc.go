// Package esign is sign-in with a qualified electronic signature
// certificate («Войти с электронной подписью») and the binding of
// certificates to accounts.
//
// Routes (Handler.Routes):
//
//	GET  /login/esign                 a one-time challenge (random, 5 minutes, bound to this browser by a
//	                                  flow cookie) and a form for its detached CMS signature
//	GET  /login/esign/challenge.txt   the challenge as a file, to sign byte for byte
//	POST /login/esign                 the signature (pasted or uploaded; DER, PEM or base64): the
//	                                  challenge is spent, then signature, chain to the trust list,
//	                                  validity, key usage and revocation are checked; the SNILS of
//	                                  the certificate finds the account whose SNILS is VERIFIED
//	                                  (never one that only claims it); the certificate is bound;
//	                                  the session's amr is ["sc","mfa"]; a qualified certificate
//	                                  issued to the account's surname and given name confirms the
//	                                  account's identity (level confirmed)
//	GET  /account/certificates        the bound certificates: subject, issuer, serial, expiry, state
//	GET  /account/certificates/challenge.txt   the binding's challenge as a file
//	POST /account/certificates        bind one more: a signature over a fresh challenge; the SNILS
//	                                  must be the account's verified one, or, for an account
//	                                  without one, the name must be the account's (the
//	                                  certificate then verifies the SNILS)
//	POST /account/certificates/remove   form: the certificate; a stale session re-authenticates first
//
// No certificate is ever trusted because it is bound: every sign-in checks
// it again, so an expired or revoked certificate stops working at once.
// When no account has the certificate's SNILS verified, the citizen is
// offered a registration that carries the certificate's proof (proof.go):
// a SNILS another account merely claims is then verified for the holder and
// the claim is dropped, its owner told. A SNILS typed by a citizen never
// finds, binds or confirms anything.
package esign
