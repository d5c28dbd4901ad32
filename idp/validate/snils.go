package validate

import (
	"fmt"
	"strings"
	"unicode"
)

// maxInput bounds the length of identifiers before any parsing; longer input
// is a format error.
const maxInput = 64

// lastUnissuedSNILS is 001-001-998: numbers up to it carry no checksum and are
// not issued.
const lastUnissuedSNILS = 1001998

// SNILS validates a SNILS (insurance number of an individual personal
// account) and returns it in the canonical form 123-456-789 64.
//
// Accepted: 11 digits, optionally with a single "-" or space after the third,
// sixth and ninth digit (123-456-789 64, 123 456 789 64, 123-456-789-64,
// 12345678964), with surrounding spaces. The last two digits must equal the
// Pension Fund checksum of the first nine; numbers up to 001-001-998 are
// rejected as "format" because they are not issued.
func SNILS(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fail(msgSNILSRequired)
	}
	d, _, ok := snilsDigits(t)
	if !ok {
		return "", fail(msgSNILSFormat)
	}
	num := atoi(d[:9])
	if num <= lastUnissuedSNILS {
		return "", fail(msgSNILSUnissued)
	}
	if snilsChecksum(d[:9]) != atoi(d[9:]) {
		return "", fail(msgSNILSChecksum)
	}
	return d[0:3] + "-" + d[3:6] + "-" + d[6:9] + " " + d[9:11], nil
}

// snilsDigits extracts the 11 digits of a SNILS written with optional single
// separators after the 3rd, 6th and 9th digit. seps reports whether any
// separator was present.
func snilsDigits(t string) (d string, seps bool, ok bool) {
	if len(t) > maxInput {
		return "", false, false
	}
	var b strings.Builder
	n, sepHere := 0, false
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			if n == 11 {
				return "", false, false
			}
			b.WriteRune(r)
			n++
			sepHere = false
		case r == '-' || unicode.IsSpace(r):
			if sepHere || (n != 3 && n != 6 && n != 9) {
				return "", false, false
			}
			sepHere, seps = true, true
		default:
			return "", false, false
		}
	}
	if n != 11 {
		return "", false, false
	}
	return b.String(), seps, true
}

// snilsChecksum returns the check number of the first nine digits: the sum of
// digit×weight with weights 9..1, modulo 101, where 100 becomes 0.
func snilsChecksum(d9 string) int {
	sum := 0
	for i := range 9 {
		sum += int(d9[i]-'0') * (9 - i)
	}
	c := sum % 101
	if c == 100 {
		c = 0
	}
	return c
}

// SNILSDigits returns the 11 digits of a valid SNILS (12345678964), the form
// some registries and certificates (OID 1.2.643.100.3) use. It returns "" when
// s is not a valid SNILS.
func SNILSDigits(s string) string {
	c, err := SNILS(s)
	if err != nil {
		return ""
	}
	return c[0:3] + c[4:7] + c[8:11] + c[12:14]
}

// MaskSNILS returns a valid SNILS with its middle digits hidden
// (123-***-*** 64), for display. It returns "" when s is not a valid SNILS.
func MaskSNILS(s string) string {
	c, err := SNILS(s)
	if err != nil {
		return ""
	}
	return c[0:3] + "-***-*** " + c[12:14]
}

// GenerateSNILS returns the valid canonical SNILS whose first nine digits are
// n. It is a helper for tests and demo data. It panics unless
// 1001999 <= n <= 999999999 (smaller numbers are not issued).
func GenerateSNILS(n int) string {
	if n <= lastUnissuedSNILS || n > 999999999 {
		panic(fmt.Sprintf("validate.GenerateSNILS: %d out of range 1001999..999999999", n))
	}
	d := fmt.Sprintf("%09d", n)
	return fmt.Sprintf("%s-%s-%s %02d", d[0:3], d[3:6], d[6:9], snilsChecksum(d))
}

// atoi converts a short string of ASCII digits.
func atoi(d string) int {
	n := 0
	for i := 0; i < len(d); i++ {
		n = n*10 + int(d[i]-'0')
	}
	return n
}

// allDigits reports whether s is non-empty and consists of ASCII digits only.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
