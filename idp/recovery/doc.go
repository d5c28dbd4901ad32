// Package recovery is "Забыли пароль?": a code to the account's verified
// phone or e-mail, then a new password under the policy.
//
//	GET/POST /recover           the login (phone, e-mail or SNILS)
//	GET/POST /recover/code      the code; POST /recover/resend for a new one
//	GET/POST /recover/password  the new password
//	POST /recover/signin        after the code, sign in with the current password instead of
//	                            setting a new one (signin.go): a lock-out caused by someone
//	                            else's guesses must not keep the owner out; it clears the lock-out
//
// The answers never reveal whether an account exists: for an unknown login
// a challenge is issued as usual but nothing is sent, and no code is ever
// accepted in that flow. A phone or e-mail login receives the code at that
// contact; a SNILS login at the account's verified phone, else its e-mail.
//
// Setting the new password clears the lock-out and a suspension of password
// sign-in («Это был не я»), ends every session of the account, forgets its
// remembered devices, notifies the owner, goes to the activity log, and
// sends the citizen to sign in.
package recovery
