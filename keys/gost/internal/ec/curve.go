package ec

import (
	"errors"
	"fmt"
	"math/big"
)

// Sizes and window widths. The names ending in 4 are used by ec4.go and
// those ending in 8 by its generated copy ec8.go.
const (
	n4, n8       = 4, 8   // limbs
	size4, size8 = 32, 64 // bytes of a coordinate or scalar

	// wNAF widths in Verify: the public key's table of 2^(w-2) odd
	// multiples is built on every call, the base point's once per curve.
	wQ4, wQ8 = 5, 5
	wG4, wG8 = 8, 8

	// Width of the signed windows of the constant-time base point comb:
	// ⌈(64n+1)/w⌉ tables of 2^(w-1) affine points each.
	combW4, combW8 = 6, 6
)

// Curve is the arithmetic of one parameter set y² = x³ + ax + b over GF(p)
// with a base point G of prime order q. Points and scalars cross the
// interface as big-endian byte strings of exactly Size bytes; the point at
// infinity is (0, 0), which is never on a GOST curve since b ≠ 0.
//
// Methods marked variable-time must only be given public values.
type Curve interface {
	// Size is the length in bytes of a coordinate or a scalar: 32 or 64.
	Size() int
	// IsOnCurve reports whether x, y < p and (x, y) is on the curve.
	IsOnCurve(x, y []byte) bool
	// InSubgroup reports whether q·(x, y) is the point at infinity, for a
	// point on the curve. Variable-time.
	InSubgroup(x, y []byte) bool
	// ScalarMult returns k·(x, y). Variable-time.
	ScalarMult(x, y, k []byte) (rx, ry []byte)
	// CombinedMult returns u1·G + u2·(x, y). Variable-time.
	CombinedMult(x, y, u1, u2 []byte) (rx, ry []byte)
	// VerifyR reports whether u1·G + u2·(x, y) is a finite point whose
	// affine x is r modulo q, for r < q. Variable-time.
	VerifyR(x, y, u1, u2, r []byte) bool
	// Add, AddAffine (whose second point must be finite, as in its use)
	// and Double are the variable-time Jacobian formulas that CombinedMult
	// uses; AddComplete is the complete projective addition that
	// ScalarBaseMult uses. They exist for tests.
	Add(x1, y1, x2, y2 []byte) (rx, ry []byte)
	AddAffine(x1, y1, x2, y2 []byte) (rx, ry []byte)
	Double(x, y []byte) (rx, ry []byte)
	AddComplete(x1, y1, x2, y2 []byte) (rx, ry []byte)

	// ScalarBaseMult returns k·G for any k below 2^(8·Size), in constant
	// time.
	ScalarBaseMult(k []byte) (rx, ry []byte)
	// ReduceScalar returns b mod q for b of at most 2·Size bytes, in
	// constant time.
	ReduceScalar(b []byte) []byte
	// ScalarInRange reports whether 0 < k < q, in constant time.
	ScalarInRange(k []byte) bool
	// Check converts the fixed-size constants back and compares them with
	// the parameters they were made from, and checks the derived ones
	// (Montgomery or pseudo-Mersenne constants, 3b, a = -3, cofactor). For
	// tests.
	Check(p, a, b, q, x, y *big.Int) error

	// Sign returns r = x(k·G) mod q and s = (r·d + k·e) mod q for d, k,
	// e < q, in constant time. The caller retries when r or s is zero.
	Sign(d, k, e []byte) (r, s []byte)
}

// New returns the arithmetic for the curve y² = x³ + ax + b over GF(p) with
// base point (x, y) of prime order q, coordinates size bytes long. It checks
// the shape of the parameters, not that they form a valid curve.
func New(p, a, b, q, x, y *big.Int, size int) (Curve, error) {
	for _, v := range []*big.Int{p, q} {
		if v.Sign() <= 0 || v.Bit(0) == 0 || v.BitLen() > 8*size || v.BitLen() < 8*size-8 {
			return nil, errors.New("ec: p and q must be odd and fill the size")
		}
	}
	for _, v := range []*big.Int{a, b, x, y} {
		if v.Sign() < 0 || v.Cmp(p) >= 0 {
			return nil, errors.New("ec: coefficient or base point out of range")
		}
	}
	if b.Sign() == 0 {
		return nil, errors.New("ec: b = 0 is not supported")
	}
	switch size {
	case size4:
		return newCurve4(p, a, b, q, x, y), nil
	case size8:
		return newCurve8(p, a, b, q, x, y), nil
	}
	return nil, errors.New("ec: size must be 32 or 64 bytes")
}

