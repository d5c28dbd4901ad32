// Package letter confirms a citizen's identity with a code sent by
// registered letter (заказное письмо), the way of issue 16, item 5.
//
// A citizen whose account is at the standard level (SNILS and passport
// confirmed by the registries) orders a letter to a postal address
// (Address: index, region, settlement, street, house, building, flat),
// sealed at rest with the letter id as associated data. The database
// allows one order per account in 30 days (a conditional upsert of
// letter_orders) and one letter on its way (a partial unique index).
//
//	ordered ──gosid letters export──▶ exported ──gosid letters sent──▶ sent ──right code──▶ confirmed
//	                                                                     │
//	                                                     3 wrong codes ──┼──▶ spent
//	                                                 30 days after sent ─┴──▶ expired
//
// `gosid letters export --out DIR` makes each ordered letter's code (8
// characters of CodeAlphabet; only a keyed hash is stored), writes a PDF
// of the letters and the post office's register (CSV) atomically, and
// only then marks the letters exported, with the hashes, in one
// transaction. `gosid letters sent --tracking FILE.csv` records the
// tracking numbers (all lines or none); the code then works 30 days, 3
// tries. `gosid letters cancel ID` withdraws a letter not yet sent (a lost
// printout) and lifts the 30-day limit. A right code records evidence (method letter, document
// "registered_letter" numbered by the tracking number, verifier kind
// "system"), raises the account to confirmed and tells the citizen.
//
// The pages, in the account centre (state-changing forms are under the
// identity provider's cross-origin protection):
//
//	GET  /account/confirm/letter        the letter's status, the address form or the code form
//	POST /account/confirm/letter        order a letter (a recent sign-in)
//	POST /account/confirm/letter/code   enter the code (rate-limited)
package letter
