package ec

import (
	"fmt"
	"math/big"
	"sync"
)

// This file is written for 4 limbs; gen.go derives ec8.go from it by
// renaming every identifier that ends in a letter and 4. Keep it free of
// anything specific to the size.

// newField4 returns the arithmetic modulo m. With pseudo set, a modulus
// R - c with c < 2³¹ uses plain elements and folding instead of Montgomery
// form; ReduceScalar relies on the Montgomery form and so never sets it.
func newField4(m *big.Int, pseudo bool) field4 {
	var f field4
	f.m.setBig(m)
	f.n0 = negInv64(f.m[0])
	r := new(big.Int).Lsh(big.NewInt(1), 64*n4)
	if c := new(big.Int).Sub(r, m); pseudo && c.BitLen() <= 31 {
		f.c = c.Uint64()
		f.one, f.rr = fe4{1}, fe4{1}
		return f
	}
	f.one.setBig(new(big.Int).Mod(r, m))
	f.rr.setBig(new(big.Int).Mod(new(big.Int).Mul(r, r), m))
	return f
}

func (x *fe4) setBig(v *big.Int) *fe4 {
	var b [size4]byte
	return x.setBytes(v.FillBytes(b[:]))
}

func (x *fe4) bytes() []byte {
	b := make([]byte, size4)
	x.putBytes(b)
	return b
}

// toMont sets z = x·R mod m, for any x below R (x mod m for a
// pseudo-Mersenne m).
func (f *field4) toMont(z, x *fe4) { f.mul(z, x, &f.rr) }

// fromMont sets z = x·R⁻¹ mod m, for any x below R (x mod m for a
// pseudo-Mersenne m).
func (f *field4) fromMont(z, x *fe4) { f.mul(z, x, &fe4{1}) }

func (f *field4) neg(z, x *fe4) { f.sub(z, &fe4{}, x) }

// inv sets z = x⁻¹ (in Montgomery form), or 0 for x = 0, as x^(m-2) with a
// fixed 4-bit window. The sequence of operations depends only on m, so it
// is constant-time in x.
func (f *field4) inv(z, x *fe4) {
	var tab [16]fe4
	tab[0] = f.one
	tab[1] = *x
	for i := 2; i < 16; i++ {
		f.mul(&tab[i], &tab[i-1], x)
	}
	e := f.m
	subSmall(e[:], 2)
	r := f.one
	for i := 64*n4 - 4; i >= 0; i -= 4 {
		if i != 64*n4-4 {
			f.sqr(&r, &r)
			f.sqr(&r, &r)
			f.sqr(&r, &r)
			f.sqr(&r, &r)
		}
		if d := e[i/64] >> (i % 64) & 15; d != 0 { // the exponent is public
			f.mul(&r, &r, &tab[d])
		}
	}
	*z = r
}

// jac4 is a point in Jacobian coordinates (X/Z², Y/Z³), Montgomery form;
// Z = 0 is the point at infinity. The code using it is variable-time.
type jac4 struct{ x, y, z fe4 }

// aff4 is an affine point in Montgomery form, never the point at infinity.
type aff4 struct{ x, y fe4 }

// proj4 is a point in homogeneous projective coordinates (X/Z, Y/Z),
// Montgomery form; (0 : 1 : 0) is the point at infinity. It is used with
// the complete, constant-time formulas.
type proj4 struct{ x, y, z fe4 }

// Curve4 is a curve over a prime field of at most 64·n4 bits.
type Curve4 struct {
	fp, fq   field4 // coordinates mod p, scalars mod q
	a, b, b3 fe4    // a, b and 3b in Montgomery form
	aIsM3    bool   // a = -3: cheaper doubling and complete addition
	g        aff4
	q        fe4 // q as a plain integer
	cof1     bool

	gOnce sync.Once
	gOdd  *[1 << (wG4 - 2)]aff4 // G, 3G, 5G…, for Verify

	combOnce sync.Once
	comb     [][1 << (combW4 - 1)]aff4 // comb[i][j] = (j+1)·2^(w·i)·G
}

