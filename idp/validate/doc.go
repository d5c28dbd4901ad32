// Package validate checks and normalises the data a citizen types into Gosid
// forms and APIs: SNILS, INN, passport details, names, dates, phone, e-mail,
// sex and sign-in identifiers.
//
// Every function takes untrusted input and returns either the normalised
// value (the form stored and compared) or a *FieldError. A FieldError names
// the form field (Field), gives a stable machine code (Code) and carries a
// ready message in Russian and English that names the field and tells the
// citizen how to fix it. Messages never contain the input: document numbers,
// phones and addresses must not reach logs or error strings, so handlers may
// log err.Error() but should show FieldError.Message(lang) to people.
//
// Canonical forms:
//
//	SNILS            123-456-789 64  (SNILSDigits gives 12345678964)
//	INN              10 or 12 digits
//	passport series  4508, number 123456, division code 123-456
//	names            Cyrillic as in the passport, single spaces
//	dates            time.Time at 00:00 UTC of the calendar day
//	phone            +79123456789 (E.164, Russian mobile numbers only)
//	e-mail           local part as typed, domain lower-cased; EmailKey lower-cases all
//	sex              "male" or "female"
//
// Checks are deliberately stricter than the underlying standards where real
// data is narrower (RFC 5322 quoting in e-mail addresses, landline phones,
// Latin letters in passport names): these inputs are mistakes in practice.
// Date limits that depend on "today" take the current time as a parameter; the
// calendar day is read in that time's location, so pass time.Now() in the
// citizen's (or Moscow) time zone.
//
// GenerateSNILS and GenerateINN12 produce valid numbers for tests and demo
// data; they are not used by the validation itself.
package validate
