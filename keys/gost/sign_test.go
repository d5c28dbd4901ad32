package gost

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"
)

// rfc7091Vector is a GOST R 34.10-2012 example (RFC 7091 section 7,
// reproduced from the standard's appendix A), all numbers big-endian hex.
type rfc7091Vector struct {
	name                  string
	size                  int
	p, a, b, q, x, y      string
	d, e, k, r, s, xq, yq string
}

var rfc7091Vectors = []rfc7091Vector{
	{
		name: "256 (7.1)", size: 32,
		p:  "8000000000000000000000000000000000000000000000000000000000000431",
		a:  "7",
		b:  "5fbff498aa938ce739b8e022fbafef40563f6e6a3472fc2a514c0ce9dae23b7e",
		q:  "8000000000000000000000000000000150fe8a1892976154c59cfc193accf5b3",
		x:  "2",
		y:  "08e2a8a0e65147d4bd6316030e16d19c85c97f0a9ca267122b96abbcea7e8fc8",
		d:  "7a929ade789bb9be10ed359dd39a72c11b60961f49397eee1d19ce9891ec3b28",
		e:  "2dfbc1b372d89a1188c09c52e0eec61fce52032ab1022e8e67ece6672b043ee5",
		k:  "77105c9b20bcd3122823c8cf6fcc7b956de33814e95b7fe64fed924594dceab3",
		r:  "41aa28d2f1ab148280cd9ed56feda41974053554a42767b83ad043fd39dc0493",
		s:  "01456c64ba4642a1653c235a98a60249bcd6d3f746b631df928014f6c5bf9c40",
		xq: "7f2b49e270db6d90d8595bec458b50c58585ba1d4e9b788f6689dbd8e56fd80b",
		yq: "26f1b489d6701dd185c8413a977b3cbbaf64d1c593d26627dffb101a87ff77da",
	},
	{
		name: "512 (7.2)", size: 64,
		p:  "4531acd1fe0023c7550d267b6b2fee80922b14b2ffb90f04d4eb7c09b5d2d15df1d852741af4704a0458047e80e4546d35b8336fac224dd81664bbf528be6373",
		a:  "7",
		b:  "1cff0806a31116da29d8cfa54e57eb748bc5f377e49400fdd788b649eca1ac4361834013b2ad7322480a89ca58e0cf74bc9e540c2add6897fad0a3084f302adc",
		q:  "4531acd1fe0023c7550d267b6b2fee80922b14b2ffb90f04d4eb7c09b5d2d15da82f2d7ecb1dbac719905c5eecc423f1d86e25edbe23c595d644aaf187e6e6df",
		x:  "24d19cc64572ee30f396bf6ebbfd7a6c5213b3b3d7057cc825f91093a68cd762fd60611262cd838dc6b60aa7eee804e28bc849977fac33b4b530f1b120248a9a",
		y:  "2bb312a43bd2ce6e0d020613c857acddcfbf061e91e5f2c3f32447c259f39b2c83ab156d77f1496bf7eb3351e1ee4e43dc1a18b91b24640b6dbb92cb1add371e",
		d:  "0ba6048aadae241ba40936d47756d7c93091a0e8514669700ee7508e508b102072e8123b2200a0563322dad2827e2714a2636b7bfd18aadfc62967821fa18dd4",
		e:  "3754f3cfacc9e0615c4f4a7c4d8dab531b09b6f9c170c533a71d147035b0c5917184ee536593f4414339976c647c5d5a407adedb1d560c4fc6777d2972075b8c",
		k:  "0359e7f4b1410feacc570456c6801496946312120b39d019d455986e364f365886748ed7a44b3e794434006011842286212273a6d14cf70ea3af71bb1ae679f1",
		r:  "2f86fa60a081091a23dd795e1e3c689ee512a3c82ee0dcc2643c78eea8fcacd35492558486b20f1c9ec197c90699850260c93bcbcd9c5c3317e19344e173ae36",
		s:  "1081b394696ffe8e6585e7a9362d26b6325f56778aadbc081c0bfbe933d52ff5823ce288e8c4f362526080df7f70ce406a6eeb1f56919cb92a9853bde73e5b4a",
		xq: "115dc5bc96760c7b48598d8ab9e740d4c4a85a65be33c1815b5c320c854621dd5a515856d13314af69bc5b924c8b4ddff75c45415c1d9dd9dd33612cd530efe1",
		yq: "37c7c90cd40b0f5621dc3ac1b751cfa0e2634fa0503b3d52639f5d7fb72afd61ea199441d943ffe7f0c70a2759a3cdb84c114e1f9339fdf27f35eca93677beec",
	},
}

