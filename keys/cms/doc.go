// Package cms reads, checks and makes CMS (PKCS #7, RFC 5652) SignedData
// signatures: the detached signature over a one-time challenge with which a
// citizen signs in with a qualified certificate.
//
// Sign-in runs Check: Parse, SignedData.Verify, then cert.Verifier.Verify
// on the signer's certificate with the SignedData's other certificates as
// intermediates; `gosid certs verify` runs the same.
//
// Parse accepts DER, PEM (CMS, PKCS7, SIGNED DATA…) or bare base64, as a
// citizen pastes it; the DER must be strict (definite minimal lengths, no
// trailing data), at most MaxSize bytes, MaxCertificates certificates and
// exactly one signer. Verify accepts signatures with signed attributes
// (content-type id-data, message-digest, optional signing-time; the
// signature covers their DER SET OF) and without (the signature covers the
// content), detached or with encapsulated content equal to the expected
// content. The signer's certificate is found by issuer and serial number or
// by subject key identifier.
//
// Algorithms: GOST R 34.10-2012 256 and 512 with Streebog-256/512, RSA
// PKCS #1 v1.5 and PSS, ECDSA and Ed25519, with SHA-256/384/512; SHA-1 and
// MD5 are refused. OpenSSL's GOST engine names the key algorithm
// (1.2.643.7.1.1.1.1 or .1.2) as the signer info's signature algorithm, with
// the Streebog digest algorithm beside it; the signature-with-digest OIDs
// (1.2.643.7.1.1.3.2, .3.3) are accepted too. A GOST signature value is s ||
// r, each half big-endian, over the Streebog digest read little-endian; see
// package keys/gost.
//
// SignDetached and LoadSigner serve `gosid sign` for software keys: PEM
// PKCS #8 (GOST keys as OpenSSL's engine writes them), encrypted PKCS #8 and
// PKCS #12 with PBES2 or 3DES; PKCS #12 protected with the GOST ciphers is
// refused with cert.ErrUnsupportedAlgorithm.
//
// Errors wrap the sentinel errors of keys/cert (ErrMalformed,
// ErrBadSignature, ErrUnsupportedAlgorithm…) and ErrPassword.
package cms
