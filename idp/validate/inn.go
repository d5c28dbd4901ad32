package validate

import (
	"fmt"
	"strings"
)

// Check digit weights: the 10th digit of an organisation's INN, the 11th and
// the 12th digit of an individual's.
var (
	innWeights10 = [...]int{2, 4, 10, 3, 5, 9, 4, 6, 8}
	innWeights11 = [...]int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
	innWeights12 = [...]int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
)

// INN validates a taxpayer number of an individual (12 digits, two check
// digits) or an organisation (10 digits, one check digit) and returns its
// digits. Surrounding spaces are ignored; nothing else is allowed.
func INN(s string) (string, error) { return parseINN(s, false) }

// PersonINN is INN restricted to the 12-digit numbers of individuals, the
// only kind a citizen has.
func PersonINN(s string) (string, error) { return parseINN(s, true) }

func parseINN(s string, personOnly bool) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fail(msgINNRequired)
	}
	wrongLength := fail(msgINNFormat)
	if personOnly {
		wrongLength = fail(msgINNPersonFormat)
	}
	if len(t) > 12 || !allDigits(t) {
		return "", wrongLength
	}
	switch {
	case len(t) == 12:
		if t == "000000000000" {
			return "", fail(msgINNZero)
		}
		if innCheck(t[:10], innWeights11[:]) != t[10] || innCheck(t[:11], innWeights12[:]) != t[11] {
			return "", fail(msgINNChecksum)
		}
	case len(t) == 10 && !personOnly:
		if t == "0000000000" {
			return "", fail(msgINNZero)
		}
		if innCheck(t[:9], innWeights10[:]) != t[9] {
			return "", fail(msgINNChecksum)
		}
	default:
		return "", wrongLength
	}
	return t, nil
}

// innCheck returns the check digit for digits: the weighted sum modulo 11,
// then modulo 10.
func innCheck(digits string, weights []int) byte {
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	return byte('0' + sum%11%10)
}

// GenerateINN12 returns the valid 12-digit INN whose first ten digits are n.
// It is a helper for tests and demo data. It panics unless
// 1 <= n <= 9999999999.
func GenerateINN12(n int64) string {
	if n < 1 || n > 9999999999 {
		panic(fmt.Sprintf("validate.GenerateINN12: %d out of range 1..9999999999", n))
	}
	d := fmt.Sprintf("%010d", n)
	d += string(innCheck(d, innWeights11[:]))
	return d + string(innCheck(d, innWeights12[:]))
}

// MaskINN returns an INN with all but its last four digits hidden
// (********2259), for display; "" for a value of four digits or fewer.
func MaskINN(inn string) string {
	if len(inn) <= 4 {
		return ""
	}
	return strings.Repeat("*", len(inn)-4) + inn[len(inn)-4:]
}