// negInv64 returns -x⁻¹ mod 2⁶⁴ for odd x, by Newton's iteration.
func negInv64(x uint64) uint64 {
	inv := x // correct to 3 bits: x·x ≡ 1 mod 8 for odd x
	for range 5 {
		inv *= 2 - x*inv
	}
	return -inv
}

// cofactorIsOne reports whether a curve with a subgroup of prime order q
// over GF(p) must have q points: by Hasse's bound the curve has at most
// p + 1 + 2√p points, so a prime q above half of that is the whole group.
func cofactorIsOne(p, q *big.Int) bool {
	bound := new(big.Int).Sqrt(p)
	bound.Add(bound, big.NewInt(1)) // ⌈√p⌉ at least
	bound.Lsh(bound, 1)
	bound.Add(bound, p)
	bound.Add(bound, big.NewInt(1))
	return new(big.Int).Lsh(q, 1).Cmp(bound) > 0
}

// wnaf writes the width-w non-adjacent form of k, least significant digit
// first, into out and returns the number of digits. k is clobbered and must
// have a spare top limb; out needs 64·len(k) entries. Variable-time.
func wnaf(out []int8, k []uint64, w uint) int {
	n := 0
	for {
		nonzero := uint64(0)
		for _, v := range k {
			nonzero |= v
		}
		if nonzero == 0 {
			return n
		}
		if k[0]&1 == 1 {
			d := int64(k[0] & (1<<w - 1))
			if d >= 1<<(w-1) {
				d -= 1 << w
			}
			out[n] = int8(d)
			if d > 0 {
				subSmall(k, uint64(d))
			} else {
				addSmall(k, uint64(-d))
			}
		} else {
			out[n] = 0
		}
		for i := range len(k) - 1 {
			k[i] = k[i]>>1 | k[i+1]<<63
		}
		k[len(k)-1] >>= 1
		n++
	}
}

func addSmall(k []uint64, v uint64) {
	for i := range k {
		k[i] += v
		if k[i] >= v {
			return
		}
		v = 1
	}
}

func subSmall(k []uint64, v uint64) {
	for i := range k {
		old := k[i]
		k[i] -= v
		if old >= v {
			return
		}
		v = 1
	}
}

// windowBits returns the width bits of k starting at bit pos (which may be
// -1); bits outside k read as zero. The positions are public, so the branches
// are too; the value is read without branching on it.
func windowBits(k []uint64, pos, width int) uint64 {
	var v uint64
	for i := range width {
		p := pos + i
		if p >= 0 && p < 64*len(k) {
			v |= (k[p/64] >> (p % 64) & 1) << i
		}
	}
	return v
}

// booth recodes the w+1 bits of a window (its w bits and the top bit of the
// window below) into a signed digit: magnitude in [0, 2^(w-1)] and sign bit.
// Constant-time.
func booth(in uint64, w uint) (mag, neg uint64) {
	s := ^((in >> w) - 1) // all ones when the top bit is set
	d := (1<<(w+1) - 1) - in
	d = d&s | in&^s
	return d>>1 + d&1, s & 1
}

// eq64 returns 1 when a = b and 0 otherwise, in constant time.
func eq64(a, b uint64) uint64 {
	v := a ^ b
	return 1 ^ (v|-v)>>63
}

func addCarry(a, b, carry uint64) (uint64, uint64) {
	s := a + b + carry
	return s, (a&b | (a|b)&^s) >> 63
}

// checkField checks the constants of a field against its modulus m, given
// limb by limb: the modulus, -m⁻¹ mod 2⁶⁴ and either R - m (pseudo-Mersenne)
// or R mod m and R² mod m.
func checkField(name string, m *big.Int, limbs []uint64, c, n0 uint64, one, rr *big.Int, bits int) error {
	got := new(big.Int)
	for i := len(limbs) - 1; i >= 0; i-- {
		got.Lsh(got, 64).Or(got, new(big.Int).SetUint64(limbs[i]))
	}
	if got.Cmp(m) != 0 {
		return fmt.Errorf("%s: modulus %x, want %x", name, got, m)
	}
	if limbs[0]*n0 != 1<<64-1 {
		return fmt.Errorf("%s: n0 is not -m⁻¹", name)
	}
	r := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	if c != 0 {
		if new(big.Int).Sub(r, m).Cmp(new(big.Int).SetUint64(c)) != 0 || one.Cmp(big.NewInt(1)) != 0 || rr.Cmp(big.NewInt(1)) != 0 {
			return fmt.Errorf("%s: pseudo-Mersenne constants are wrong", name)
		}
		return nil
	}
	if one.Cmp(new(big.Int).Mod(r, m)) != 0 || rr.Cmp(new(big.Int).Mod(new(big.Int).Mul(r, r), m)) != 0 {
		return fmt.Errorf("%s: Montgomery constants are wrong", name)
	}
	return nil
}
