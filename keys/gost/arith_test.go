package gost

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"
)

// testCurves returns every parameter set and the two example curves of
// RFC 7091, whose a = 7 and moduli exercise other code paths.
func testCurves() []*Curve {
	cs := append([]*Curve(nil), Curves...)
	for _, v := range rfc7091Vectors {
		cs = append(cs, newCurve("RFC 7091 "+v.name, v.size, v.p, v.a, v.b, v.q, v.x, v.y))
	}
	return cs
}

func TestConstants(t *testing.T) {
	for _, c := range testCurves() {
		if err := c.curveArith().Check(c.P, c.A, c.B, c.Q, c.X, c.Y); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

// diff compares the fixed-size arithmetic of one curve with the math/big
// reference. Points cross as big-endian bytes, (0, 0) being infinity.
type diff struct {
	t *testing.T
	c *Curve
}

func (d diff) enc(v *big.Int) []byte { return d.c.coord(v) }

func (d diff) ref(p refJacobian) (x, y *big.Int) {
	if p.isInfinity() {
		return new(big.Int), new(big.Int)
	}
	return d.c.refToAffine(p)
}

func (d diff) same(what string, gx, gy []byte, wx, wy *big.Int) {
	d.t.Helper()
	if new(big.Int).SetBytes(gx).Cmp(wx) != 0 || new(big.Int).SetBytes(gy).Cmp(wy) != 0 {
		d.t.Fatalf("%s: got (%x, %x), want (%x, %x)", what, gx, gy, wx, wy)
	}
}

func (d diff) random(limit *big.Int) *big.Int {
	v, err := rand.Int(rand.Reader, limit)
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// scalars returns the edge cases 0, 1, 2, q-1, q, q+1, the largest value
// of Size bytes, and n random values below q.
func (d diff) scalars(n int) []*big.Int {
	q := d.c.Q
	top := new(big.Int).Lsh(big.NewInt(1), uint(8*d.c.Size))
	ks := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2),
		new(big.Int).Sub(q, big.NewInt(1)), new(big.Int).Set(q),
		new(big.Int).Add(q, big.NewInt(1)), top.Sub(top, big.NewInt(1)),
	}
	for range n {
		ks = append(ks, d.random(q))
	}
	return ks
}

// outsideSubgroup returns a point of the curve that is not in the subgroup
// of order Q, or nil when the cofactor is 1.
func outsideSubgroup(c *Curve) (x, y *big.Int) {
	if new(big.Int).Lsh(c.Q, 1).Cmp(c.P) > 0 {
		return nil, nil
	}
	for x = big.NewInt(1); ; x.Add(x, big.NewInt(1)) {
		rhs := new(big.Int).Mul(x, x)
		rhs.Add(rhs, c.A)
		rhs.Mul(rhs, x)
		rhs.Add(rhs, c.B)
		rhs.Mod(rhs, c.P)
		if y = new(big.Int).ModSqrt(rhs, c.P); y != nil && !c.refScalarMult(x, y, c.Q).isInfinity() {
			return x, y
		}
	}
}

func TestArithmeticAgainstReference(t *testing.T) {
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for _, c := range testCurves() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			d := diff{t, c}
			impl := c.curveArith()
			zero := make([]byte, c.Size)
			gx, gy := d.enc(c.X), d.enc(c.Y)

			// Points: random multiples of G, and one outside the subgroup.
			type point struct{ x, y *big.Int }
			var pts []point
			for range rounds {
				x, y := d.ref(c.refScalarMult(c.X, c.Y, d.random(c.Q)))
				pts = append(pts, point{x, y})
			}
			if x, y := outsideSubgroup(c); x != nil {
				pts = append(pts, point{x, y})
				if impl.InSubgroup(d.enc(x), d.enc(y)) {
					t.Fatal("InSubgroup accepts a point outside the subgroup")
				}
			}
			pts = append(pts, point{c.X, c.Y})

			for _, k := range d.scalars(rounds) {
				wx, wy := d.ref(c.refScalarMult(c.X, c.Y, k))
				kb := d.enc(k)
				rx, ry := impl.ScalarBaseMult(kb)
				d.same("ScalarBaseMult", rx, ry, wx, wy)
				rx, ry = impl.ScalarMult(gx, gy, kb)
				d.same("ScalarMult(G)", rx, ry, wx, wy)
			}
			for i, p := range pts {
				px, py := d.enc(p.x), d.enc(p.y)
				if !impl.IsOnCurve(px, py) {
					t.Fatal("IsOnCurve rejects a curve point")
				}
				if impl.IsOnCurve(px, d.enc(new(big.Int).Sub(c.P, big.NewInt(1)))) && p.y.Cmp(big.NewInt(1)) != 0 {
					t.Fatal("IsOnCurve accepts (x, p-1) off the curve")
				}
				for _, k := range d.scalars(2) {
					wx, wy := d.ref(c.refScalarMult(p.x, p.y, k))
					rx, ry := impl.ScalarMult(px, py, d.enc(k))
					d.same("ScalarMult", rx, ry, wx, wy)
				}
				negY := new(big.Int).Sub(c.P, p.y)
				q := pts[(i+1)%len(pts)]
				qx, qy := d.enc(q.x), d.enc(q.y)
				pj := c.refFromAffine(p.x, p.y)
				inf := refJacobian{new(big.Int), new(big.Int), new(big.Int)}
				for _, tc := range []struct {
					name           string
					x1, y1, x2, y2 []byte
					want           refJacobian
				}{
					{"P+Q", px, py, qx, qy, c.refAdd(pj, c.refFromAffine(q.x, q.y))},
					{"P+P", px, py, px, py, c.refDouble(pj)},
					{"P+(-P)", px, py, px, d.enc(negY), inf},
					{"O+P", zero, zero, px, py, pj},
					{"P+O", px, py, zero, zero, pj},
					{"O+O", zero, zero, zero, zero, inf},
				} {
					wx, wy := d.ref(tc.want)
					rx, ry := impl.Add(tc.x1, tc.y1, tc.x2, tc.y2)
					d.same("Add "+tc.name, rx, ry, wx, wy)
					rx, ry = impl.AddAffine(tc.x1, tc.y1, tc.x2, tc.y2)
					d.same("AddAffine "+tc.name, rx, ry, wx, wy)
					// The complete formulas are only complete on the
					// subgroup of odd order.
					if i < rounds || p.x == c.X {
						rx, ry = impl.AddComplete(tc.x1, tc.y1, tc.x2, tc.y2)
						d.same("AddComplete "+tc.name, rx, ry, wx, wy)
					}
				}
				wx, wy := d.ref(c.refDouble(pj))
				rx, ry := impl.Double(px, py)
				d.same("Double", rx, ry, wx, wy)
				rx, ry = impl.Double(zero, zero)
				d.same("Double(O)", rx, ry, new(big.Int), new(big.Int))
			}

			// u1·G + u2·P for P = s·G, with the cancelling u1 = -u2·s.
			for range rounds {
				s := new(big.Int).Add(d.random(new(big.Int).Sub(c.Q, big.NewInt(1))), big.NewInt(1))
				px, py := d.ref(c.refScalarMult(c.X, c.Y, s))
				u2 := d.random(c.Q)
				cancel := new(big.Int).Mul(u2, s)
				cancel.Neg(cancel).Mod(cancel, c.Q)
				for _, u := range [][2]*big.Int{
					{d.random(c.Q), u2}, {big.NewInt(0), u2}, {u2, big.NewInt(0)},
					{big.NewInt(0), big.NewInt(0)}, {cancel, u2}, {big.NewInt(1), big.NewInt(1)},
				} {
					want := c.refCombinedMult(c.X, c.Y, u[0], px, py, u[1])
					wx, wy := d.ref(want)
					rx, ry := impl.CombinedMult(d.enc(px), d.enc(py), d.enc(u[0]), d.enc(u[1]))
					d.same("CombinedMult", rx, ry, wx, wy)
					r := new(big.Int).Mod(wx, c.Q)
					ok := impl.VerifyR(d.enc(px), d.enc(py), d.enc(u[0]), d.enc(u[1]), d.enc(r))
					if ok == want.isInfinity() {
						t.Fatalf("VerifyR with the right r = %v", ok)
					}
					r.Add(r, big.NewInt(1)).Mod(r, c.Q)
					if impl.VerifyR(d.enc(px), d.enc(py), d.enc(u[0]), d.enc(u[1]), d.enc(r)) {
						t.Fatal("VerifyR accepts a wrong r")
					}
				}
			}

			// Signing against the reference, with edge values of d, k, e.
			qm1 := new(big.Int).Sub(c.Q, big.NewInt(1))
			for i := range rounds + 3 {
				dd, k, e := d.random(qm1), d.random(qm1), d.random(qm1)
				dd.Add(dd, big.NewInt(1))
				k.Add(k, big.NewInt(1))
				e.Add(e, big.NewInt(1))
				switch i {
				case 0:
					dd, k, e = big.NewInt(1), big.NewInt(1), big.NewInt(1)
				case 1:
					dd, k, e = qm1, qm1, qm1
				}
				priv, err := NewPrivateKey(c, dd)
				if err != nil {
					t.Fatal(err)
				}
				ref := refPublicKey(c, dd)
				if priv.X.Cmp(ref.X) != 0 || priv.Y.Cmp(ref.Y) != 0 {
					t.Fatal("public key differs from the reference")
				}
				got := signWithK(c, impl, d.enc(dd), e, d.enc(k))
				want := refSignWithK(priv, e, k)
				if !bytes.Equal(got, want) {
					t.Fatalf("signature %x, want %x", got, want)
				}
			}

			// Scalar reduction and range check.
			for _, n := range []int{0, 1, c.Size - 1, c.Size, c.Size + 8, 2 * c.Size} {
				b := make([]byte, n)
				for range 3 {
					want := new(big.Int).Mod(new(big.Int).SetBytes(b), c.Q)
					if got := impl.ReduceScalar(b); new(big.Int).SetBytes(got).Cmp(want) != 0 {
						t.Fatalf("ReduceScalar(%x) = %x, want %x", b, got, want)
					}
					rand.Read(b)
				}
				for i := range b {
					b[i] = 0xff
				}
				want := new(big.Int).Mod(new(big.Int).SetBytes(b), c.Q)
				if got := impl.ReduceScalar(b); new(big.Int).SetBytes(got).Cmp(want) != 0 {
					t.Fatalf("ReduceScalar(%x) = %x, want %x", b, got, want)
				}
			}
			for _, k := range d.scalars(2) {
				want := k.Sign() > 0 && k.Cmp(c.Q) < 0
				if impl.ScalarInRange(d.enc(k)) != want {
					t.Fatalf("ScalarInRange(%x) = %v", k, !want)
				}
			}
		})
	}
}

