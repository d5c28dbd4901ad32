package ec

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"os"
	"testing"
)

func TestGenerated(t *testing.T) {
	src, err := os.ReadFile("ec4.go")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("ec8.go")
	if err != nil {
		t.Fatal(err)
	}
	// The same transformation as To8 in gen.go, up to gofmt.
	want := to8(src)
	if !bytes.Equal(got, want) {
		t.Fatal("ec8.go is out of date: run go generate")
	}
}

// testModuli returns moduli that exercise both reductions and the carries:
// pseudo-Mersenne, just above 2^(64n-1), a full top limb, random.
func testModuli(t *testing.T, n int) []*big.Int {
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*n))
	half := new(big.Int).Rsh(r, 1)
	ms := []*big.Int{
		new(big.Int).Sub(r, big.NewInt(617)),
		new(big.Int).Sub(r, big.NewInt(1<<31-1)),
		new(big.Int).Add(half, big.NewInt(3225)),
		new(big.Int).Sub(r, big.NewInt(1)),
		new(big.Int).Add(new(big.Int).Rsh(r, 8), big.NewInt(1)),
	}
	for range 4 {
		m, err := rand.Int(rand.Reader, r)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m.SetBit(m, 0, 1))
	}
	return ms
}

// testValues returns values below m, with the edges.
func testValues(t *testing.T, m *big.Int) []*big.Int {
	vs := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2),
		new(big.Int).Sub(m, big.NewInt(1)), new(big.Int).Sub(m, big.NewInt(2)),
		new(big.Int).Rsh(m, 1),
	}
	for range 12 {
		v, err := rand.Int(rand.Reader, m)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestField4(t *testing.T) {
	for _, m := range testModuli(t, n4) {
		for _, pseudo := range []bool{false, true} {
			f := newField4(m, pseudo)
			r := new(big.Int).Lsh(big.NewInt(1), 64*n4)
			rInv := new(big.Int).ModInverse(r, m)
			if f.c != 0 {
				rInv.SetInt64(1)
			}
			toBig := func(x *fe4) *big.Int { return new(big.Int).SetBytes(x.bytes()) }
			vs := testValues(t, m)
			for _, a := range vs {
				for _, b := range vs {
					var x, y, z fe4
					x.setBig(a)
					y.setBig(b)
					check := func(op string, want *big.Int) {
						t.Helper()
						want.Mod(want, m)
						if toBig(&z).Cmp(want) != 0 {
							t.Fatalf("m=%x pseudo=%v: %s(%x, %x) = %x, want %x", m, pseudo, op, a, b, toBig(&z), want)
						}
					}
					f.mul(&z, &x, &y)
					check("mul", new(big.Int).Mul(new(big.Int).Mul(a, b), rInv))
					f.sqr(&z, &x)
					check("sqr", new(big.Int).Mul(new(big.Int).Mul(a, a), rInv))
					f.add(&z, &x, &y)
					check("add", new(big.Int).Add(a, b))
					f.sub(&z, &x, &y)
					check("sub", new(big.Int).Sub(a, b))
					z = x
					f.mul(&z, &z, &y)
					check("mul aliased", new(big.Int).Mul(new(big.Int).Mul(a, b), rInv))
				}
				// Montgomery round trip, with an unreduced input below R.
				var x, z fe4
				x.setBig(a)
				f.toMont(&z, &x)
				f.fromMont(&z, &z)
				if toBig(&z).Cmp(a) != 0 {
					t.Fatalf("round trip of %x gives %x", a, toBig(&z))
				}
				big1 := new(big.Int).Add(a, m)
				if big1.Cmp(r) < 0 {
					x.setBig(big1)
					f.toMont(&z, &x)
					f.fromMont(&z, &z)
					if toBig(&z).Cmp(a) != 0 {
						t.Fatalf("reduction of %x gives %x", big1, toBig(&z))
					}
				}
				if m.ProbablyPrime(10) && a.Sign() != 0 {
					f.toMont(&x, &x)
					f.inv(&z, &x)
					f.mul(&z, &z, &x)
					if z != f.one {
						t.Fatalf("inv(%x) is wrong", a)
					}
				}
			}
		}
	}
}

func TestField8(t *testing.T) {
	for _, m := range testModuli(t, n8) {
		for _, pseudo := range []bool{false, true} {
			f := newField8(m, pseudo)
			r := new(big.Int).Lsh(big.NewInt(1), 64*n8)
			rInv := new(big.Int).ModInverse(r, m)
			if f.c != 0 {
				rInv.SetInt64(1)
			}
			toBig := func(x *fe8) *big.Int { return new(big.Int).SetBytes(x.bytes()) }
			vs := testValues(t, m)
			for _, a := range vs {
				for _, b := range vs {
					var x, y, z fe8
					x.setBig(a)
					y.setBig(b)
					check := func(op string, want *big.Int) {
						t.Helper()
						want.Mod(want, m)
						if toBig(&z).Cmp(want) != 0 {
							t.Fatalf("m=%x pseudo=%v: %s(%x, %x) = %x, want %x", m, pseudo, op, a, b, toBig(&z), want)
						}
					}
					f.mul(&z, &x, &y)
					check("mul", new(big.Int).Mul(new(big.Int).Mul(a, b), rInv))
					f.sqr(&z, &x)
					check("sqr", new(big.Int).Mul(new(big.Int).Mul(a, a), rInv))
					f.add(&z, &x, &y)
					check("add", new(big.Int).Add(a, b))
					f.sub(&z, &x, &y)
					check("sub", new(big.Int).Sub(a, b))
				}
			}
		}
	}
}

func TestNegInv64(t *testing.T) {
	for _, x := range []uint64{1, 3, 0xffffffffffffffff, 0xfffffffffffffd97, 0x8000000000000001} {
		if x*negInv64(x) != 1<<64-1 {
			t.Errorf("negInv64(%x) is wrong", x)
		}
	}
}

func TestWNAF(t *testing.T) {
	for _, w := range []uint{2, 5, 8} {
		for range 200 {
			b := make([]byte, 32)
			rand.Read(b)
			var k fe4
			k.setBytes(b)
			var kk [n4 + 1]uint64
			copy(kk[:], k[:])
			var out [64 * (n4 + 1)]int8
			n := wnaf(out[:], kk[:], w)
			sum := new(big.Int)
			for i := n - 1; i >= 0; i-- {
				sum.Lsh(sum, 1)
				sum.Add(sum, big.NewInt(int64(out[i])))
				if d := int(out[i]); d != 0 && (d%2 == 0 || d >= 1<<(w-1) || d <= -(1<<(w-1))) {
					t.Fatalf("bad digit %d", d)
				}
			}
			if sum.Cmp(new(big.Int).SetBytes(b)) != 0 {
				t.Fatalf("wNAF of %x sums to %x", b, sum)
			}
		}
	}
}

func TestBooth(t *testing.T) {
	for _, w := range []uint{4, 5, 6} {
		for range 200 {
			b := make([]byte, 32)
			rand.Read(b)
			var k fe4
			k.setBytes(b)
			sum := new(big.Int)
			windows := (64*n4 + int(w)) / int(w)
			for i := windows - 1; i >= 0; i-- {
				mag, neg := booth(windowBits(k[:], int(w)*i-1, int(w)+1), w)
				if mag > 1<<(w-1) {
					t.Fatalf("digit magnitude %d", mag)
				}
				d := big.NewInt(int64(mag))
				if neg == 1 {
					d.Neg(d)
				}
				sum.Lsh(sum, w)
				sum.Add(sum, d)
			}
			if sum.Cmp(new(big.Int).SetBytes(b)) != 0 {
				t.Fatalf("Booth digits of %x sum to %x", b, sum)
			}
		}
	}
}

func BenchmarkField(b *testing.B) {
	p256, _ := new(big.Int).SetString("9b9f605f5a858107ab1ec85e6b41c8aacf846e86789051d37998f7b9022d759b", 16)
	pm256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(617))
	p512 := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 511), big.NewInt(111))
	pm512 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 512), big.NewInt(569))
	for _, tc := range []struct {
		name string
		m    *big.Int
	}{{"mont256", p256}, {"pm256", pm256}} {
		f := newField4(tc.m, true)
		x := fe4{1, 2, 3, 4}
		b.Run(tc.name+"/mul", func(b *testing.B) {
			for b.Loop() {
				f.mul(&x, &x, &x)
			}
		})
		b.Run(tc.name+"/sqr", func(b *testing.B) {
			for b.Loop() {
				f.sqr(&x, &x)
			}
		})
	}
	for _, tc := range []struct {
		name string
		m    *big.Int
	}{{"mont512", p512}, {"pm512", pm512}} {
		f := newField8(tc.m, true)
		x := fe8{1, 2, 3, 4}
		b.Run(tc.name+"/mul", func(b *testing.B) {
			for b.Loop() {
				f.mul(&x, &x, &x)
			}
		})
		b.Run(tc.name+"/sqr", func(b *testing.B) {
			for b.Loop() {
				f.sqr(&x, &x)
			}
		})
	}
}