func newCurve4(p, a, b, q, x, y *big.Int) *Curve4 {
	c := &Curve4{fp: newField4(p, true), fq: newField4(q, false), cof1: cofactorIsOne(p, q)}
	c.q.setBig(q)
	c.aIsM3 = new(big.Int).Sub(p, a).Cmp(big.NewInt(3)) == 0
	c.fp.toMont(&c.a, new(fe4).setBig(a))
	c.fp.toMont(&c.b, new(fe4).setBig(b))
	c.fp.add(&c.b3, &c.b, &c.b)
	c.fp.add(&c.b3, &c.b3, &c.b)
	c.fp.toMont(&c.g.x, new(fe4).setBig(x))
	c.fp.toMont(&c.g.y, new(fe4).setBig(y))
	return c
}

func (c *Curve4) Size() int { return size4 }

// affine reads a point given as big-endian bytes; ok is false for (0, 0).
func (c *Curve4) affine(x, y []byte) (p aff4, ok bool) {
	var xi, yi fe4
	xi.setBytes(x)
	yi.setBytes(y)
	if xi.isZero()&yi.isZero() == 1 {
		return p, false
	}
	c.fp.toMont(&p.x, &xi)
	c.fp.toMont(&p.y, &yi)
	return p, true
}

func (c *Curve4) affineBytes(p *aff4) (x, y []byte) {
	var t fe4
	c.fp.fromMont(&t, &p.x)
	x = t.bytes()
	c.fp.fromMont(&t, &p.y)
	return x, t.bytes()
}

func (c *Curve4) IsOnCurve(x, y []byte) bool {
	var xi, yi fe4
	xi.setBytes(x)
	yi.setBytes(y)
	if xi.less(&c.fp.m)&yi.less(&c.fp.m) == 0 {
		return false
	}
	var p aff4
	c.fp.toMont(&p.x, &xi)
	c.fp.toMont(&p.y, &yi)
	return c.onCurve(&p) == 1
}

// onCurve returns 1 when y² = x³ + ax + b. Constant-time.
func (c *Curve4) onCurve(p *aff4) uint64 {
	var l, r fe4
	c.fp.sqr(&l, &p.y)
	c.fp.sqr(&r, &p.x)
	c.fp.add(&r, &r, &c.a)
	c.fp.mul(&r, &r, &p.x)
	c.fp.add(&r, &r, &c.b)
	return l.equal(&r)
}

// --- Variable-time Jacobian arithmetic, for public data (Verify). ---

func (c *Curve4) fromAffine(p *aff4) jac4 { return jac4{p.x, p.y, c.fp.one} }

func (p *jac4) isInf() bool { return p.z.isZero() == 1 }

// toAffine converts p, which must not be the point at infinity.
func (c *Curve4) toAffine(p *jac4) aff4 {
	var zi, zi2 fe4
	var r aff4
	c.fp.inv(&zi, &p.z)
	c.fp.sqr(&zi2, &zi)
	c.fp.mul(&r.x, &p.x, &zi2)
	c.fp.mul(&zi2, &zi2, &zi)
	c.fp.mul(&r.y, &p.y, &zi2)
	return r
}

// toAffineBatch converts points, none at infinity, with one inversion.
func (c *Curve4) toAffineBatch(out []aff4, in []jac4) {
	prod := make([]fe4, len(in))
	acc := c.fp.one
	for i := range in {
		prod[i] = acc
		c.fp.mul(&acc, &acc, &in[i].z)
	}
	var inv, zi, zi2 fe4
	c.fp.inv(&inv, &acc)
	for i := len(in) - 1; i >= 0; i-- {
		c.fp.mul(&zi, &inv, &prod[i])
		c.fp.mul(&inv, &inv, &in[i].z)
		c.fp.sqr(&zi2, &zi)
		c.fp.mul(&out[i].x, &in[i].x, &zi2)
		c.fp.mul(&zi2, &zi2, &zi)
		c.fp.mul(&out[i].y, &in[i].y, &zi2)
	}
}

