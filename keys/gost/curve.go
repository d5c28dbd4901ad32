package gost

import (
	"math/big"
	"sync"

	"github.com/gosid/gosid/keys/gost/internal/ec"
)

// Curve is a GOST R 34.10 parameter set: the curve y² = x³ + ax + b over
// GF(P) and a base point (X, Y) of prime order Q. The values must not be
// modified.
type Curve struct {
	Name       string
	P, A, B, Q *big.Int
	X, Y       *big.Int
	// Size is the length in bytes of a coordinate, a private key and each
	// half of a signature: 32 or 64.
	Size int

	// arith is the fixed-size arithmetic, set by newCurve; a Curve built
	// elsewhere gets its own through curveArith.
	arith ec.Curve
}

// The standard parameter sets (RFC 7836 appendix A and RFC 4357 section
// 11.4). TC26 256 B, C and D are the CryptoPro A, B and C curves.
var (
	CurveTC26256A = newCurve("id-tc26-gost-3410-2012-256-paramSetA", 32,
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd97",
		"c2173f1513981673af4892c23035a27ce25e2013bf95aa33b22c656f277e7335",
		"295f9bae7428ed9ccc20e7c359a9d41a22fccd9108e17bf7ba9337a6f8ae9513",
		"400000000000000000000000000000000fd8cddfc87b6635c115af556c360c67",
		"91e38443a5e82c0d880923425712b2bb658b9196932e02c78b2582fe742daa28",
		"32879423ab1a0375895786c4bb46e9565fde0b5344766740af268adb32322e5c")
	CurveCryptoProA = newCurve("id-GostR3410-2001-CryptoPro-A-ParamSet", 32,
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd97",
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd94",
		"a6",
		"ffffffffffffffffffffffffffffffff6c611070995ad10045841b09b761b893",
		"1",
		"8d91e471e0989cda27df505a453f2b7635294f2ddf23e3b122acc99c9e9f1e14")
	CurveCryptoProB = newCurve("id-GostR3410-2001-CryptoPro-B-ParamSet", 32,
		"8000000000000000000000000000000000000000000000000000000000000c99",
		"8000000000000000000000000000000000000000000000000000000000000c96",
		"3e1af419a269a5f866a7d3c25c3df80ae979259373ff2b182f49d4ce7e1bbc8b",
		"800000000000000000000000000000015f700cfff1a624e5e497161bcc8a198f",
		"1",
		"3fa8124359f96680b83d1c3eb2c070e5c545c9858d03ecfb744bf8d717717efc")
	CurveCryptoProC = newCurve("id-GostR3410-2001-CryptoPro-C-ParamSet", 32,
		"9b9f605f5a858107ab1ec85e6b41c8aacf846e86789051d37998f7b9022d759b",
		"9b9f605f5a858107ab1ec85e6b41c8aacf846e86789051d37998f7b9022d7598",
		"805a",
		"9b9f605f5a858107ab1ec85e6b41c8aa582ca3511eddfb74f02f3a6598980bb9",
		"0",
		"41ece55743711a8c3cbf3783cd08c0ee4d4dc440d4641a8f366e550dfdb3bb67")

	CurveTC26256B      = CurveCryptoProA
	CurveTC26256C      = CurveCryptoProB
	CurveTC26256D      = CurveCryptoProC
	CurveCryptoProXchA = CurveCryptoProA
	CurveCryptoProXchB = CurveCryptoProC

	CurveTC26512A = newCurve("id-tc26-gost-3410-12-512-paramSetA", 64,
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc7",
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc4",
		"e8c2505dedfc86ddc1bd0b2b6667f1da34b82574761cb0e879bd081cfd0b6265ee3cb090f30d27614cb4574010da90dd862ef9d4ebee4761503190785a71c760",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff27e69532f48d89116ff22b8d4e0560609b4b38abfad2b85dcacdb1411f10b275",
		"3",
		"7503cfe87a836ae3a61b8816e25450e6ce5e1c93acf1abc1778064fdcbefa921df1626be4fd036e93d75e6a50e3a41e98028fe5fc235f5b889a589cb5215f2a4")
	CurveTC26512B = newCurve("id-tc26-gost-3410-12-512-paramSetB", 64,
		"8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006f",
		"8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006c",
		"687d1b459dc841457e3e06cf6f5e2517b97c7d614af138bcbf85dc806c4b289f3e965d2db1416d217f8b276fad1ab69c50f78bee1fa3106efb8ccbc7c5140116",
		"800000000000000000000000000000000000000000000000000000000000000149a1ec142565a545acfdb77bd9d40cfa8b996712101bea0ec6346c54374f25bd",
		"2",
		"1a8f7eda389b094c2c071e3647a8940f3c123b697578c213be6dd9e6c8ec7335dcb228fd1edf4a39152cbcaaf8c0398828041055f94ceeec7e21340780fe41bd")
	CurveTC26512C = newCurve("id-tc26-gost-3410-2012-512-paramSetC", 64,
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc7",
		"dc9203e514a721875485a529d2c722fb187bc8980eb866644de41c68e143064546e861c0e2c9edd92ade71f46fcf50ff2ad97f951fda9f2a2eb6546f39689bd3",
		"b4c4ee28cebc6c2c8ac12952cf37f16ac7efb6a9f69f4b57ffda2e4f0de5ade038cbc2fff719d2c18de0284b8bfef3b52b8cc7a5f5bf0a3c8d2319a5312557e1",
		"3fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc98cdba46506ab004c33a9ff5147502cc8eda9e7a769a12694623cef47f023ed",
		"e2e31edfc23de7bdebe241ce593ef5de2295b7a9cbaef021d385f7074cea043aa27272a7ae602bf2a7b9033db9ed3610c6fb85487eae97aac5bc7928c1950148",
		"f5ce40d95b5eb899abbccff5911cb8577939804d6527378b8c108c3d2090ff9be18e2d33e3021ed2ef32d85822423b6304f726aa854bae07d0396e9a9addc40f")
)

