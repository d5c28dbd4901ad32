// Package profile is the signed-in citizen's own pages for now: the account
// overview at /account and the optional documents at /account/details
// (birth date, gender, SNILS, INN, passport), offered right after
// registration and at any time later. They are stored unverified; registry
// checks raise the level later. The account centre (security, sessions,
// data sharing, activity) grows here.
//
//	GET  /               → /account
//	GET  /account        overview: name, level, contacts and documents (masked)
//	GET  /account/details
//	POST /account/details
package profile