// double sets r = 2p: dbl-2001-b (3M + 5S) when a = -3, otherwise
// dbl-2007-bl (2M + 8S) from the Explicit-Formulas Database.
func (c *Curve4) double(r, p *jac4) {
	f := &c.fp
	if p.isInf() {
		*r = *p
		return
	}
	var x3, y3, z3 fe4
	if c.aIsM3 {
		var delta, gamma, beta, alpha, t fe4
		f.sqr(&delta, &p.z)
		f.sqr(&gamma, &p.y)
		f.mul(&beta, &p.x, &gamma)
		f.sub(&t, &p.x, &delta)
		f.add(&alpha, &p.x, &delta)
		f.mul(&alpha, &alpha, &t)
		f.add(&t, &alpha, &alpha)
		f.add(&alpha, &alpha, &t) // 3(X-δ)(X+δ)
		f.add(&z3, &p.y, &p.z)
		f.sqr(&z3, &z3)
		f.sub(&z3, &z3, &gamma)
		f.sub(&z3, &z3, &delta)
		f.add(&beta, &beta, &beta)
		f.add(&beta, &beta, &beta) // 4β
		f.sqr(&x3, &alpha)
		f.sub(&x3, &x3, &beta)
		f.sub(&x3, &x3, &beta)
		f.sub(&t, &beta, &x3)
		f.mul(&y3, &alpha, &t)
		f.sqr(&gamma, &gamma)
		f.add(&gamma, &gamma, &gamma)
		f.add(&gamma, &gamma, &gamma)
		f.add(&gamma, &gamma, &gamma) // 8γ²
		f.sub(&y3, &y3, &gamma)
	} else {
		var xx, yy, yyyy, zz, s, m, t fe4
		f.sqr(&xx, &p.x)
		f.sqr(&yy, &p.y)
		f.sqr(&yyyy, &yy)
		f.sqr(&zz, &p.z)
		f.add(&s, &p.x, &yy)
		f.sqr(&s, &s)
		f.sub(&s, &s, &xx)
		f.sub(&s, &s, &yyyy)
		f.add(&s, &s, &s)
		f.sqr(&m, &zz)
		f.mul(&m, &m, &c.a)
		f.add(&m, &m, &xx)
		f.add(&m, &m, &xx)
		f.add(&m, &m, &xx)
		f.sqr(&x3, &m)
		f.sub(&x3, &x3, &s)
		f.sub(&x3, &x3, &s)
		f.add(&z3, &p.y, &p.z)
		f.sqr(&z3, &z3)
		f.sub(&z3, &z3, &yy)
		f.sub(&z3, &z3, &zz)
		f.sub(&t, &s, &x3)
		f.mul(&y3, &m, &t)
		f.add(&yyyy, &yyyy, &yyyy)
		f.add(&yyyy, &yyyy, &yyyy)
		f.add(&yyyy, &yyyy, &yyyy)
		f.sub(&y3, &y3, &yyyy)
	}
	r.x, r.y, r.z = x3, y3, z3
}

