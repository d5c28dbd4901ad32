// Package registration creates accounts at /register.
//
// The flow's state lives in the database (idp/flow, sealed), keyed by the
// gosid_flow_register cookie, so each step may land on any replica:
//
//	GET/POST /register          contact: a mobile phone (SMS code) or an e-mail (e-mail code)
//	GET/POST /register/code     the code; POST /register/resend sends a new one after the cool-down
//	GET/POST /register/profile  family, given and middle name; password (policy with live
//	                            hints); consent to personal-data processing
//	→ the account exists, the citizen is signed in, and /account/details offers
//	  to add birth date, SNILS, passport and INN now (or later)
//
// A contact that already belongs to an account is never revealed: the flow
// looks the same, a challenge is issued as usual, but instead of the code the
// owner receives a notice ("someone tried to register with your number; if
// it was you, sign in or restore your password"), and no code typed in that
// flow is ever accepted. A registration that races another one for the same
// contact and loses is told the contact is taken — by then it has proven it
// owns the contact.
package registration
