// Package passkey is WebAuthn for Gosid (github.com/go-webauthn/webauthn):
// passkeys (discoverable credentials) for passwordless sign-in with user
// verification, security keys and passkeys as a second factor after a
// password, autofill (conditional mediation) on the sign-in page, and the
// account page where citizens list, rename and remove their credentials.
//
// Routes (Handler.Routes):
//
//	POST /passkeys/register/begin    signed in: PublicKeyCredentialCreationOptions (JSON)
//	POST /passkeys/register/finish   signed in: verify and store the new credential
//	POST /login/passkey/begin        PublicKeyCredentialRequestOptions for a discoverable sign-in
//	POST /login/passkey/finish       verify, start the SSO session; ?next= is honoured (webui.SafeNext)
//	GET  /account/passkeys           the list: name, type, added, last used
//	POST /account/passkeys/rename    form: id, name
//	GET  /account/passkeys/remove    ?id=: asks to confirm the removal (a page: works without JavaScript)
//	POST /account/passkeys/remove    form: id (from that page); a stale session goes to re-authenticate first
//	GET  /static/passkey.js          the browser side; pages carry no inline script
//
// The ceremonies answer JSON: the options on begin; {"redirect": url} on a
// successful finish; {"error": code, "message": text, ["redirect": url]} with
// a 4xx status on any refusal, the message in the page language (Russian
// unless the request asks for English). Only a failing database gives a 500;
// whatever a client sends gets a 4xx.
//
// # Ceremonies
//
// A ceremony is two requests, and the two may reach different replicas:
//
//  1. begin: a random 32-byte challenge is created, and go-webauthn's
//     SessionData (the challenge, RP ID, required user verification,
//     allowed credentials) is stored as JSON in passkey_challenges under the
//     SHA-256 of the challenge, with the purpose (register, login,
//     second_factor), the account (none for a discoverable sign-in) and an
//     expiry 5 minutes ahead.
//  2. finish: the response is parsed (malformed → "malformed"); the challenge
//     it carries in clientDataJSON is hashed and its row deleted by the same
//     statement that reads it (DELETE … RETURNING), so a challenge is used at
//     most once however many requests race for it ("challenge" for an unknown
//     or spent one, "expired" past its 5 minutes — a failed attempt spends it
//     too). Then the origin must be the public URL's ("origin"), the
//     authenticator data's RP ID hash that of the public URL's host
//     ("rp_id"), user verification done where required ("user_verification"),
//     and go-webauthn verifies the rest: the ceremony type, the challenge, the
//     signature or attestation, flags ("verification").
//
// Registration requires a resident key and user verification, excludes the
// account's existing credentials, asks for no attestation, and needs a
// session authenticated at most Deps.Reauth.MaxAge (5 min) ago, so that a
// stolen session cannot plant a lasting way in (removal needs the same, so
// that it cannot take the owner's away); a stale session is answered
// "reauth" with the re-authentication page to go to (session.ReauthURL). It stores the credential ID (unique across all
// accounts: "duplicate"), the COSE public key, the signature counter, the
// transports, the AAGUID, the attachment and the backup flags, named
// «Ключ доступа N». At most Config.MaxCredentials (20) per account.
//
// The WebAuthn user handle is the 16 bytes of the account's UUID; a
// discoverable sign-in finds the credential by its ID and requires the user
// handle to be its account's.
//
// # amr
//
// A passkey sign-in starts a session with amr ["hwk", "user"] for a security
// key — a credential that is not backup eligible on a cross-platform
// authenticator — and ["swk", "user"] for every other credential (synced
// passkeys, platform passkeys); see AMR. The account event log gets the
// same methods, space-separated ("hwk user", "swk user"). A second-factor
// check (Service.FinishSecondFactor) returns "hwk" or "swk", plus "user" when
// the authenticator verified the user.
//
// # Pages
//
// The account page /account/passkeys and the sign-in page use
// /static/passkey.js; pages mark their parts with data attributes (the
// script's header lists them) and carry their texts in data-msg-*
// attributes, so no script is inline. On the sign-in page the login input
// has autocomplete="username webauthn" and the script starts a conditional
// (autofill) request when the browser supports one, renewing it before its
// challenge expires, and shows a "sign in with a passkey" button for a modal
// request; both send ?next= on. A refused unknown credential is named in the
// answer so that the script can ask the browser to forget it
// (PublicKeyCredential.signalUnknownCredential).
//
// A passkey sign-in is not subject to the password lock-out (which counts
// wrong passwords), nor followed by the account's TOTP/SMS second factor: a
// passkey with user verification is itself two factors.
//
// # Signature counter
//
// A counter that does not advance (go-webauthn's CloneWarning: the presented
// counter is not above the stored one, unless both are 0 as with most synced
// passkeys) means the credential may have been cloned. The assertion is
// refused ("cloned"), the credential is flagged (clone_warning) and refused
// from then on, the event is logged as a warning and recorded as a denied
// sign-in, and the account page tells the citizen to remove it and register
// again. The counter is advanced by a compare-and-swap, so that two replicas
// verifying assertions at once cannot move it backwards; the loser counts as
// a regression.
package passkey
