// Package account holds citizens' accounts: person data, contacts, the
// password hash and the sign-in lock-out counter, and the account event log.
//
// Secrets at rest: SNILS, INN, passport and the contacts are sealed under
// the data keys (package keys) with associated data naming the column and
// the account, so a ciphertext cannot be moved to another row. SNILS, phone
// and e-mail also get keyed HMAC blind indexes, through which sign-in looks
// them up and the database enforces that a verified phone, a verified e-mail
// and a SNILS belong to one account only.
//
// The store does not validate: callers pass values normalised by
// idp/validate (E.164 phones, lower-cased e-mail keys, canonical SNILS).
//
// Lock-out is a counter in the accounts row, changed by single atomic
// UPDATE statements, so that failures racing on several replicas are
// counted exactly and exactly one of them crosses the threshold.
package account
