package gost

import (
	"encoding/binary"
	"hash"
	"math/bits"
)

const (
	// BlockSize is the Streebog block size in bytes.
	BlockSize = 64
	// Size256 is the size of a Streebog-256 digest in bytes.
	Size256 = 32
	// Size512 is the size of a Streebog-512 digest in bytes.
	Size512 = 64
)

// digest is the Streebog state. The 512-bit values h, N and Σ are held as
// eight little-endian 64-bit lanes: lane 0 holds the least significant bytes,
// which are also the first bytes of the message block.
type digest struct {
	h, n, sigma [8]uint64
	buf         [BlockSize]byte
	nx          int
	size        int
}

// New256 returns a hash.Hash computing Streebog-256 (GOST R 34.11-2012).
func New256() hash.Hash {
	d := &digest{size: Size256}
	d.Reset()
	return d
}

// New512 returns a hash.Hash computing Streebog-512 (GOST R 34.11-2012).
func New512() hash.Hash {
	d := &digest{size: Size512}
	d.Reset()
	return d
}

// Sum256 returns the Streebog-256 digest of b, as the little-endian byte
// string that GOST R 34.10 and certificates use.
func Sum256(b []byte) [Size256]byte {
	d := digest{size: Size256}
	d.Reset()
	d.Write(b)
	var out [Size256]byte
	d.checkSum(out[:0])
	return out
}

// Sum512 returns the Streebog-512 digest of b.
func Sum512(b []byte) [Size512]byte {
	d := digest{size: Size512}
	d.Reset()
	d.Write(b)
	var out [Size512]byte
	d.checkSum(out[:0])
	return out
}

func (d *digest) Size() int      { return d.size }
func (d *digest) BlockSize() int { return BlockSize }

func (d *digest) Reset() {
	var iv uint64
	if d.size == Size256 {
		iv = 0x0101010101010101
	}
	for i := range d.h {
		d.h[i] = iv
	}
	d.n = [8]uint64{}
	d.sigma = [8]uint64{}
	d.buf = [BlockSize]byte{}
	d.nx = 0
}

func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	if d.nx > 0 {
		c := copy(d.buf[d.nx:], p)
		d.nx += c
		p = p[c:]
		if d.nx < BlockSize {
			return n, nil
		}
		d.block(d.buf[:], BlockSize*8)
		d.nx = 0
	}
	for len(p) >= BlockSize {
		d.block(p[:BlockSize], BlockSize*8)
		p = p[BlockSize:]
	}
	d.nx = copy(d.buf[:], p)
	return n, nil
}

// Sum appends the digest to in without changing the state.
func (d *digest) Sum(in []byte) []byte {
	c := *d
	return c.checkSum(in)
}

// checkSum runs stage 3 of RFC 6986 (section 8.3) and appends the result.
func (d *digest) checkSum(in []byte) []byte {
	var last [BlockSize]byte
	copy(last[:], d.buf[:d.nx])
	last[d.nx] = 1
	d.block(last[:], uint64(d.nx)*8)
	var zero [8]uint64
	n, sigma := d.n, d.sigma
	g(&d.h, &zero, &n)
	g(&d.h, &zero, &sigma)
	var out [BlockSize]byte
	for i, v := range d.h {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
	// The 256-bit digest is the most significant half of h.
	return append(in, out[BlockSize-d.size:]...)
}

// block compresses one 64-byte block carrying bitLen message bits and
// updates N and Σ.
func (d *digest) block(p []byte, bitLen uint64) {
	var m [8]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(p[8*i:])
	}
	g(&d.h, &d.n, &m)
	var c uint64
	d.n[0], c = bits.Add64(d.n[0], bitLen, 0)
	for i := 1; i < 8 && c != 0; i++ {
		d.n[i], c = bits.Add64(d.n[i], 0, c)
	}
	c = 0
	for i := range d.sigma {
		d.sigma[i], c = bits.Add64(d.sigma[i], m[i], c)
	}
}

