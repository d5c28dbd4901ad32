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
//
// Sensitive changes — a phone or e-mail, the password, second factors and
// backup codes, deletion — need a session whose latest authentication is
// at most Deps.Reauth.MaxAge old (5 min). A stale one changes nothing and
// is sent (303) to the re-authentication page (session.ReauthPath, served
// by idp/login) with ?next= the form's page, where it comes back to. A
// contact change sends the previous contact an «Это был не я» link
// (undo.go).
package profile
