// Package flow keeps the state of multi-step browser flows — registration
// (contact → code → name and password), password recovery — in the flows
// table, so that each step may land on a different replica.
//
// # Lifecycle
//
//  1. Begin (or Start) creates a flow of a kind ("registration",
//     "recovery"…) with its first data and a time to live, and sets the
//     cookie gosid_flow_<kind> (__Host-gosid_flow_<kind> on a store made
//     with SecureCookies, for an IdP served over HTTPS) to a random token
//     (32 bytes, base64url).
//     Beginning again on the same browser deletes the previous flow of that
//     kind.
//  2. Each step calls FromRequest (or Load) to get the data and its version,
//     then Save with that version. Save is a compare-and-swap: if another tab
//     or replica saved in between, it fails with sqldb.ErrConflict and the
//     step reloads and decides again. Saving does not extend the time to
//     live; a flow ends at the latest ttl after it began.
//  3. The last step finishes the flow exactly once: Take (which deletes the
//     row and returns the data it held) or Delete, before acting on the
//     result. Of several racing finishes only one succeeds; the others get
//     sqldb.ErrNotFound. Then Clear removes the cookie.
//  4. Sweep deletes expired rows. Until then Load answers sqldb.ErrExpired
//     for them, afterwards sqldb.ErrNotFound; show "start again" for both.
//
// A token of another kind, an unknown token and a malformed one are all
// sqldb.ErrNotFound.
//
// # Storage
//
// The row holds the SHA-256 of the token (never the token), the kind, the
// version and the data: JSON sealed by a Sealer (keys.Manager in
// production, AES-256-GCM) with associated data kind + "|" + hex(token hash),
// so that a sealed blob copied to another flow or kind fails to open. The
// data holds phone numbers, e-mail addresses and names; it is never in clear
// in the database.
package flow