// lps sets r = L(P(S(a ⊕ b))), unrolled: output lane i gathers byte i of
// every input lane through the combined tables. r may alias a or b.
func lps(r, a, b *[8]uint64) {
	t0, t1, t2, t3 := a[0]^b[0], a[1]^b[1], a[2]^b[2], a[3]^b[3]
	t4, t5, t6, t7 := a[4]^b[4], a[5]^b[5], a[6]^b[6], a[7]^b[7]
	r0 := sl[0][byte(t0)] ^ sl[1][byte(t1)] ^
		sl[2][byte(t2)] ^ sl[3][byte(t3)] ^
		sl[4][byte(t4)] ^ sl[5][byte(t5)] ^
		sl[6][byte(t6)] ^ sl[7][byte(t7)]
	r1 := sl[0][byte(t0>>8)] ^ sl[1][byte(t1>>8)] ^
		sl[2][byte(t2>>8)] ^ sl[3][byte(t3>>8)] ^
		sl[4][byte(t4>>8)] ^ sl[5][byte(t5>>8)] ^
		sl[6][byte(t6>>8)] ^ sl[7][byte(t7>>8)]
	r2 := sl[0][byte(t0>>16)] ^ sl[1][byte(t1>>16)] ^
		sl[2][byte(t2>>16)] ^ sl[3][byte(t3>>16)] ^
		sl[4][byte(t4>>16)] ^ sl[5][byte(t5>>16)] ^
		sl[6][byte(t6>>16)] ^ sl[7][byte(t7>>16)]
	r3 := sl[0][byte(t0>>24)] ^ sl[1][byte(t1>>24)] ^
		sl[2][byte(t2>>24)] ^ sl[3][byte(t3>>24)] ^
		sl[4][byte(t4>>24)] ^ sl[5][byte(t5>>24)] ^
		sl[6][byte(t6>>24)] ^ sl[7][byte(t7>>24)]
	r4 := sl[0][byte(t0>>32)] ^ sl[1][byte(t1>>32)] ^
		sl[2][byte(t2>>32)] ^ sl[3][byte(t3>>32)] ^
		sl[4][byte(t4>>32)] ^ sl[5][byte(t5>>32)] ^
		sl[6][byte(t6>>32)] ^ sl[7][byte(t7>>32)]
	r5 := sl[0][byte(t0>>40)] ^ sl[1][byte(t1>>40)] ^
		sl[2][byte(t2>>40)] ^ sl[3][byte(t3>>40)] ^
		sl[4][byte(t4>>40)] ^ sl[5][byte(t5>>40)] ^
		sl[6][byte(t6>>40)] ^ sl[7][byte(t7>>40)]
	r6 := sl[0][byte(t0>>48)] ^ sl[1][byte(t1>>48)] ^
		sl[2][byte(t2>>48)] ^ sl[3][byte(t3>>48)] ^
		sl[4][byte(t4>>48)] ^ sl[5][byte(t5>>48)] ^
		sl[6][byte(t6>>48)] ^ sl[7][byte(t7>>48)]
	r7 := sl[0][byte(t0>>56)] ^ sl[1][byte(t1>>56)] ^
		sl[2][byte(t2>>56)] ^ sl[3][byte(t3>>56)] ^
		sl[4][byte(t4>>56)] ^ sl[5][byte(t5>>56)] ^
		sl[6][byte(t6>>56)] ^ sl[7][byte(t7>>56)]
	r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = r0, r1, r2, r3, r4, r5, r6, r7
}

// g is the compression function g_N(h, m) = E(LPS(h ⊕ N), m) ⊕ h ⊕ m.
func g(h, n, m *[8]uint64) {
	var k, s [8]uint64
	lps(&k, h, n)
	lps(&s, &k, m)
	for i := range 11 {
		lps(&k, &k, &roundConstants[i])
		lps(&s, &k, &s)
	}
	lps(&k, &k, &roundConstants[11])
	for i := range h {
		h[i] ^= s[i] ^ k[i] ^ m[i]
	}
}
