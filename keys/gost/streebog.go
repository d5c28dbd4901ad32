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

// lps returns L(P(S(a ⊕ b))).
func lps(a, b *[8]uint64) [8]uint64 {
	var t, r [8]uint64
	for i := range t {
		t[i] = a[i] ^ b[i]
	}
	for i := uint(0); i < 8; i++ {
		s := 8 * i
		r[i] = sl[0][byte(t[0]>>s)] ^ sl[1][byte(t[1]>>s)] ^
			sl[2][byte(t[2]>>s)] ^ sl[3][byte(t[3]>>s)] ^
			sl[4][byte(t[4]>>s)] ^ sl[5][byte(t[5]>>s)] ^
			sl[6][byte(t[6]>>s)] ^ sl[7][byte(t[7]>>s)]
	}
	return r
}

// g is the compression function g_N(h, m) = E(LPS(h ⊕ N), m) ⊕ h ⊕ m.
func g(h, n, m *[8]uint64) {
	k := lps(h, n)
	s := lps(&k, m)
	for i := 0; i < 11; i++ {
		k = lps(&k, &roundConstants[i])
		s = lps(&k, &s)
	}
	k = lps(&k, &roundConstants[11])
	for i := range h {
		h[i] ^= s[i] ^ k[i] ^ m[i]
	}
}