// add sets r = p + q with add-2007-bl (11M + 5S).
func (c *Curve4) add(r, p, q *jac4) {
	f := &c.fp
	if p.isInf() {
		*r = *q
		return
	}
	if q.isInf() {
		*r = *p
		return
	}
	var z1z1, z2z2, u1, u2, s1, s2, h, rr fe4
	f.sqr(&z1z1, &p.z)
	f.sqr(&z2z2, &q.z)
	f.mul(&u1, &p.x, &z2z2)
	f.mul(&u2, &q.x, &z1z1)
	f.mul(&s1, &p.y, &q.z)
	f.mul(&s1, &s1, &z2z2)
	f.mul(&s2, &q.y, &p.z)
	f.mul(&s2, &s2, &z1z1)
	f.sub(&h, &u2, &u1)
	f.sub(&rr, &s2, &s1)
	if h.isZero() == 1 {
		if rr.isZero() == 1 {
			c.double(r, p)
		} else {
			*r = jac4{}
		}
		return
	}
	f.add(&rr, &rr, &rr)
	var i, j, v, x3, y3, z3 fe4
	f.add(&i, &h, &h)
	f.sqr(&i, &i)
	f.mul(&j, &h, &i)
	f.mul(&v, &u1, &i)
	f.sqr(&x3, &rr)
	f.sub(&x3, &x3, &j)
	f.sub(&x3, &x3, &v)
	f.sub(&x3, &x3, &v)
	f.sub(&y3, &v, &x3)
	f.mul(&y3, &y3, &rr)
	f.mul(&s1, &s1, &j)
	f.add(&s1, &s1, &s1)
	f.sub(&y3, &y3, &s1)
	f.add(&z3, &p.z, &q.z)
	f.sqr(&z3, &z3)
	f.sub(&z3, &z3, &z1z1)
	f.sub(&z3, &z3, &z2z2)
	f.mul(&z3, &z3, &h)
	r.x, r.y, r.z = x3, y3, z3
}

// addAffine sets r = p + q with madd-2007-bl (7M + 4S).
func (c *Curve4) addAffine(r, p *jac4, q *aff4) {
	f := &c.fp
	if p.isInf() {
		*r = c.fromAffine(q)
		return
	}
	var z1z1, u2, s2, h, rr fe4
	f.sqr(&z1z1, &p.z)
	f.mul(&u2, &q.x, &z1z1)
	f.mul(&s2, &q.y, &p.z)
	f.mul(&s2, &s2, &z1z1)
	f.sub(&h, &u2, &p.x)
	f.sub(&rr, &s2, &p.y)
	if h.isZero() == 1 {
		if rr.isZero() == 1 {
			c.double(r, p)
		} else {
			*r = jac4{}
		}
		return
	}
	f.add(&rr, &rr, &rr)
	var hh, i, j, v, x3, y3, z3, t fe4
	f.sqr(&hh, &h)
	f.add(&i, &hh, &hh)
	f.add(&i, &i, &i)
	f.mul(&j, &h, &i)
	f.mul(&v, &p.x, &i)
	f.sqr(&x3, &rr)
	f.sub(&x3, &x3, &j)
	f.sub(&x3, &x3, &v)
	f.sub(&x3, &x3, &v)
	f.sub(&y3, &v, &x3)
	f.mul(&y3, &y3, &rr)
	f.mul(&t, &p.y, &j)
	f.add(&t, &t, &t)
	f.sub(&y3, &y3, &t)
	f.add(&z3, &p.z, &h)
	f.sqr(&z3, &z3)
	f.sub(&z3, &z3, &z1z1)
	f.sub(&z3, &z3, &hh)
	r.x, r.y, r.z = x3, y3, z3
}

// gTable returns G, 3G, 5G… for the base point's wNAF in Verify.
func (c *Curve4) gTable() *[1 << (wG4 - 2)]aff4 {
	c.gOnce.Do(func() {
		var jt [1 << (wG4 - 2)]jac4
		jt[0] = c.fromAffine(&c.g)
		var g2 jac4
		c.double(&g2, &jt[0])
		for i := 1; i < len(jt); i++ {
			c.add(&jt[i], &jt[i-1], &g2)
		}
		t := new([1 << (wG4 - 2)]aff4)
		c.toAffineBatch(t[:], jt[:])
		c.gOdd = t
	})
	return c.gOdd
}

