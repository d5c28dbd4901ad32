package letter

import (
	"crypto/rand"
	"crypto/subtle"
	"strings"
)

// CodeAlphabet is the letters and digits a code is made of: none that
// reads like another on paper (no 0/O, 1/I/L).
const CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CodeLength is the characters of a code.
const CodeLength = 8

// newCode makes a code from crypto/rand, each character uniform over
// CodeAlphabet (rand.Text-like rejection of the bytes that would bias it).
func newCode() string {
	var b strings.Builder
	buf := make([]byte, 1)
	limit := byte(256 - 256%len(CodeAlphabet))
	for b.Len() < CodeLength {
		_, _ = rand.Read(buf) // never fails (crypto/rand)
		if buf[0] < limit {
			b.WriteByte(CodeAlphabet[int(buf[0])%len(CodeAlphabet)])
		}
	}
	return b.String()
}

// NormalizeCode is the code as typed, upper-cased, with spaces and
// hyphens dropped and the look-alikes a citizen might type for the
// missing characters (O for 0…) left as they are: they are simply wrong.
func NormalizeCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// Hasher makes the keyed hash of a code (keys.Manager.BlindIndex): a
// database dump alone does not let anyone test codes.
type Hasher interface {
	BlindIndex(domain, value string) []byte
}

const codeDomain = "letter-code"

// codeHash binds the code to its letter: the same code on two letters
// hashes differently.
func codeHash(h Hasher, letterID, code string) []byte {
	return h.BlindIndex(codeDomain, letterID+"|"+code)
}

func sameCode(h Hasher, letterID, code string, stored []byte) bool {
	return len(stored) > 0 && subtle.ConstantTimeCompare(codeHash(h, letterID, NormalizeCode(code)), stored) == 1
}
