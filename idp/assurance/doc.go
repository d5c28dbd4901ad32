// Package assurance is how much Gosid knows that an account is who it says:
// the levels, the evidence behind them, and the one function that changes
// an account's level.
//
// Levels (as ESIA): simplified (a name and a verified phone or e-mail),
// standard (SNILS and passport confirmed by the state registries),
// confirmed (identity confirmed by a bank, in person, by a qualified
// e-signature or a code sent by registered letter). Level is their one
// definition: ranking, and the urn:gosid:loa:* values of acr (parsed and
// printed here, nowhere else).
//
// Evidence is one verification of person data: what was verified (claim
// names: snils, family_name, given_name, birthdate…), how (a registry
// check, a bank, an operator who saw the document, a qualified
// e-signature certificate, a code by registered letter), by whom, when,
// and which document (its number sealed at rest). A value a citizen typed
// is a claim; only evidence makes it verified, and only evidence raises a
// level. Evidence feeds the activity log now and OpenID Connect for
// Identity Assurance's verified_claims later.
//
// Service.Verify records a verification in one transaction: the caller's
// own part (Verification.Apply: the checked data applied to the account);
// the evidence rows, each with the verified values sealed beside its
// document (a claim is verified for a site only while the account still
// holds the value its evidence saw); the verified values it carries (a SNILS becomes the account's
// verified SNILS and other accounts' claims of it are dropped); the level,
// raised to what the evidence supports; and the activity-log entries of
// every account touched. Service.Lower takes a level down when evidence
// behind it no longer holds (a passport the registry reports invalid).
// They are the only code that changes a level (TestOnlyVerifyChangesLevels
// keeps it so).
package assurance
