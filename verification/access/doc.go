// Package access is the temporary access code («выдача временного кода
// доступа»): a citizen who can no longer sign in (lost phone) shows their
// passport at an office; an operator issues a one-time code with which the
// citizen sets a new password and a new phone.
//
//	GET/POST /desk/access-code?account=ID  the operator's page (staff.Gate: operator or
//	                                       supervisor, strong sign-in): the citizen's name,
//	                                       birth date and masked passport; «Паспорт проверен»
//	                                       issues the code and shows it once, printable
//	GET/POST /access-code                  the citizen: login (phone, e-mail, SNILS) + code
//	GET/POST /access-code/new              a new password (the policy) and a new phone
//	GET/POST /access-code/code             the SMS code sent to the new phone; POST
//	POST     /access-code/resend           /access-code/resend for a new one
//	GET      /static/access-code.css       the code's print style
//	GET      /static/access-code.js        the code's print button
//
// A code is 12 characters of an alphabet without look-alikes (Alphabet),
// shown in groups of four, valid for 24 hours (TTL) and 3 wrong tries
// (MaxTries); only a keyed hash bound to the account is stored, one live
// code per account (issuing again replaces it). An operator cannot issue
// a code for their own account. Issuing is in the citizen's activity log
// with the operator and office as actor.
//
// The citizen's answers are the same for an unknown login and for a wrong,
// spent or expired code; the page is rate-limited per client IP. A right
// code starts a sealed flow; the code is spent only at the end, in the
// transaction that sets the password and the phone (Store.Spend, a
// compare-and-swap: two flows racing with one code cannot both use it).
// Then every session of the account ends, remembered devices are
// forgotten, the sign-in lock-out is lifted (account.Store.SetPassword),
// the previous phone and e-mail are told, and the citizen's entry goes to
// the activity log.
package access
