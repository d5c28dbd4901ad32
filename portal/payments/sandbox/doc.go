// Package sandbox is the sandbox payment acquirer of the embedded
// default: a stand-in for the bank that takes the portal's card payments,
// speaking the same JSON API and sending the same signed notifications as
// the real one (see package acquirer for the protocol), so that the
// portal's payments can be tried, and tested, end to end without a bank.
//
// Routes, under Config.Prefix:
//
//	POST /v1/payments, GET /v1/payments/{id}, POST /v1/refunds   the API (HTTP Basic)
//	GET  /pay/{id}            the card form (or the finished payment's page)
//	POST /pay/{id}            the card is checked (Luhn, expiry, CVC) and the test card's scenario runs
//	GET  /pay/{id}/confirm    the one-time code page «Подтверждение платежа» (like 3-D Secure)
//	POST /pay/{id}/confirm    the code: right → succeeded; 3 wrong → declined (authentication_failed)
//	POST /pay/{id}/cancel     «Отменить»: declined (cancelled)
//	GET  /static/sandbox.css
//
// A payment is pending until the citizen finishes; then the browser is
// sent (303) to the payment's return_url and a notification is POSTed to
// its notify_url in the background, retried with doubling pauses until a
// 2xx or Config.Attempts. The test cards (listed on the page):
//
//	4111 1111 1111 1111  succeeds (any other valid number does too)
//	4000 0000 0000 0002  declined, insufficient_funds
//	4000 0000 0000 3220  asks for the one-time code (shown on the page)
//	4000 0000 0000 0077  succeeds; notified after Config.NotifyDelay, never if it is zero
//	4000 0000 0000 0119  succeeds; the notification is delivered twice (same id)
//
// A delayed card followed by a refund gives the out-of-order case: the
// refund's notification arrives before the payment's.
//
// State lives in memory behind a mutex and is lost on restart, unlike
// everything of Gosid's own, which lives in the database: the sandbox
// stands in for an outside party, runs in one process in development only,
// and the portal must anyway survive an acquirer that forgets (its
// payments then stay pending until polling finds them unknown). Card
// numbers are never kept or logged: only the masked form (first six and
// last four digits) is stored. The payment pages are Russian first
// (?lang=en for English), need no JavaScript, and their forms are guarded
// against cross-origin posts (webui.Protect).
package sandbox
