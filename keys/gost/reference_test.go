package gost

// The math/big implementation that the fixed-size arithmetic replaced, kept
// as the reference of the differential tests. It is straightforward and
// slow; none of it is constant-time.

import "math/big"

// refJacobian is a point in Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the
// point at infinity.
type refJacobian struct{ x, y, z *big.Int }

func (p refJacobian) isInfinity() bool { return p.z.Sign() == 0 }

func (c *Curve) refFromAffine(x, y *big.Int) refJacobian {
	return refJacobian{new(big.Int).Set(x), new(big.Int).Set(y), big.NewInt(1)}
}

func (c *Curve) refToAffine(p refJacobian) (x, y *big.Int) {
	zi := new(big.Int).ModInverse(p.z, c.P)
	zi2 := new(big.Int).Mul(zi, zi)
	zi2.Mod(zi2, c.P)
	x = new(big.Int).Mul(p.x, zi2)
	x.Mod(x, c.P)
	zi2.Mul(zi2, zi)
	y = new(big.Int).Mul(p.y, zi2)
	y.Mod(y, c.P)
	return x, y
}

func (c *Curve) refMod(v *big.Int) *big.Int { return v.Mod(v, c.P) }

func (c *Curve) refDouble(p refJacobian) refJacobian {
	if p.isInfinity() || p.y.Sign() == 0 {
		return refJacobian{new(big.Int), new(big.Int), new(big.Int)}
	}
	xx := c.refMod(new(big.Int).Mul(p.x, p.x))
	yy := c.refMod(new(big.Int).Mul(p.y, p.y))
	yyyy := c.refMod(new(big.Int).Mul(yy, yy))
	zz := c.refMod(new(big.Int).Mul(p.z, p.z))
	s := c.refMod(new(big.Int).Lsh(new(big.Int).Mul(p.x, yy), 2))
	m := c.refMod(new(big.Int).Mul(zz, zz))
	m.Mul(m, c.A)
	m.Add(m, new(big.Int).Mul(xx, big.NewInt(3)))
	c.refMod(m)
	x3 := new(big.Int).Mul(m, m)
	x3.Sub(x3, new(big.Int).Lsh(s, 1))
	c.refMod(x3)
	y3 := new(big.Int).Sub(s, x3)
	y3.Mul(y3, m)
	y3.Sub(y3, new(big.Int).Lsh(yyyy, 3))
	c.refMod(y3)
	z3 := new(big.Int).Mul(p.y, p.z)
	z3.Lsh(z3, 1)
	c.refMod(z3)
	return refJacobian{x3, y3, z3}
}

func (c *Curve) refAdd(p, q refJacobian) refJacobian {
	if p.isInfinity() {
		return q
	}
	if q.isInfinity() {
		return p
	}
	z1z1 := c.refMod(new(big.Int).Mul(p.z, p.z))
	z2z2 := c.refMod(new(big.Int).Mul(q.z, q.z))
	u1 := c.refMod(new(big.Int).Mul(p.x, z2z2))
	u2 := c.refMod(new(big.Int).Mul(q.x, z1z1))
	s1 := c.refMod(new(big.Int).Mul(p.y, c.refMod(new(big.Int).Mul(q.z, z2z2))))
	s2 := c.refMod(new(big.Int).Mul(q.y, c.refMod(new(big.Int).Mul(p.z, z1z1))))
	if u1.Cmp(u2) == 0 {
		if s1.Cmp(s2) == 0 {
			return c.refDouble(p)
		}
		return refJacobian{new(big.Int), new(big.Int), new(big.Int)}
	}
	h := c.refMod(new(big.Int).Sub(u2, u1))
	r := c.refMod(new(big.Int).Sub(s2, s1))
	hh := c.refMod(new(big.Int).Mul(h, h))
	hhh := c.refMod(new(big.Int).Mul(hh, h))
	v := c.refMod(new(big.Int).Mul(u1, hh))
	x3 := new(big.Int).Mul(r, r)
	x3.Sub(x3, hhh)
	x3.Sub(x3, new(big.Int).Lsh(v, 1))
	c.refMod(x3)
	y3 := new(big.Int).Sub(v, x3)
	y3.Mul(y3, r)
	y3.Sub(y3, new(big.Int).Mul(s1, hhh))
	c.refMod(y3)
	z3 := new(big.Int).Mul(p.z, q.z)
	z3.Mul(z3, h)
	c.refMod(z3)
	return refJacobian{x3, y3, z3}
}

// refScalarMult returns k·(x, y). It is not constant-time.
func (c *Curve) refScalarMult(x, y, k *big.Int) refJacobian {
	p := c.refFromAffine(x, y)
	r := refJacobian{new(big.Int), new(big.Int), new(big.Int)}
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = c.refDouble(r)
		if k.Bit(i) == 1 {
			r = c.refAdd(r, p)
		}
	}
	return r
}

// refCombinedMult returns k1·(x1, y1) + k2·(x2, y2) with Shamir's trick. It is
// not constant-time.
func (c *Curve) refCombinedMult(x1, y1, k1, x2, y2, k2 *big.Int) refJacobian {
	p1 := c.refFromAffine(x1, y1)
	p2 := c.refFromAffine(x2, y2)
	p12 := c.refAdd(p1, p2)
	r := refJacobian{new(big.Int), new(big.Int), new(big.Int)}
	for i := max(k1.BitLen(), k2.BitLen()) - 1; i >= 0; i-- {
		r = c.refDouble(r)
		switch k1.Bit(i)<<1 | k2.Bit(i) {
		case 1:
			r = c.refAdd(r, p2)
		case 2:
			r = c.refAdd(r, p1)
		case 3:
			r = c.refAdd(r, p12)
		}
	}
	return r
}

// refSignWithK computes the signature for e and nonce k, or nil when r or s is
// zero and another k must be tried.
func refSignWithK(priv *PrivateKey, e, k *big.Int) []byte {
	c := priv.Curve
	x, _ := c.refToAffine(c.refScalarMult(c.X, c.Y, k))
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

// refVerify reports whether sig (s || r, big-endian halves) is a valid
// signature of digest (read as a little-endian integer) by pub.
func refVerify(pub *PublicKey, digest []byte, sig []byte) bool {
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
	p := c.refCombinedMult(c.X, c.Y, z1, pub.X, pub.Y, z2)
	if p.isInfinity() {
		return false
	}
	x, _ := c.refToAffine(p)
	x.Mod(x, c.Q)
	return x.Cmp(r) == 0
}

// refPublicKey returns d·P.
func refPublicKey(c *Curve, d *big.Int) *PublicKey {
	x, y := c.refToAffine(c.refScalarMult(c.X, c.Y, d))
	return &PublicKey{Curve: c, X: x, Y: y}
}

// refParse reports whether the reference accepts (x, y) as a public key.
func refParse(c *Curve, x, y *big.Int) bool {
	return c.IsOnCurve(x, y) && c.refScalarMult(x, y, c.Q).isInfinity()
}
