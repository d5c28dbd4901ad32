package gost

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// ErrInvalidKey reports a malformed key: wrong length, coordinates out of
// range, a point off the curve or outside the subgroup of order Q.
var ErrInvalidKey = errors.New("gost: invalid key")

// PublicKey is a GOST R 34.10-2012 public key, the point (X, Y).
type PublicKey struct {
	Curve *Curve
	X, Y  *big.Int
}

// PrivateKey is a GOST R 34.10-2012 private key d with its public key d·P.
type PrivateKey struct {
	PublicKey
	D *big.Int
}

// ParsePublicKey decodes the X || Y form used in certificates (the content of
// the OCTET STRING in subjectPublicKey): each coordinate little-endian and
// Curve.Size bytes long. It refuses points off the curve and points outside
// the subgroup of order Q.
func ParsePublicKey(c *Curve, raw []byte) (*PublicKey, error) {
	if len(raw) != 2*c.Size {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(raw), 2*c.Size)
	}
	x := leToInt(raw[:c.Size])
	y := leToInt(raw[c.Size:])
	if !c.IsOnCurve(x, y) {
		return nil, fmt.Errorf("%w: point not on %s", ErrInvalidKey, c.Name)
	}
	// Two of the curves have cofactor 4; reject points of small order.
	if !c.scalarMult(x, y, c.Q).isInfinity() {
		return nil, fmt.Errorf("%w: point not in the prime-order subgroup", ErrInvalidKey)
	}
	return &PublicKey{Curve: c, X: x, Y: y}, nil
}

// Bytes returns the little-endian X || Y encoding read by ParsePublicKey.
func (pub *PublicKey) Bytes() []byte {
	n := pub.Curve.Size
	out := make([]byte, 2*n)
	intToLE(out[:n], pub.X)
	intToLE(out[n:], pub.Y)
	return out
}

// NewPrivateKey returns the private key d on curve c, 0 < d < Q.
func NewPrivateKey(c *Curve, d *big.Int) (*PrivateKey, error) {
	if d.Sign() <= 0 || d.Cmp(c.Q) >= 0 {
		return nil, fmt.Errorf("%w: private scalar out of range", ErrInvalidKey)
	}
	x, y := c.toAffine(c.scalarMult(c.X, c.Y, d))
	return &PrivateKey{PublicKey: PublicKey{Curve: c, X: x, Y: y}, D: new(big.Int).Set(d)}, nil
}

// GenerateKey returns a new private key on c, read from random (crypto/rand
// when nil). It uses math/big and is not constant-time: see the package
// documentation.
func GenerateKey(c *Curve, random io.Reader) (*PrivateKey, error) {
	d, err := randScalar(c, random)
	if err != nil {
		return nil, err
	}
	return NewPrivateKey(c, d)
}

// Sign signs digest (a Streebog output, read as a little-endian integer)
// with a fresh random k read from random (crypto/rand when nil) and returns
// s || r, each half Curve.Size bytes, big-endian.
//
// Sign uses math/big and is not constant-time: timing may reveal k and so the
// private key. It is meant for tests and tools; a constant-time scalar
// multiplication is still to be written.
func Sign(priv *PrivateKey, digest []byte, random io.Reader) ([]byte, error) {
	c := priv.Curve
	e := digestToInt(c, digest)
	for range 100 {
		k, err := randScalar(c, random)
		if err != nil {
			return nil, err
		}
		if sig := signWithK(priv, e, k); sig != nil {
			return sig, nil
		}
	}
	return nil, errors.New("gost: random source keeps yielding unusable nonces")
}

// signWithK computes the signature for e and nonce k, or nil when r or s is
// zero and another k must be tried.
func signWithK(priv *PrivateKey, e, k *big.Int) []byte {
	c := priv.Curve
	x, _ := c.toAffine(c.scalarMult(c.X, c.Y, k))
	r := x.Mod(x, c.Q)
	if r.Sign() == 0 {
		return nil
	}
	s := new(big.Int).Mul(r, priv.D)
	s.Add(s, new(big.Int).Mul(k, e))
	s.Mod(s, c.Q)
	if s.Sign() == 0 {
		return nil
	}
	sig := make([]byte, 2*c.Size)
	s.FillBytes(sig[:c.Size])
	r.FillBytes(sig[c.Size:])
	return sig
}

// Verify reports whether sig (s || r, big-endian halves) is a valid
// signature of digest (read as a little-endian integer) by pub.
func Verify(pub *PublicKey, digest []byte, sig []byte) bool {
	if pub == nil || pub.Curve == nil || pub.X == nil || pub.Y == nil {
		return false
	}
	c := pub.Curve
	if len(sig) != 2*c.Size {
		return false
	}
	s := new(big.Int).SetBytes(sig[:c.Size])
	r := new(big.Int).SetBytes(sig[c.Size:])
	if r.Sign() <= 0 || r.Cmp(c.Q) >= 0 || s.Sign() <= 0 || s.Cmp(c.Q) >= 0 {
		return false
	}
	e := digestToInt(c, digest)
	v := new(big.Int).ModInverse(e, c.Q)
	if v == nil {
		return false
	}
	z1 := new(big.Int).Mul(s, v)
	z1.Mod(z1, c.Q)
	z2 := new(big.Int).Mul(r, v)
	z2.Neg(z2)
	z2.Mod(z2, c.Q)
	p := c.combinedMult(c.X, c.Y, z1, pub.X, pub.Y, z2)
	if p.isInfinity() {
		return false
	}
	x, _ := c.toAffine(p)
	x.Mod(x, c.Q)
	return x.Cmp(r) == 0
}

// digestToInt returns e = digest mod Q, or 1 when that is zero.
func digestToInt(c *Curve, digest []byte) *big.Int {
	e := leToInt(digest)
	e.Mod(e, c.Q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	return e
}

// randScalar returns a uniform-enough value in [1, Q-1]: Size+8 random bytes
// reduced modulo Q-1, so the bias is below 2⁻⁶⁴.
func randScalar(c *Curve, random io.Reader) (*big.Int, error) {
	if random == nil {
		random = rand.Reader
	}
	buf := make([]byte, c.Size+8)
	if _, err := io.ReadFull(random, buf); err != nil {
		return nil, fmt.Errorf("gost: reading randomness: %w", err)
	}
	k := new(big.Int).SetBytes(buf)
	qm1 := new(big.Int).Sub(c.Q, big.NewInt(1))
	k.Mod(k, qm1)
	return k.Add(k, big.NewInt(1)), nil
}

func leToInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i, v := range b {
		be[len(b)-1-i] = v
	}
	return new(big.Int).SetBytes(be)
}

func intToLE(dst []byte, v *big.Int) {
	v.FillBytes(dst)
	for i, j := 0, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
}