// Curves lists every distinct parameter set.
var Curves = []*Curve{
	CurveTC26256A, CurveCryptoProA, CurveCryptoProB, CurveCryptoProC,
	CurveTC26512A, CurveTC26512B, CurveTC26512C,
}

func mustHex(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("gost: bad curve constant " + s)
	}
	return v
}

// newCurve builds a parameter set and checks that its base point lies on the
// curve and has order Q, so that a mistyped constant stops the program.
func newCurve(name string, size int, p, a, b, q, x, y string) *Curve {
	c := &Curve{
		Name: name, Size: size,
		P: mustHex(p), A: mustHex(a), B: mustHex(b), Q: mustHex(q),
		X: mustHex(x), Y: mustHex(y),
	}
	impl, err := ec.New(c.P, c.A, c.B, c.Q, c.X, c.Y, c.Size)
	if err != nil {
		panic("gost: " + name + ": " + err.Error())
	}
	c.arith = impl
	if err := c.check(); err != "" {
		panic("gost: " + name + ": " + err)
	}
	return c
}

func (c *Curve) check() string {
	if !c.P.ProbablyPrime(20) || !c.Q.ProbablyPrime(20) {
		return "p or q not prime"
	}
	if !c.IsOnCurve(c.X, c.Y) {
		return "base point not on the curve"
	}
	x, y := c.arith.ScalarMult(c.coord(c.X), c.coord(c.Y), c.coord(c.Q))
	if !isZero(x) || !isZero(y) {
		return "q·P is not the point at infinity"
	}
	return ""
}

// otherCurves holds the arithmetic of curves not built by newCurve.
var otherCurves sync.Map // *Curve → arithOrNil

type arithOrNil struct{ ec.Curve }

// curveArith returns the fixed-size arithmetic for c, or nil when c is not
// a curve it supports (Size other than 32 and 64, malformed parameters).
func (c *Curve) curveArith() ec.Curve {
	if c.arith != nil {
		return c.arith
	}
	if c.P == nil || c.A == nil || c.B == nil || c.Q == nil || c.X == nil || c.Y == nil {
		return nil
	}
	if v, ok := otherCurves.Load(c); ok {
		return v.(arithOrNil).Curve
	}
	impl, err := ec.New(c.P, c.A, c.B, c.Q, c.X, c.Y, c.Size)
	if err != nil {
		impl = nil
	}
	v, _ := otherCurves.LoadOrStore(c, arithOrNil{impl})
	return v.(arithOrNil).Curve
}

// coord returns v, which must be below 2^(8·Size), as Size big-endian bytes.
func (c *Curve) coord(v *big.Int) []byte {
	return v.FillBytes(make([]byte, c.Size))
}

func isZero(b []byte) bool {
	var v byte
	for _, x := range b {
		v |= x
	}
	return v == 0
}

// IsOnCurve reports whether (x, y) is an affine point of the curve with
// coordinates reduced modulo P.
func (c *Curve) IsOnCurve(x, y *big.Int) bool {
	if x.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Sign() < 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, c.P)
	rhs := new(big.Int).Mul(x, x)
	rhs.Add(rhs, c.A)
	rhs.Mul(rhs, x)
	rhs.Add(rhs, c.B)
	rhs.Mod(rhs, c.P)
	return lhs.Cmp(rhs) == 0
}
