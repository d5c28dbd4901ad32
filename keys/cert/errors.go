package cert

import "errors"

// Sentinel errors, checked with errors.Is. Returned errors wrap one of them
// and add detail meant for logs, never a citizen's identifiers.
var (
	// ErrMalformed: a certificate, CRL, key or signature cannot be parsed.
	ErrMalformed = errors.New("malformed certificate or signature data")
	// ErrUntrusted: no path from the certificate to a trust anchor.
	ErrUntrusted = errors.New("certificate does not chain to a trusted CA")
	// ErrBrokenChain: an issuer was found by name, but its key did not make
	// the signature on the certificate (or CRL) it is said to have issued.
	ErrBrokenChain = errors.New("certificate chain signature does not verify")
	// ErrExpired: a certificate in the chain is past its notAfter.
	ErrExpired = errors.New("certificate has expired")
	// ErrNotYetValid: a certificate in the chain is before its notBefore.
	ErrNotYetValid = errors.New("certificate is not yet valid")
	// ErrKeyUsage: the signer's certificate does not allow digital
	// signatures, or an issuer's does not allow signing certificates or CRLs.
	ErrKeyUsage = errors.New("certificate key usage does not allow this use")
	// ErrNotCA: an issuer is not marked as a CA in its basic constraints.
	ErrNotCA = errors.New("issuer certificate is not a CA")
	// ErrPathLen: a CA's path length constraint is exceeded.
	ErrPathLen = errors.New("CA path length constraint exceeded")
	// ErrCriticalExtension: a certificate has a critical extension this
	// package does not understand.
	ErrCriticalExtension = errors.New("certificate has an unhandled critical extension")
	// ErrRevoked: a certificate in the chain is listed in its issuer's CRL.
	ErrRevoked = errors.New("certificate has been revoked")
	// ErrRevocationUnknown: no current, correctly signed CRL could be had
	// for a certificate in the chain; the caller decides whether to accept.
	ErrRevocationUnknown = errors.New("revocation status unknown")
	// ErrBadSignature: a signature does not verify.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrUnsupportedAlgorithm: a key, digest or signature algorithm (or a
	// combination of them) this package does not implement or refuses.
	ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")
)