// mulVar returns u1·G + u2·p (u1 may be nil) by interleaved wNAF: the base
// point from its precomputed affine table, p from a table of odd multiples
// built here. Variable-time.
func (c *Curve4) mulVar(u1 *fe4, p *aff4, u2 *fe4) jac4 {
	var naf1, naf2 [64*n4 + 64]int8
	var k [n4 + 1]uint64
	n1 := 0
	var gt *[1 << (wG4 - 2)]aff4
	if u1 != nil {
		gt = c.gTable()
		copy(k[:], u1[:])
		n1 = wnaf(naf1[:], k[:], wG4)
	}
	k = [n4 + 1]uint64{}
	copy(k[:], u2[:])
	n2 := wnaf(naf2[:], k[:], wQ4)

	var pt [1 << (wQ4 - 2)]jac4
	if n2 > 0 {
		pt[0] = c.fromAffine(p)
		var p2 jac4
		c.double(&p2, &pt[0])
		for i := 1; i < len(pt); i++ {
			c.add(&pt[i], &pt[i-1], &p2)
		}
	}

	var acc, t jac4
	var na aff4
	for i := max(n1, n2) - 1; i >= 0; i-- {
		c.double(&acc, &acc)
		if d := naf1[i]; d > 0 {
			c.addAffine(&acc, &acc, &gt[d>>1])
		} else if d < 0 {
			na.x = gt[(-d)>>1].x
			c.fp.neg(&na.y, &gt[(-d)>>1].y)
			c.addAffine(&acc, &acc, &na)
		}
		if d := naf2[i]; d > 0 {
			c.add(&acc, &acc, &pt[d>>1])
		} else if d < 0 {
			t = pt[(-d)>>1]
			c.fp.neg(&t.y, &t.y)
			c.add(&acc, &acc, &t)
		}
	}
	return acc
}

func (c *Curve4) jacBytes(p *jac4) (x, y []byte) {
	if p.isInf() {
		return make([]byte, size4), make([]byte, size4)
	}
	a := c.toAffine(p)
	return c.affineBytes(&a)
}

func (c *Curve4) ScalarMult(x, y, k []byte) (rx, ry []byte) {
	p, ok := c.affine(x, y)
	if !ok {
		return make([]byte, size4), make([]byte, size4)
	}
	var kk fe4
	kk.setBytes(k)
	r := c.mulVar(nil, &p, &kk)
	return c.jacBytes(&r)
}

func (c *Curve4) InSubgroup(x, y []byte) bool {
	if c.cof1 {
		return true
	}
	p, ok := c.affine(x, y)
	if !ok {
		return true
	}
	r := c.mulVar(nil, &p, &c.q)
	return r.isInf()
}

func (c *Curve4) CombinedMult(x, y, u1, u2 []byte) (rx, ry []byte) {
	var k1, k2 fe4
	k1.setBytes(u1)
	k2.setBytes(u2)
	p, ok := c.affine(x, y)
	if !ok {
		k2 = fe4{}
	}
	r := c.mulVar(&k1, &p, &k2)
	return c.jacBytes(&r)
}

// VerifyR avoids the inversion of Z: x(R) ≡ r mod q means X = r'·Z² for one
// of the few r' = r + jq below p.
func (c *Curve4) VerifyR(x, y, u1, u2, r []byte) bool {
	p, ok := c.affine(x, y)
	if !ok {
		return false
	}
	var k1, k2 fe4
	k1.setBytes(u1)
	k2.setBytes(u2)
	acc := c.mulVar(&k1, &p, &k2)
	if acc.isInf() {
		return false
	}
	var zz, cand, t fe4
	c.fp.sqr(&zz, &acc.z)
	cand.setBytes(r)
	for cand.less(&c.fp.m) == 1 {
		c.fp.toMont(&t, &cand)
		c.fp.mul(&t, &t, &zz)
		if t.equal(&acc.x) == 1 {
			return true
		}
		var carry uint64
		for i := range cand {
			cand[i], carry = addCarry(cand[i], c.q[i], carry)
		}
		if carry != 0 {
			break
		}
	}
	return false
}