// TestVerifyOutsideSubgroup checks Verify on keys that ParsePublicKey would
// refuse: off the curve (always false) and outside the subgroup (as the
// reference).
func TestVerifyUnparsedKeys(t *testing.T) {
	for _, c := range []*Curve{CurveTC26256A, CurveTC26512C} {
		priv, _ := GenerateKey(c, nil)
		digest := make([]byte, c.Size)
		rand.Read(digest)
		sig, _ := Sign(priv, digest, nil)
		x, y := outsideSubgroup(c)
		pub := &PublicKey{Curve: c, X: x, Y: y}
		if got, want := Verify(pub, digest, sig), refVerify(pub, digest, sig); got != want {
			t.Errorf("%s: Verify outside the subgroup = %v, reference %v", c.Name, got, want)
		}
		off := &PublicKey{Curve: c, X: priv.X, Y: new(big.Int).Add(priv.Y, big.NewInt(1))}
		huge := &PublicKey{Curve: c, X: priv.X, Y: new(big.Int).Add(priv.Y, c.P)}
		neg := &PublicKey{Curve: c, X: priv.X, Y: new(big.Int).Neg(priv.Y)}
		for _, pub := range []*PublicKey{off, huge, neg, {Curve: c, X: priv.X}, nil} {
			if Verify(pub, digest, sig) {
				t.Errorf("%s: Verify accepts an invalid key", c.Name)
			}
		}
	}
}

