// Package cert validates the X.509 certificates of qualified electronic
// signatures ("КЭП") against a trust list of accredited CAs, GOST R
// 34.10-2012 certificates included, and reads the Russian subject attributes
// (SNILS, INN, OGRN…) sign-in maps to an account.
//
// crypto/x509 parses GOST certificates but leaves their keys unparsed
// (PublicKeyAlgorithm Unknown) and cannot check GOST signatures, so this
// package checks every signature itself: PublicKeyOf and CheckSignature serve
// certificates, CRLs and, through keys/cms, CMS signer infos alike. In a
// certificate or CRL a GOST signature is the BIT STRING content s || r, each
// half big-endian and as long as a coordinate, over the Streebog digest of
// the TBS bytes (1.2.643.7.1.1.3.2: Streebog-256, .3.3: Streebog-512); the
// digest is read as a little-endian integer, as OpenSSL's GOST engine does.
// A GOST public key is an OCTET STRING of X || Y, each little-endian, inside
// the subjectPublicKey BIT STRING, with the parameter set OID in the
// algorithm parameters.
//
// The flow of Verifier.Verify:
//
//  1. the leaf: validity at Now, digitalSignature key usage, no unhandled
//     critical extension;
//  2. path building: issuers are looked up by subject name among the trust
//     anchors first, then the intermediates the signature brought along; a
//     candidate whose key identifier differs from the authority key
//     identifier is skipped; each candidate must be a valid CA (basic
//     constraints, keyCertSign, path length) whose key verifies the
//     signature, else the next one is tried. Certificates already on the
//     path are skipped (loops), the path is at most MaxDepth long and the
//     number of candidates tried is bounded;
//  3. revocation, when a CRLSource is set: for each certificate below the
//     anchor, a CRL of its issuer (signature checked with the issuer's key,
//     current at Now, no unknown critical extension) must not list it.
//     CRLStore combines offline CRL files with distribution points fetched
//     over HTTP and cached until nextUpdate; a CRL that cannot be had gives
//     ErrRevocationUnknown, so the caller decides.
//
// Name constraints and policy constraints are not enforced: sign-in
// identifies people by SNILS and INN, not by names a CA could be
// constrained in, and the accredited CAs do not use them.
//
// Errors wrap the sentinel errors of errors.go; check them with errors.Is.
// SubjectOf reads the subject; its Qualified flag is a claim of the
// certificate that means something only after Verify.
package cert
