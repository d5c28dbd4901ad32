// Package totp is the authenticator-app second factor: time-based one-time
// passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), compatible
// with Google Authenticator, Яндекс Ключ and the like.
//
// Enrolment is a small state machine per account, one row in totp_secrets:
//
//	(none) --Begin--> pending --Confirm(valid code)--> active
//	active --Begin--> active + pending --Confirm--> active (new secret)
//	any --Remove--> (none)
//
// Begin makes a fresh 160-bit secret and returns it three ways: base32 for
// manual entry, an otpauth:// URL (issuer "Gosid", the caller's label) and
// that URL as a 256-pixel QR code (PNG). The secret is kept as pending;
// the active secret, if any, stays in force until Confirm proves with a
// first valid code that the app holds the new one. A pending secret is
// confirmable for PendingLifetime; a second Begin replaces it.
//
// Verify accepts a code of the current step or of one step either side
// (clock skew of up to ±30 s), compared in constant time, and never accepts
// a step twice: the row holds last_step, the newest step accepted, and a
// code is accepted only by the compare-and-swap
//
//	UPDATE totp_secrets SET last_step = $step WHERE account_id = $1 AND last_step < $step
//
// so that one code (or an older one after a newer one) is refused as
// ErrReplayed, and of two replicas racing with the same code exactly one
// wins. Confirm records the step of its code the same way, so the code
// typed to confirm cannot sign in afterwards.
//
// Secrets are sealed at rest (Sealer, implemented by *keys.Manager) with
// "totp|" + account id as associated data, so a sealed secret copied to
// another account's row does not open.
//
// Wrong codes are the caller's to count toward the sign-in lock-out; this
// package only reports ErrWrongCode. Codes other than exactly six ASCII
// digits are refused as ErrWrongCode without a database round trip.
package totp
