// Package check runs a citizen's person data past the state registries —
// the SNILS against the pension fund (СФР), the passport against the
// interior ministry (МВД), the INN against the tax service (ФНС) — and,
// when they confirm it, records the evidence that raises the account to
// standard through idp/assurance.
//
// A check is a row (verification_checks), written in the caller's
// transaction (Queue: the account centre saving the data) or its own
// (Start); the row is its queue entry (drain.go: no job per check). Its
// life:
//
//	pending ──all confirmed──▶ confirmed   (evidence per registry, level standard, data applied)
//	   │ ──a mismatch, not found, invalid, SNILS verified elsewhere──▶ rejected (nothing applied)
//	   │ ──registries unavailable past the deadline──▶ unavailable (the citizen may resubmit)
//	   └ ──a newer submission──▶ superseded
//
// Every replica, while its job queue runs, claims the due checks (a lease
// on due_at; a replica that dies leaves them due again) and asks each
// registry in turn with a request id that is the check's id and the
// registry's name, so that a retry is the same question to an idempotent
// gateway; each answer is kept (sealed) as it comes, so a check taken over
// never asks a registry twice for what it already answered. "Unavailable"
// makes the check due again later, with back-off, until the deadline.
// The end of a check is a compare-and-swap on its status inside the same
// transaction as the evidence (assurance.Service.VerifyAll): two replicas
// that worked one check apply it once. The citizen is told by SMS/e-mail
// when it ends (at least once: the notice is marked sent after it went).
//
// Routes (http.go), in the account centre:
//
//	GET  /account/confirm              where the account's level stands and how to raise it: the data the
//	                                   registries would check (masked) and «Подтвердить данные»; banks, the desk, a letter
//	POST /account/confirm/check        start a check of the current data (at most MaxPerDay a day)
//	GET  /account/confirm/check        the newest check: pending (refresh link; poll.js reloads it),
//	                                   confirmed, rejected with the field to fix, unavailable
//	GET  /account/confirm/check.json   {"status", "waiting"} for poll.js
//	GET  /static/verification/         poll.js and the style (no inline script: the CSP forbids it)
package check
