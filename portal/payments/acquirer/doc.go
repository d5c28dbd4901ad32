// Package acquirer is the portal's side of a payment acquirer (the bank
// that takes card payments for the state's charges): the Client interface
// the portal calls, the types it exchanges, the HTTP adapter of the
// acquirer's JSON API, and the verification of the acquirer's signed
// notifications.
package acquirer