// TestOtherCurves checks a Curve built outside newCurve and one this
// package cannot handle.
func TestOtherCurves(t *testing.T) {
	src := CurveCryptoProC
	c := &Curve{Name: "copy", P: src.P, A: src.A, B: src.B, Q: src.Q, X: src.X, Y: src.Y, Size: src.Size}
	priv, err := GenerateKey(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := []byte("0123456789abcdef0123456789abcdef")
	sig, err := Sign(priv, digest, nil)
	if err != nil || !Verify(&priv.PublicKey, digest, sig) {
		t.Fatalf("copied curve: %v", err)
	}
	pub, err := ParsePublicKey(src, priv.PublicKey.Bytes())
	if err != nil || !Verify(pub, digest, sig) {
		t.Fatal("signature on the copy does not verify on the original")
	}

	odd := &Curve{Name: "odd", P: src.P, A: src.A, B: src.B, Q: src.Q, X: src.X, Y: src.Y, Size: 48}
	if _, err := GenerateKey(odd, nil); err == nil {
		t.Error("GenerateKey on a 48-byte curve succeeded")
	}
	if _, err := ParsePublicKey(odd, make([]byte, 96)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("ParsePublicKey on a 48-byte curve: %v", err)
	}
	if Verify(&PublicKey{Curve: odd, X: src.X, Y: src.Y}, digest, make([]byte, 96)) {
		t.Error("Verify on a 48-byte curve succeeded")
	}
	if _, err := Sign(&PrivateKey{PublicKey: PublicKey{Curve: odd}, D: big.NewInt(1)}, digest, nil); err == nil {
		t.Error("Sign on a 48-byte curve succeeded")
	}
}

func TestPrivateKeyRange(t *testing.T) {
	for _, c := range Curves {
		for _, d := range []*big.Int{nil, big.NewInt(0), big.NewInt(-1), c.Q, new(big.Int).Add(c.Q, big.NewInt(1)), new(big.Int).Lsh(c.Q, 8)} {
			if _, err := NewPrivateKey(c, d); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%s: NewPrivateKey(%v): %v", c.Name, d, err)
			}
		}
		bad := &PrivateKey{PublicKey: PublicKey{Curve: c}, D: c.Q}
		if _, err := Sign(bad, make([]byte, c.Size), nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: Sign with d = q: %v", c.Name, err)
		}
	}
}

