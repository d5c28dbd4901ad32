// Package payments keeps the state's charges («начисления») that agencies
// post under a УИН, the citizens' payments of them through an acquirer,
// refunds, and the citizen's documents («Мои документы») by which charges
// are matched.
//
// Charges. An agency posts a charge (PostCharge) and may change it while it
// is unpaid, or cancel it; a paid charge never changes. Whom it concerns
// (SNILS, INN, driving licence, СТС) is stored only as keyed HMAC hashes
// for lookup and sealed for display. A charge's days (due, discount until)
// are Moscow days, as the Treasury counts them.
//
//	unpaid ──PostCharge──▶ unpaid (version+1)
//	unpaid ──CancelCharge─▶ cancelled
//	unpaid ──Apply(succeeded)─▶ paid ──ApplyRefund(all back)─▶ refunded
//
// Payments, exactly once. Pay inserts a `new` payment of the amount due at
// that moment; a partial unique index allows one active (new or pending)
// payment per charge, so concurrent presses of «Оплатить» all get the same
// payment. It is created at the acquirer outside the transaction (the
// acquirer is idempotent on our payment id) and becomes `pending` by a
// compare-and-swap on the charge's version, which it bumps: an agency's
// change racing with it fails one side, and a pending charge cannot be
// changed or cancelled until the acquirer settles the payment (acquirers
// decline abandoned payments after their own timeout). The
// acquirer's notifications and reconciliation polls go through Apply,
// where every step is a compare-and-swap on the status in SQL:
//
//	new|pending ──succeeded──▶ succeeded (and the charge unpaid → paid, same tx)
//	new|pending ──declined───▶ declined (the charge may be paid again)
//	declined|expired ──succeeded──▶ succeeded (the acquirer is the truth)
//	succeeded ──anything──▶ unchanged (AlreadyApplied)
//
// A capture for a charge that is already paid or cancelled is kept as
// succeeded with NeedsRefund set: money is never lost silently. A
// notification for an unknown payment is ErrUnknownPayment, one whose
// amount, currency or acquirer id differ is ErrMismatch, and nothing
// changes. OnChargeChange and OnPaymentChange run in the transaction of
// each change, so notices and the agency's webhook exist only if it
// commits.
//
// Refunds are the agency's, idempotent on its refund id; the amount is
// reserved against the payment before the acquirer is asked.
package payments
