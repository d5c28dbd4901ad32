package access

import (
	"crypto/rand"
	"errors"
	"strings"
)

// Alphabet is the codes' alphabet: upper-case Latin letters and digits
// without the look-alikes 0/O, 1/I/L, so that a code read out or copied
// from paper is typed right.
const Alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLen is a code's length in characters; shown in groups of four.
// 31^12 ≈ 2^59 codes, against 3 tries.
const CodeLen = 12

// ErrCodeFormat: what was typed is not 12 characters of the alphabet.
var ErrCodeFormat = errors.New("access: not an access code")

// newCode returns a random code in its canonical form (no separators).
func newCode() string {
	b := make([]byte, CodeLen)
	// Rejection sampling keeps every character equally likely.
	const limit = 256 - 256%len(Alphabet)
	var buf [1]byte
	for i := 0; i < CodeLen; {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails
		if int(buf[0]) < limit {
			b[i] = Alphabet[int(buf[0])%len(Alphabet)]
			i++
		}
	}
	return string(b)
}

// Format shows a canonical code in groups of four: "ABCD-EFGH-JKMN".
func Format(code string) string {
	var sb strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(code[i:min(i+4, len(code))])
	}
	return sb.String()
}

// ParseCode reads a code as people type it — any case, with spaces or
// hyphens between characters — into its canonical form.
func ParseCode(s string) (string, error) {
	if len(s) > 64 {
		return "", ErrCodeFormat
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\u00a0':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > 127 || !strings.ContainsRune(Alphabet, r) {
			return "", ErrCodeFormat
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLen {
		return "", ErrCodeFormat
	}
	return b.String(), nil
}
