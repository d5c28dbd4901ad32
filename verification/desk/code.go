package desk

import (
	"crypto/rand"
	"strings"
)

// Alphabet is the confirmation code's alphabet: digits and Latin capitals
// without 0/O, 1/I/L, which people mistake for one another when reading a
// code off a phone's screen aloud.
const Alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CodeLen is the code's length: 31^8 ≈ 8.5·10^11 codes, against at most
// one live code per account and an operator's search that is logged.
const CodeLen = 8

// newCode returns a random code (uniform: rejection sampling).
func newCode() string {
	var b strings.Builder
	buf := make([]byte, 1)
	const limit = 256 - 256%len(Alphabet)
	for b.Len() < CodeLen {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails
		if int(buf[0]) >= limit {
			continue
		}
		b.WriteByte(Alphabet[int(buf[0])%len(Alphabet)])
	}
	return b.String()
}

// Normalize reads a code as typed or scanned: case, spaces, hyphens and
// other separators are ignored. It returns "" when what remains is not a
// code (a character outside the alphabet, a wrong length): an ambiguous
// character is not guessed.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case strings.ContainsRune(Alphabet, r):
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\u2010' || r == '\u2011' || r == '\u2013' || r == '\u2014' || r == '_' || r == '.' || r == '\t':
		default:
			return ""
		}
	}
	if b.Len() != CodeLen {
		return ""
	}
	return b.String()
}

// Groups writes a code in two groups of four: «ABCD-EFGH».
func Groups(code string) string {
	if len(code) != CodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}
