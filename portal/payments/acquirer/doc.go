// Package acquirer is the portal's side of a payment acquirer (the bank
// that takes card payments for the state's charges): the Client interface
// the portal calls, the types it exchanges, the HTTP adapter of the
// acquirer's JSON API (HTTPClient), and the verification of the acquirer's
// signed notifications (ParseNotification).
//
// # Flow
//
// The portal creates a payment (Create, idempotent on its order id), sends
// the citizen's browser to the confirmation URL (the acquirer's card page),
// and learns the outcome twice over: the acquirer POSTs a signed
// notification to the portal's notify URL, and the portal polls (Payment)
// the payments still pending, since a notification can be late, repeated,
// out of order or lost. Whatever the source, the portal checks the amount
// and currency against its own record before it counts money as paid.
//
// # The JSON API, version 1
//
// Every call authenticates with "Authorization: Basic
// base64(merchant_id:api_key)". Amounts are JSON integers in kopecks.
//
//	POST /v1/payments          Idempotence-Key: <order_id>
//	  {order_id, amount, currency: "RUB", description, return_url, notify_url}
//	  → 201 (new) or 200 (same key again: the same payment)
//	  {id, order_id, status, amount, currency, confirmation_url}
//	GET /v1/payments/{id}
//	  → 200 {id, order_id, status, amount, currency, reason, captured_at, card}
//	POST /v1/refunds           Idempotence-Key: <refund_id>
//	  {refund_id, payment_id, amount}
//	  → 200 {id, refund_id, payment_id, amount, status}
//
// status is pending, succeeded or declined; reason, captured_at and card
// are left out until they have a value: captured_at is RFC 3339 (set when
// succeeded); card is masked (411111******1111); reason is a short
// code (insufficient_funds, cancelled, authentication_failed). Errors are
// {code, message}: 400 bad_request, 401 unauthorized, 404 not_found, 409
// idempotence_conflict (a key reused with another body), 422 refund_exceeds
// or payment_not_succeeded, 5xx when the acquirer fails.
//
// HTTPClient maps a network error, a timeout, 408, 429, 5xx and a malformed
// or mismatched answer to ErrUnavailable (nothing is known: retry later,
// which is safe since every call is idempotent), 404 to ErrNotFound, and
// other 4xx to ErrRejected. It reads at most MaxResponseBytes of an answer
// and never puts the API key, a body or a URL's query into an error.
//
// # Notifications
//
//	POST <notify_url>
//	Acquirer-Signature: t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + raw_body))
//	{id, event, payment: {…as GET /v1/payments/{id}…}}   event payment.succeeded | payment.declined
//	{id, event, refund: {…as POST /v1/refunds…}}         event refund.succeeded
//
// The receiver answers 2xx once it has recorded the notification; anything
// else makes the acquirer retry (with the same id and a fresh signature).
// While the acquirer rotates its secret, the header carries one v1 value
// per secret; ParseNotification accepts the header when any of them
// matches. Bodies are limited to MaxNotificationBytes. Unknown JSON fields
// are ignored (acquirers add fields without a new version); what the
// portal relies on is strict: a known event with the matching object, ids
// present, amounts integers ≥ 0, a three-letter currency, a status that
// agrees with the event.
package acquirer