func (c *Curve4) Add(x1, y1, x2, y2 []byte) (rx, ry []byte) {
	var p, q jac4
	if a, ok := c.affine(x1, y1); ok {
		p = c.fromAffine(&a)
	}
	if a, ok := c.affine(x2, y2); ok {
		q = c.fromAffine(&a)
	}
	var r jac4
	c.add(&r, &p, &q)
	return c.jacBytes(&r)
}

func (c *Curve4) AddAffine(x1, y1, x2, y2 []byte) (rx, ry []byte) {
	var p jac4
	if a, ok := c.affine(x1, y1); ok {
		p = c.fromAffine(&a)
	}
	q, ok := c.affine(x2, y2)
	if !ok {
		return c.jacBytes(&p)
	}
	var r jac4
	c.addAffine(&r, &p, &q)
	return c.jacBytes(&r)
}

func (c *Curve4) Double(x, y []byte) (rx, ry []byte) {
	var p jac4
	if a, ok := c.affine(x, y); ok {
		p = c.fromAffine(&a)
	}
	c.double(&p, &p)
	return c.jacBytes(&p)
}

// --- Constant-time projective arithmetic, for secret scalars. ---

// addComplete sets r = p + q with the complete mixed addition of Renes,
// Costello and Batina (eprint 2015/1060, algorithms 2 and 5). The formulas
// have no exceptional case for points of odd order, so the result is right
// for p = ±q and for p at infinity; q must not be the point at infinity.
func (c *Curve4) addComplete(r, p *proj4, q *aff4) {
	f := &c.fp
	var t0, t1, t3, t4, t5, x3, y3, z3 fe4
	f.mul(&t0, &p.x, &q.x)
	f.mul(&t1, &p.y, &q.y)
	f.add(&t3, &q.x, &q.y)
	f.add(&t4, &p.x, &p.y)
	f.mul(&t3, &t3, &t4)
	f.add(&t4, &t0, &t1)
	f.sub(&t3, &t3, &t4) // X1·Y2 + X2·Y1
	f.mul(&t4, &q.y, &p.z)
	f.add(&t4, &t4, &p.y) // Y1 + Y2·Z1
	f.mul(&y3, &q.x, &p.z)
	f.add(&y3, &y3, &p.x) // X1 + X2·Z1
	if c.aIsM3 {
		// Algorithm 5.
		var t2 fe4
		f.mul(&z3, &c.b, &p.z)
		f.sub(&x3, &y3, &z3)
		f.add(&z3, &x3, &x3)
		f.add(&x3, &x3, &z3)
		f.sub(&z3, &t1, &x3)
		f.add(&x3, &t1, &x3)
		f.mul(&y3, &c.b, &y3)
		f.add(&t1, &p.z, &p.z)
		f.add(&t2, &t1, &p.z)
		f.sub(&y3, &y3, &t2)
		f.sub(&y3, &y3, &t0)
		f.add(&t1, &y3, &y3)
		f.add(&y3, &t1, &y3)
		f.add(&t1, &t0, &t0)
		f.add(&t0, &t1, &t0)
		f.sub(&t0, &t0, &t2)
		f.mul(&t1, &t4, &y3)
		f.mul(&t2, &t0, &y3)
		f.mul(&y3, &x3, &z3)
		f.add(&y3, &y3, &t2)
		f.mul(&x3, &t3, &x3)
		f.sub(&x3, &x3, &t1)
		f.mul(&z3, &t4, &z3)
		f.mul(&t1, &t3, &t0)
		f.add(&z3, &z3, &t1)
	} else {
		// Algorithm 2.
		var t2 fe4
		f.mul(&z3, &c.a, &y3)
		f.mul(&x3, &c.b3, &p.z)
		f.add(&z3, &x3, &z3)
		f.sub(&x3, &t1, &z3)
		f.add(&z3, &t1, &z3)
		f.mul(&t5, &x3, &z3) // Y3 so far
		f.add(&t1, &t0, &t0)
		f.add(&t1, &t1, &t0)
		f.mul(&t2, &c.a, &p.z)
		f.mul(&y3, &c.b3, &y3)
		f.add(&t1, &t1, &t2)
		f.sub(&t2, &t0, &t2)
		f.mul(&t2, &c.a, &t2)
		f.add(&y3, &y3, &t2) // t4 of the paper
		f.mul(&t0, &t1, &y3)
		f.add(&t5, &t5, &t0)
		f.mul(&t0, &t4, &y3)
		f.mul(&x3, &t3, &x3)
		f.sub(&x3, &x3, &t0)
		f.mul(&t0, &t3, &t1)
		f.mul(&z3, &t4, &z3)
		f.add(&z3, &z3, &t0)
		y3 = t5
	}
	r.x, r.y, r.z = x3, y3, z3
}