// zeroReader yields zeros: every nonce reduces to 0 and must be refused.
type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) { clear(b); return len(b), nil }

func TestSignRefusesZeroNonce(t *testing.T) {
	priv, _ := GenerateKey(CurveTC26256A, nil)
	if _, err := Sign(priv, make([]byte, 32), zeroReader{}); err == nil {
		t.Fatal("Sign succeeded with an all-zero random source")
	}
	if _, err := GenerateKey(CurveTC26256A, zeroReader{}); err == nil {
		t.Fatal("GenerateKey succeeded with an all-zero random source")
	}
}

func FuzzVerify(f *testing.F) {
	for i, c := range Curves {
		priv, _ := GenerateKey(c, nil)
		digest := make([]byte, c.Size)
		rand.Read(digest)
		sig, _ := Sign(priv, digest, nil)
		// mode 0: key from the scalar, the signature XORed onto a valid one.
		f.Add(uint8(i), uint8(0), priv.D.Bytes(), digest, make([]byte, len(sig)))
		// mode 1: key and signature taken as they are.
		f.Add(uint8(i), uint8(1), priv.PublicKey.Bytes(), digest, sig)
	}
	f.Add(uint8(0), uint8(1), make([]byte, 64), []byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, which, mode uint8, key, digest, sig []byte) {
		c := Curves[int(which)%len(Curves)]
		var pub *PublicKey
		if mode&1 == 0 {
			d := new(big.Int).SetBytes(key)
			d.Mod(d, c.Q)
			if d.Sign() == 0 {
				d.SetInt64(1)
			}
			priv, err := NewPrivateKey(c, d)
			if err != nil {
				t.Fatal(err)
			}
			valid, err := Sign(priv, digest, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(&priv.PublicKey, digest, valid) {
				t.Fatal("a fresh signature does not verify")
			}
			if len(sig) == len(valid) {
				for i := range sig {
					valid[i] ^= sig[i]
				}
				sig = valid
			}
			pub = &priv.PublicKey
		} else {
			p, err := ParsePublicKey(c, key)
			if err != nil {
				// Not a key; Verify on the raw coordinates must still
				// be safe.
				if len(key) == 2*c.Size {
					raw := &PublicKey{Curve: c, X: leToInt(key[:c.Size]), Y: leToInt(key[c.Size:])}
					if Verify(raw, digest, sig) {
						t.Fatal("Verify accepts a key that ParsePublicKey refuses")
					}
				}
				return
			}
			pub = p
		}
		if got, want := Verify(pub, digest, sig), refVerify(pub, digest, sig); got != want {
			t.Fatalf("Verify = %v, reference %v", got, want)
		}
	})
}
