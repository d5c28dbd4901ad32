// Package profile is the signed-in citizen's account centre: the overview,
// the optional documents, contacts, password, second factors, sessions,
// the sites that have access, the sign-in history and activity log, the
// personal-data export and the deletion of the account. Documents and
// contacts a citizen types are claims: they are stored unverified, and only
// evidence (idp/assurance) raises the level.
//
//	GET  /{$}                                → /account
//	GET  /account                            overview: name, level, contacts and documents (masked)
//	GET  /account/details                    the name and optional documents, current values shown (numbers masked)
//	POST /account/details                    save what was edited (details.go); offered right after registration and later
//	POST /account/details/pending/cancel     withdraw document changes still waiting for verification
//	GET  /account/contacts/{kind}            change the phone or e-mail (kind: phone, email)
//	POST /account/contacts/{kind}            the new contact: a code is sent to it
//	GET  /account/contacts/{kind}/code       the code page (masked destination)
//	POST /account/contacts/{kind}/code       check the code and change the contact
//	POST /account/contacts/{kind}/resend     a new code after the cool-down
//	GET  /account/undo                       «Это был не я»: the link sent to the previous contact
//	POST /account/undo                       restore it, end every session, suspend password sign-in
//	GET  /account/password                   the password form
//	POST /account/password                   change it: the current one, the policy, other sessions end
//	GET  /account/security                   two-step verification, remembered devices, new-device notices
//	POST /account/security/totp              start enrolling an authenticator app → its step
//	GET  /account/security/totp              the step: QR code and key
//	GET/POST /account/security/totp/confirm  confirm it with a code → the backup codes
//	POST /account/security/sms               start SMS codes as the second factor → its step
//	GET  /account/security/sms               the step: the code form
//	GET/POST /account/security/sms/confirm   confirm with the code sent → the backup codes
//	GET/POST /account/security/send          a code to confirm turning the second factor off → its step
//	GET  /account/security/disable           the step: the form, with the code sent
//	POST /account/security/disable           turn the second factor off
//	GET/POST /account/security/backup        new backup codes (the old ones stop working) → the codes
//	GET  /account/security/codes             the new backup codes, until the citizen leaves
//	GET  /account/security/codes.txt         the same as a text file
//	GET/POST /account/security/settings      notices of sign-ins from new devices; the idle timeout
//	GET  /account/sessions                   signed-in devices and browsers
//	POST /account/sessions/end               end one session or all others
//	GET  /account/apps                       sites with access to the account and what they see
//	GET  /account/apps?revoke={client}       asks to confirm withdrawing that site's access
//	POST /account/apps/revoke                withdraw it once confirmed (confirm=yes; its tokens stop working)
//	GET  /account/history                    sign-in and security events
//	GET  /account/activity                   the activity log: who changed what, when
//	GET  /account/activity.csv               the same as CSV
//	GET  /account/data                       personal data: export and deletion
//	GET  /account/export.json                everything stored about the account, as JSON
//	POST /account/delete/start               a code (or the authenticator app) to confirm deletion → its step
//	GET  /account/delete/start               the step: the code form
//	GET/POST /account/delete                 request deletion: erased after the grace period
//	GET  /static/codes.js                    the backup codes' download and print buttons (with /static/codes-print.css)
//	GET  /static/codes-print.css             the print stylesheet: only the codes
//	GET  /account/deleted                    the deletion is scheduled; signing in cancels it
//
// Sensitive changes — a phone or e-mail, the password, second factors and
// backup codes, deletion — need a session whose latest authentication is
// at most Deps.Reauth.MaxAge old (5 min). A stale one changes nothing and
// is sent (303) to the re-authentication page (session.ReauthPath, served
// by idp/login) with ?next= the form's page, where it comes back to. A
// contact change sends the previous contact an «Это был не я» link
// (undo.go). Changes of the account are written with their activity-log
// entry in one transaction (Deps.Activity); sign-ins and security events
// go to the event history (Deps.Events).
//
// Multi-step pages (security.go, deletestep.go) are post/redirect/get: the
// step lives in a flow (idp/flow, sealed at rest) and its page shows it on
// GET, so that a reload or the language switch keeps it; a GET of a
// POST-only address goes to its step's page.
package profile