func selProj4(r, a, b *proj4, v uint64) {
	sel4(&r.x, &a.x, &b.x, v)
	sel4(&r.y, &a.y, &b.y, v)
	sel4(&r.z, &a.z, &b.z, v)
}

// projToAffine converts p; the point at infinity comes out as (0, 0).
// Constant-time.
func (c *Curve4) projToAffine(p *proj4) aff4 {
	var zi fe4
	var r aff4
	c.fp.inv(&zi, &p.z)
	c.fp.mul(&r.x, &p.x, &zi)
	c.fp.mul(&r.y, &p.y, &zi)
	return r
}

func (c *Curve4) AddComplete(x1, y1, x2, y2 []byte) (rx, ry []byte) {
	p := proj4{y: c.fp.one}
	if a, ok := c.affine(x1, y1); ok {
		p = proj4{a.x, a.y, c.fp.one}
	}
	q, ok := c.affine(x2, y2)
	if ok {
		c.addComplete(&p, &p, &q)
	}
	a := c.projToAffine(&p)
	return c.affineBytes(&a)
}

// combTable returns the tables of ScalarBaseMult, computing them once. G
// is public, so the variable-time formulas are fine here.
func (c *Curve4) combTable() [][1 << (combW4 - 1)]aff4 {
	c.combOnce.Do(func() {
		const w, per = combW4, 1 << (combW4 - 1)
		windows := (64*n4 + w) / w
		jt := make([]jac4, windows*per)
		base := c.fromAffine(&c.g)
		for i := range windows {
			row := jt[i*per : (i+1)*per]
			row[0] = base
			for j := 1; j < per; j++ {
				c.add(&row[j], &row[j-1], &base)
			}
			c.double(&base, &row[per-1]) // 2^(w-1)·base doubled once
		}
		at := make([]aff4, len(jt))
		c.toAffineBatch(at, jt)
		comb := make([][per]aff4, windows)
		for i := range comb {
			copy(comb[i][:], at[i*per:])
		}
		c.comb = comb
	})
	return c.comb
}

// baseMult returns k·G with signed fixed windows over the comb tables:
// one complete mixed addition per window, table entries read by scanning
// the whole row, and no branch or memory access that depends on k.
func (c *Curve4) baseMult(k *fe4) proj4 {
	const w = combW4
	tab := c.combTable()
	acc := proj4{y: c.fp.one}
	var pt aff4
	var negY fe4
	var sum proj4
	for i := range tab {
		mag, neg := booth(windowBits(k[:], w*i-1, w+1), w)
		pt = aff4{}
		for j := range tab[i] {
			v := eq64(uint64(j+1), mag)
			sel4(&pt.x, &tab[i][j].x, &pt.x, v)
			sel4(&pt.y, &tab[i][j].y, &pt.y, v)
		}
		c.fp.neg(&negY, &pt.y)
		sel4(&pt.y, &negY, &pt.y, neg)
		c.addComplete(&sum, &acc, &pt)
		selProj4(&acc, &acc, &sum, eq64(mag, 0))
	}
	return acc
}

