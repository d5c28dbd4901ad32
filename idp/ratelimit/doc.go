// Package ratelimit keeps rate limits and caps in the database, so that
// every replica sees the same counters.
//
// A Rule names a limit: at most Limit admitted hits per key in any interval
// of length Window (a sliding log, not fixed windows: there is no boundary
// at which a client may fire twice the limit in quick succession, and a hit
// ages out exactly Window after it was admitted).
//
// The state of one key, as Allow moves it:
//
//	no row ──Allow──▶ logging (n admitted hits younger than Window)
//	logging, n < Limit  ──Allow──▶ ok, hit logged (n+1)
//	logging, n = Limit  ──Allow──▶ refused, nothing logged; retryAfter is
//	                               when the oldest counted hit ages out
//	logging ──time──▶ hits older than Window no longer count
//	any ──Reset──▶ no row          any expired ──Sweep──▶ rows deleted
//
// Refused hits are not logged, so hammering a limit does not extend it and
// a key never holds more than Limit hit rows. Callers that want failures
// (not attempts) counted call Allow on failure and Peek before trying.
//
// Atomicity without FOR UPDATE: Allow first upserts the key's row in
// rate_limit_keys. On PostgreSQL the upsert takes the row's lock until
// commit, so Allow calls on one key are serialised and the count read next
// (a new statement, a new snapshot under READ COMMITTED) includes every hit
// committed before; under stricter isolation the conflict surfaces as a
// serialization failure that sqldb.InTx retries. SQLite transactions begin
// IMMEDIATE and are serialised anyway. N racing hits on a limit of L
// therefore admit exactly L.
//
// Keys may be personal data (IPs, phone numbers, logins): only
// SHA-256(rule name || 0x00 || key) is stored. Plain SHA-256 of a phone
// number can be reversed by enumeration, so callers holding a keyed blind
// index (HMAC) should pass that as the key instead.
package ratelimit
