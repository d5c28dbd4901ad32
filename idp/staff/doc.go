// Package staff is the people who confirm identities and process
// applications: organisations (service centres, post offices, pension-fund
// offices, agencies, support) and the roles ordinary accounts hold in
// them — operator and supervisor of an office, officer of an agency,
// support, admin.
//
// A role is held by an account that is at least confirmed; staff pages
// are served only to a session that signed in with a second factor, a
// passkey that verified its user, or a qualified e-signature
// (urn:gosid:ac:mfa), idle for less than IdleTimeout, whose account holds
// a role the page asks for at the time of the request: a revoked role
// loses its pages at the next request (Gate). Grants and revocations are
// in the member's activity log, in the same transaction as the change.
package staff
