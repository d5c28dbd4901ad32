// Package desk is identity confirmation in person: the citizen's
// confirmation code and the operators' desk at service centres (МФЦ),
// post offices and pension-fund offices (СФР).
//
// The citizen (an account below confirmed) chooses a region on
// /account/confirm/desk, sees its offices (name, address, hours) and gets
// a code: 8 characters of Alphabet (no 0/O/1/I/L), shown in two groups
// and as a QR code, valid CodeTTL (30 days), one live code per account,
// cancellable. The code is stored as a keyed HMAC (the lookup index the
// desk's search uses) and sealed (keys.Manager) so that its owner can see
// it again; sealing rather than deriving it keeps one secret per code
// and lets the key rotation of every other sealed field cover it.
//
// The desk (/desk, staff.Gate: operator or supervisor, strong sign-in,
// confirmed account, 15-minute idle) finds the citizen by code (typed,
// case- and separator-insensitive, or scanned with BarcodeDetector where
// the browser has one) or by a verified SNILS and the birth date. The
// citizen's page shows the data unmasked; each view is an operation and
// an activity-log entry of the citizen with the operator and office as
// actor, written before the page. An operator never acts on their own
// account.
//
// Confirming needs the registries' word first: the account must be at
// least standard with nothing waiting (no pending change, no check in
// progress). A passport field corrected from the original becomes a
// pending change (or the data of an unverified account) and starts a
// registry check in the same transaction; the confirmation waits for
// the check. Then «Подтвердить личность» (passport ticked) records
// evidence (method operator, verifier "operator" org/account, document
// passport, level confirmed) through assurance.Verify, with the
// operation and the code closed in the same transaction, and tells the
// citizen. A refusal (reason from Reasons, free text) is an operation
// the citizen is told of and sees on the code page; the code stays live
// so that they can come back with the documents.
//
// Supervisors see their office's operations per operator and day
// (/desk/reports) and download them as CSV for Excel.
//
// Routes (desk.go):
//
//	GET  /account/confirm/desk                   the citizen: offices of a region, the code (QR)
//	POST /account/confirm/desk                   get a code
//	POST /account/confirm/desk/cancel            cancel it
//	GET  /desk                                   the desk: find a citizen
//	POST /desk/find                              by code, or by verified SNILS and birth date
//	GET  /desk/citizen/{id}                      the citizen's data (a logged view)
//	POST /desk/citizen/{id}/confirm              confirm the identity (passport seen)
//	POST /desk/citizen/{id}/refuse               refuse, with the reason
//	POST /desk/citizen/{id}/correct              correct passport fields from the original
//	POST /desk/citizen/{id}/check                start the registry check of the corrected data
//	GET  /desk/reports                           the office's confirmations (supervisors)
//	GET  /desk/reports.csv                       the same as CSV
//	GET  /static/desk/                           the desk's script and style
package desk