func (c *Curve4) ScalarBaseMult(k []byte) (rx, ry []byte) {
	var kk fe4
	kk.setBytes(k)
	p := c.baseMult(&kk)
	a := c.projToAffine(&p)
	return c.affineBytes(&a)
}

// --- Constant-time scalar arithmetic modulo q. ---

func (c *Curve4) ReduceScalar(b []byte) []byte {
	var buf [2 * size4]byte
	copy(buf[len(buf)-len(b):], b)
	var hi, lo fe4
	hi.setBytes(buf[:size4])
	lo.setBytes(buf[size4:])
	f := &c.fq
	f.mul(&hi, &hi, &f.rr) // hi·R mod q, the value of the top half
	f.toMont(&lo, &lo)
	f.fromMont(&lo, &lo) // lo mod q
	f.add(&lo, &lo, &hi)
	return lo.bytes()
}

func (c *Curve4) ScalarInRange(k []byte) bool {
	var kk fe4
	kk.setBytes(k)
	return kk.less(&c.q)&(1^kk.isZero()) == 1
}

func (c *Curve4) Sign(d, k, e []byte) (r, s []byte) {
	var dd, kk, ee fe4
	dd.setBytes(d)
	kk.setBytes(k)
	ee.setBytes(e)
	p := c.baseMult(&kk)
	a := c.projToAffine(&p)
	var x, rr, t fe4
	c.fp.fromMont(&x, &a.x)
	f := &c.fq
	f.toMont(&rr, &x)
	f.fromMont(&rr, &rr) // x mod q
	f.mul(&t, &rr, &dd)  // r·d·R⁻¹
	f.mul(&ee, &kk, &ee) // k·e·R⁻¹
	f.add(&t, &t, &ee)
	f.toMont(&t, &t) // r·d + k·e
	return rr.bytes(), t.bytes()
}

func (x *fe4) big() *big.Int { return new(big.Int).SetBytes(x.bytes()) }

func (c *Curve4) Check(p, a, b, q, x, y *big.Int) error {
	if err := checkField("p", p, c.fp.m[:], c.fp.c, c.fp.n0, c.fp.one.big(), c.fp.rr.big(), 64*n4); err != nil {
		return err
	}
	if err := checkField("q", q, c.fq.m[:], c.fq.c, c.fq.n0, c.fq.one.big(), c.fq.rr.big(), 64*n4); err != nil {
		return err
	}
	if c.fq.c != 0 {
		return fmt.Errorf("q must use Montgomery form")
	}
	var t fe4
	for _, v := range []struct {
		name string
		got  *fe4
		want *big.Int
	}{
		{"a", &c.a, a}, {"b", &c.b, b}, {"3b", &c.b3, new(big.Int).Mod(new(big.Int).Mul(b, big.NewInt(3)), p)},
		{"x", &c.g.x, x}, {"y", &c.g.y, y},
	} {
		c.fp.fromMont(&t, v.got)
		if t.big().Cmp(v.want) != 0 {
			return fmt.Errorf("%s: %x, want %x", v.name, t.big(), v.want)
		}
	}
	if c.q.big().Cmp(q) != 0 {
		return fmt.Errorf("q: %x, want %x", c.q.big(), q)
	}
	if want := new(big.Int).Sub(p, a).Cmp(big.NewInt(3)) == 0; c.aIsM3 != want {
		return fmt.Errorf("a = -3 is %v, want %v", c.aIsM3, want)
	}
	if want := new(big.Int).Mul(q, big.NewInt(2)).Cmp(new(big.Int).Add(p, big.NewInt(1))) > 0; c.cof1 && !want {
		return fmt.Errorf("cofactor 1 claimed for q ≤ (p+1)/2")
	}
	if c.onCurve(&c.g) != 1 {
		return fmt.Errorf("the base point G is not on the curve")
	}
	return nil
}
