package otp

import (
	"crypto/rand"
	"testing"
)

// TestCodeUniform: every digit position is close to uniform over many draws
// (a chi-square test would be overkill; a modulo bias of 2^64 mod 10^6 is
// far below what any sample could show, so this guards against gross
// mistakes such as a fixed digit or a short read).
func TestCodeUniform(t *testing.T) {
	s := &Service{cfg: Config{Length: 6, Rand: rand.Reader}, modulus: 1_000_000}
	const n = 20000
	var counts [6][10]int
	for range n {
		code, err := s.randomCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != 6 {
			t.Fatalf("code %q", code)
		}
		for i := range 6 {
			counts[i][code[i]-'0']++
		}
	}
	for i, row := range counts {
		for d, k := range row {
			if k < n/10*8/10 || k > n/10*12/10 {
				t.Errorf("digit %d at position %d drawn %d times of %d", d, i, k, n)
			}
		}
	}
}
