// Package gost implements the Russian GOST hash and signature algorithms
// needed to read and check Russian certificates and signatures.
//
// Streebog (GOST R 34.11-2012, RFC 6986) is provided as a hash.Hash by New256
// and New512, and as the one-shot functions Sum256 and Sum512. Digests are the
// byte strings used on the wire: RFC 6986 prints vectors as big-endian
// numbers, so the RFC's last hexadecimal byte is the first byte here.
//
// GOST R 34.10-2012 signatures (RFC 7091) are provided on the standard
// Weierstrass parameter sets of RFC 7836 and RFC 4357: 256-bit TC26 A, B, C
// and D (B, C and D are CryptoPro A, B and C; XchA and XchB are the same curves
// as CryptoPro A and C) and 512-bit TC26 A, B and C. A signature is s || r,
// each half big-endian; the digest is read as a little-endian integer, as the
// standard prescribes for a Streebog output.
//
// Arithmetic uses math/big, which is not constant-time. That is harmless for
// Verify and ParsePublicKey, which handle only public data, but Sign and
// GenerateKey may leak the private key or nonce through timing: use them for
// tests and tools, not on a server that signs attacker-chosen input.
package gost
