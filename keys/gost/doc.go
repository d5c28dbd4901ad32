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
// # Arithmetic
//
// The exported types carry math/big values, but the computation is done by
// the fixed-size code of internal/ec: 4 or 8 64-bit limbs, Montgomery
// multiplication (plain folding for the moduli 2^n - c of TC26 256 A,
// CryptoPro A and TC26 512 A and C). A Curve built outside this package works
// too if its Size is 32 or 64; other sizes are refused.
//
// Verify and ParsePublicKey handle public data only and are variable-time:
// u1·G + u2·Q by interleaved wNAF in Jacobian coordinates, with a window of 8
// over a table of odd multiples of G built once per curve, and a window of 5
// over multiples of Q built on each call. Verify compares x with r modulo q
// without inverting Z. It uses math/big for e⁻¹ and the two scalars.
//
// # Constant time
//
// Sign, NewPrivateKey and GenerateKey compute k·G and d·G in constant time:
// 6-bit signed windows over tables of multiples of G (built once per curve
// on first use: 88 KB for a 256-bit curve, 352 KB for a 512-bit one), every
// table row read in full and the entry picked by masking, and the complete
// addition formulas of Renes, Costello and Batina, which have no special case
// for doubling or infinity on the curves' odd-order subgroup. The field
// operations are straight-line code whose final subtraction is masked, and the
// inversion that yields x is an exponentiation with the public exponent p - 2.
// s = r·d + k·e mod q, the check 0 < d < q and the reduction of the random
// bytes that make k and d are done with the same fixed-size arithmetic
// modulo q. A nonce is Size+8 fresh bytes from the random source reduced
// modulo q, drawn for every signature.
//
// Not constant-time, by design or for lack of control:
//   - the rare retries when k, r or s is zero, which reveal only that event;
//   - the conversions between D (a *big.Int) and bytes, which depend on the
//     number's length in words, and the checks of its sign and bit length;
//   - the reduction of the digest, which is public, with math/big;
//   - anything the Go compiler does: the code avoids secret-dependent
//     branches and indexes, but Go makes no timing guarantee, and
//     math/bits.Mul64 is constant-time only where the hardware multiplier is
//     (amd64 and arm64 are).
package gost
