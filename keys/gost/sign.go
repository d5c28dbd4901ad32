package gost

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/gosid/gosid/keys/gost/internal/ec"
)

// ErrInvalidKey reports a malformed key: wrong length, coordinates out of
// range, a point off the curve or outside the subgroup of order Q.
var ErrInvalidKey = errors.New("gost: invalid key")

// errCurve reports a Curve this package cannot compute on.
var errCurve = errors.New("gost: unsupported curve parameters")

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
	impl := c.curveArith()
	if impl == nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, errCurve)
	}
	if len(raw) != 2*c.Size {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(raw), 2*c.Size)
	}
	x := reversed(raw[:c.Size])
	y := reversed(raw[c.Size:])
	if !impl.IsOnCurve(x, y) {
		return nil, fmt.Errorf("%w: point not on %s", ErrInvalidKey, c.Name)
	}
	// Two of the curves have cofactor 4; reject points of small order.
	if !impl.InSubgroup(x, y) {
		return nil, fmt.Errorf("%w: point not in the prime-order subgroup", ErrInvalidKey)
	}
	return &PublicKey{Curve: c, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, nil
}

// Bytes returns the little-endian X || Y encoding read by ParsePublicKey.
func (pub *PublicKey) Bytes() []byte {
	n := pub.Curve.Size
	out := make([]byte, 2*n)
	intToLE(out[:n], pub.X)
	intToLE(out[n:], pub.Y)
	return out
}

// NewPrivateKey returns the private key d on curve c, 0 < d < Q. The public
// key is computed in constant time.
func NewPrivateKey(c *Curve, d *big.Int) (*PrivateKey, error) {
	impl := c.curveArith()
	if impl == nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, errCurve)
	}
	db, ok := scalarBytes(c, impl, d)
	if !ok {
		return nil, fmt.Errorf("%w: private scalar out of range", ErrInvalidKey)
	}
	defer clear(db)
	return newPrivateKey(c, impl, db), nil
}

func newPrivateKey(c *Curve, impl ec.Curve, d []byte) *PrivateKey {
	x, y := impl.ScalarBaseMult(d)
	return &PrivateKey{
		PublicKey: PublicKey{Curve: c, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)},
		D:         new(big.Int).SetBytes(d),
	}
}

// scalarBytes returns d as Size big-endian bytes and whether 0 < d < Q, the
// comparison with Q done in constant time.
func scalarBytes(c *Curve, impl ec.Curve, d *big.Int) ([]byte, bool) {
	if d == nil || d.Sign() <= 0 || d.BitLen() > 8*c.Size {
		return nil, false
	}
	db := d.FillBytes(make([]byte, c.Size))
	if !impl.ScalarInRange(db) {
		clear(db)
		return nil, false
	}
	return db, true
}

// GenerateKey returns a new private key on c, read from random (crypto/rand
// when nil). See the package documentation for what is constant-time.
func GenerateKey(c *Curve, random io.Reader) (*PrivateKey, error) {
	impl := c.curveArith()
	if impl == nil {
		return nil, errCurve
	}
	d, err := randScalar(c, impl, random)
	if err != nil {
		return nil, err
	}
	defer clear(d)
	return newPrivateKey(c, impl, d), nil
}

// Sign signs digest (a Streebog output, read as a little-endian integer)
// with a fresh random k read from random (crypto/rand when nil) and returns
// s || r, each half Curve.Size bytes, big-endian. k·P and s are computed in
// constant time: see the package documentation.
func Sign(priv *PrivateKey, digest []byte, random io.Reader) ([]byte, error) {
	c := priv.Curve
	impl := c.curveArith()
	if impl == nil {
		return nil, errCurve
	}
	d, ok := scalarBytes(c, impl, priv.D)
	if !ok {
		return nil, fmt.Errorf("%w: private scalar out of range", ErrInvalidKey)
	}
	defer clear(d)
	e := digestToInt(c, digest)
	for range 100 {
		k, err := randScalar(c, impl, random)
		if err != nil {
			return nil, err
		}
		sig := signWithK(c, impl, d, e, k)
		clear(k)
		if sig != nil {
			return sig, nil
		}
	}
	return nil, errors.New("gost: random source keeps yielding unusable nonces")
}

// signWithK computes the signature for e and nonce k (big-endian, below Q),
// or nil when r or s is zero and another k must be tried.
func signWithK(c *Curve, impl ec.Curve, d []byte, e *big.Int, k []byte) []byte {
	r, s := impl.Sign(d, k, c.coord(e))
	if isZero(r) || isZero(s) {
		return nil
	}
	return append(s, r...)
}

// Verify reports whether sig (s || r, big-endian halves) is a valid
// signature of digest (read as a little-endian integer) by pub. It returns
// false for a public key that is not a point of pub.Curve.
func Verify(pub *PublicKey, digest []byte, sig []byte) bool {
	if pub == nil || pub.Curve == nil || pub.X == nil || pub.Y == nil {
		return false
	}
	c := pub.Curve
	impl := c.curveArith()
	if impl == nil || len(sig) != 2*c.Size {
		return false
	}
	if pub.X.Sign() < 0 || pub.X.Cmp(c.P) >= 0 || pub.Y.Sign() < 0 || pub.Y.Cmp(c.P) >= 0 {
		return false
	}
	x, y := c.coord(pub.X), c.coord(pub.Y)
	if !impl.IsOnCurve(x, y) {
		return false
	}
	// Everything here is public, so math/big is fine for the few scalar
	// operations; the point arithmetic is the fixed-size code.
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
	return impl.VerifyR(x, y, c.coord(z1), c.coord(z2), sig[c.Size:])
}

// digestToInt returns e = digest mod Q, or 1 when that is zero. The digest
// is public.
func digestToInt(c *Curve, digest []byte) *big.Int {
	e := leToInt(digest)
	e.Mod(e, c.Q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	return e
}

// randScalar returns a scalar in [1, Q-1] as Size big-endian bytes: Size+8
// random bytes reduced modulo Q in constant time (bias below 2⁻⁶⁴), read
// again in the negligible case that the result is zero.
func randScalar(c *Curve, impl ec.Curve, random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	buf := make([]byte, c.Size+8)
	defer clear(buf)
	for range 100 {
		if _, err := io.ReadFull(random, buf); err != nil {
			return nil, fmt.Errorf("gost: reading randomness: %w", err)
		}
		k := impl.ReduceScalar(buf)
		if !isZero(k) {
			return k, nil
		}
	}
	return nil, errors.New("gost: random source keeps yielding zero")
}

func leToInt(b []byte) *big.Int {
	return new(big.Int).SetBytes(reversed(b))
}

func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i, v := range b {
		r[len(b)-1-i] = v
	}
	return r
}

func intToLE(dst []byte, v *big.Int) {
	v.FillBytes(dst)
	for i, j := 0, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
}