func TestRFC7091(t *testing.T) {
	for _, v := range rfc7091Vectors {
		t.Run(v.name, func(t *testing.T) {
			c := newCurve("test "+v.name, v.size, v.p, v.a, v.b, v.q, v.x, v.y)
			priv, err := NewPrivateKey(c, mustHex(v.d))
			if err != nil {
				t.Fatal(err)
			}
			if priv.X.Cmp(mustHex(v.xq)) != 0 || priv.Y.Cmp(mustHex(v.yq)) != 0 {
				t.Fatalf("public key = (%x, %x)", priv.X, priv.Y)
			}
			want := make([]byte, 2*v.size)
			mustHex(v.s).FillBytes(want[:v.size])
			mustHex(v.r).FillBytes(want[v.size:])

			// The digest is the little-endian byte string of e.
			digest := make([]byte, v.size)
			intToLE(digest, mustHex(v.e))
			e := digestToInt(c, digest)
			d := priv.D.FillBytes(make([]byte, v.size))
			k := mustHex(v.k).FillBytes(make([]byte, v.size))
			if got := signWithK(c, c.curveArith(), d, e, k); !bytes.Equal(got, want) {
				t.Fatalf("signature = %x, want %x", got, want)
			}
			if got := refSignWithK(priv, e, mustHex(v.k)); !bytes.Equal(got, want) {
				t.Fatalf("reference signature = %x, want %x", got, want)
			}
			if ref := refPublicKey(c, priv.D); ref.X.Cmp(priv.X) != 0 || ref.Y.Cmp(priv.Y) != 0 {
				t.Fatal("reference public key differs")
			}
			pub, err := ParsePublicKey(c, priv.PublicKey.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(pub, digest, want) {
				t.Fatal("the RFC 7091 signature does not verify")
			}
			sig, err := Sign(priv, digest, nil)
			if err != nil || !Verify(pub, digest, sig) {
				t.Fatalf("fresh signature does not verify: %v", err)
			}
		})
	}
}

func TestCurveParameters(t *testing.T) {
	for _, c := range Curves {
		if !c.IsOnCurve(c.X, c.Y) {
			t.Errorf("%s: base point not on the curve", c.Name)
		}
		if !c.refScalarMult(c.X, c.Y, c.Q).isInfinity() {
			t.Errorf("%s: q·P is not the point at infinity", c.Name)
		}
		if c.refScalarMult(c.X, c.Y, new(big.Int).Sub(c.Q, big.NewInt(1))).isInfinity() {
			t.Errorf("%s: (q-1)·P is the point at infinity", c.Name)
		}
		if c.Q.BitLen() < 8*c.Size-2 {
			t.Errorf("%s: q is only %d bits", c.Name, c.Q.BitLen())
		}
	}
	if CurveTC26256B != CurveCryptoProA || CurveTC26256C != CurveCryptoProB ||
		CurveTC26256D != CurveCryptoProC || CurveCryptoProXchA != CurveCryptoProA ||
		CurveCryptoProXchB != CurveCryptoProC {
		t.Error("aliases point at the wrong curves")
	}
}

func TestSignVerifyAllCurves(t *testing.T) {
	for _, c := range Curves {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			priv, err := GenerateKey(c, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(c, priv.PublicKey.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			digest := make([]byte, c.Size)
			rand.Read(digest)
			sig, err := Sign(priv, digest, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(pub, digest, sig) {
				t.Fatal("signature does not verify")
			}
			for bit := 0; bit < 8*len(sig); bit++ {
				bad := bytes.Clone(sig)
				bad[bit/8] ^= 1 << (bit % 8)
				if Verify(pub, digest, bad) {
					t.Fatalf("signature with bit %d flipped verifies", bit)
				}
			}
			for bit := 0; bit < 8*len(digest); bit++ {
				bad := bytes.Clone(digest)
				bad[bit/8] ^= 1 << (bit % 8)
				if Verify(pub, bad, sig) {
					t.Fatalf("digest with bit %d flipped verifies", bit)
				}
			}
			other, _ := GenerateKey(c, rand.Reader)
			if Verify(&other.PublicKey, digest, sig) {
				t.Fatal("signature verifies under another key")
			}
			if Verify(pub, digest, sig[:len(sig)-1]) || Verify(pub, digest, append(sig, 0)) {
				t.Fatal("signature of the wrong length verifies")
			}
			zeroR := bytes.Clone(sig)
			clear(zeroR[c.Size:])
			zeroS := bytes.Clone(sig)
			clear(zeroS[:c.Size])
			if Verify(pub, digest, zeroR) || Verify(pub, digest, zeroS) {
				t.Fatal("signature with a zero half verifies")
			}
			bigR := bytes.Clone(sig)
			r := new(big.Int).SetBytes(sig[c.Size:])
			r.Add(r, c.Q)
			if r.BitLen() <= 8*c.Size {
				r.FillBytes(bigR[c.Size:])
				if Verify(pub, digest, bigR) {
					t.Fatal("signature with r+q verifies")
				}
			}
		})
	}
}

func TestZeroDigest(t *testing.T) {
	c := CurveTC26256A
	priv, _ := GenerateKey(c, nil)
	zero := make([]byte, c.Size)
	sig, err := Sign(priv, zero, nil)
	if err != nil || !Verify(&priv.PublicKey, zero, sig) {
		t.Fatal("zero digest (e = 1) does not round-trip")
	}
	// q as a digest reduces to zero and so also means e = 1.
	qDigest := make([]byte, c.Size)
	intToLE(qDigest, c.Q)
	if !Verify(&priv.PublicKey, qDigest, sig) {
		t.Fatal("digest ≡ 0 mod q is not treated as e = 1")
	}
}

func TestParsePublicKeyRejects(t *testing.T) {
	c := CurveTC26256A
	priv, _ := GenerateKey(c, nil)
	good := priv.PublicKey.Bytes()
	for name, raw := range map[string][]byte{
		"short": good[:len(good)-1],
		"long":  append(bytes.Clone(good), 0),
		"empty": nil,
		"off curve": func() []byte {
			b := bytes.Clone(good)
			b[0] ^= 1
			return b
		}(),
		"x = p": func() []byte {
			b := bytes.Clone(good)
			intToLE(b[:c.Size], c.P)
			return b
		}(),
	} {
		if _, err := ParsePublicKey(c, raw); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: err = %v, want ErrInvalidKey", name, err)
		}
	}

	// TC26 256 A has cofactor 4: find a curve point outside the subgroup.
	x := big.NewInt(1)
	for ; ; x.Add(x, big.NewInt(1)) {
		rhs := new(big.Int).Mul(x, x)
		rhs.Add(rhs, c.A)
		rhs.Mul(rhs, x)
		rhs.Add(rhs, c.B)
		rhs.Mod(rhs, c.P)
		y := new(big.Int).ModSqrt(rhs, c.P)
		if y == nil || c.refScalarMult(x, y, c.Q).isInfinity() {
			continue
		}
		raw := (&PublicKey{Curve: c, X: x, Y: y}).Bytes()
		if _, err := ParsePublicKey(c, raw); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("point outside the subgroup: err = %v", err)
		}
		break
	}
}

