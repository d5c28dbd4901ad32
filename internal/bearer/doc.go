// Package bearer makes and checks the random bearer tokens of Gosid and
// the portal — session and flow cookies, authorization codes, refresh
// tokens, states, browser bindings — and hashes them for storage: one
// implementation for the identity provider, the web layer and the portal
// (which may not import keys).
package bearer
