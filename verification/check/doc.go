// Package check runs a citizen's person data past the state registries —
// the SNILS against the pension fund (СФР), the passport against the
// interior ministry (МВД), the INN against the tax service (ФНС) — and,
// when they confirm it, records the evidence that raises the account to
// standard through idp/assurance.
//
// A check is a row (verification_checks) and a job (internal/jobs),
// written in one transaction: Queue inside the caller's (the account
// centre saving the data), Start in its own. Its life:
//
//	pending ──all confirmed──▶ confirmed   (evidence per registry, level standard, data applied)
//	   │ ──a mismatch, not found, invalid, SNILS verified elsewhere──▶ rejected (nothing applied)
//	   │ ──registries unavailable past the deadline──▶ unavailable (the citizen may resubmit)
//	   └ ──a newer submission──▶ superseded
//
// The worker (Service.Run) asks each registry in turn with a request id
// that is the check's id and the registry's name, so that a retry is the
// same question to an idempotent gateway; each answer is kept (sealed) as
// it comes, so a retried or rescued job never asks a registry twice for
// what it already answered. "Unavailable" fails the job, which the queue
// retries with back-off until the deadline. The end of a check is a
// compare-and-swap on its status inside the same transaction as the
// evidence (assurance.Verification.Apply): two replicas that ran one check
// apply it once. The citizen is told by SMS/e-mail when it ends (at least
// once: the notice is marked sent after it went).
//
// A registry that reports invalid the passport an account was verified
// with (a recheck: `gosid verification recheck`) lowers the level to
// simplified (assurance.Service.Lower) with an activity-log entry and a
// notice.
package check