func FuzzParsePublicKey(f *testing.F) {
	for i, c := range Curves {
		priv, _ := GenerateKey(c, nil)
		f.Add(uint8(i), priv.PublicKey.Bytes())
	}
	f.Add(uint8(4), make([]byte, 128))
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		c := Curves[int(which)%len(Curves)]
		pub, err := ParsePublicKey(c, raw)
		if len(raw) == 2*c.Size {
			if want := refParse(c, leToInt(raw[:c.Size]), leToInt(raw[c.Size:])); (err == nil) != want {
				t.Fatalf("ParsePublicKey: %v, reference accepts: %v", err, want)
			}
		}
		if err != nil {
			return
		}
		if !bytes.Equal(pub.Bytes(), raw) {
			t.Fatal("Bytes does not round-trip")
		}
		Verify(pub, raw[:c.Size], raw[:2*c.Size])
	})
}

func benchmarkVerify(b *testing.B, c *Curve) {
	priv, _ := GenerateKey(c, nil)
	digest := make([]byte, c.Size)
	rand.Read(digest)
	sig, _ := Sign(priv, digest, nil)
	pub := &priv.PublicKey
	Verify(pub, digest, sig) // build the base point table outside the timing
	cpu := cpuSeconds()
	for b.Loop() {
		if !Verify(pub, digest, sig) {
			b.Fatal("verify failed")
		}
	}
	reportRate(b, cpu, "verifications")
}

// reportRate reports b.N per second of wall-clock time and, where the
// platform tells, per second of CPU time since cpu.
func reportRate(b *testing.B, cpu float64, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
	if now := cpuSeconds(); cpu >= 0 && now > cpu {
		b.ReportMetric(float64(b.N)/(now-cpu), unit+"/cpu-s")
	}
}

func benchmarkSign(b *testing.B, c *Curve) {
	priv, _ := GenerateKey(c, nil)
	digest := make([]byte, c.Size)
	rand.Read(digest)
	Sign(priv, digest, nil) // build the base point tables outside the timing
	cpu := cpuSeconds()
	for b.Loop() {
		if _, err := Sign(priv, digest, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, cpu, "signatures")
}

// BenchmarkVerify256 and BenchmarkVerify512 use the TC26 A curves;
// BenchmarkVerifyCurves and BenchmarkSignCurves cover every parameter set.
func BenchmarkVerify256(b *testing.B) { benchmarkVerify(b, CurveTC26256A) }
func BenchmarkVerify512(b *testing.B) { benchmarkVerify(b, CurveTC26512A) }
func BenchmarkSign256(b *testing.B)   { benchmarkSign(b, CurveTC26256A) }
func BenchmarkSign512(b *testing.B)   { benchmarkSign(b, CurveTC26512A) }

func BenchmarkVerifyCurves(b *testing.B) {
	for _, c := range Curves {
		b.Run(c.Name, func(b *testing.B) { benchmarkVerify(b, c) })
	}
}

func BenchmarkSignCurves(b *testing.B) {
	for _, c := range Curves {
		b.Run(c.Name, func(b *testing.B) { benchmarkSign(b, c) })
	}
}

func BenchmarkParsePublicKey(b *testing.B) {
	for _, c := range []*Curve{CurveTC26256A, CurveTC26512A} {
		priv, _ := GenerateKey(c, nil)
		raw := priv.PublicKey.Bytes()
		b.Run(c.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParsePublicKey(c, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
