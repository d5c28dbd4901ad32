package payments

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// MaxAmount bounds any amount the portal accepts: 10^13 kopecks (a hundred
// billion roubles) is beyond any charge, and far from int64's overflow in
// sums.
const MaxAmount int64 = 10_000_000_000_000

var (
	ErrAmountFormat   = errors.New("payments: not an amount of roubles")
	ErrAmountFraction = errors.New("payments: more than two decimals or not whole kopecks")
	ErrAmountNegative = errors.New("payments: amount not positive")
	ErrAmountTooLarge = errors.New("payments: amount too large")
)

// ParseRubles reads an amount of roubles typed in a form: "1234",
// "1234.5", "1234,56", "1 234,56" (spaces or no-break spaces between groups
// of three) and returns kopecks. Zero is allowed (a filter's bound); a
// sign, a third decimal, letters and amounts over MaxAmount are refused.
func ParseRubles(s string) (int64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\u00a0", " "))
	if s == "" {
		return 0, ErrAmountFormat
	}
	if s[0] == '-' {
		return 0, ErrAmountNegative
	}
	whole, frac, hasFrac := strings.Cut(s, ",")
	if !hasFrac {
		whole, frac, hasFrac = strings.Cut(s, ".")
	}
	if strings.Contains(whole, " ") {
		// Groups of three after the first: "1 234 567".
		groups := strings.Split(whole, " ")
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return 0, ErrAmountFormat
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, ErrAmountFormat
			}
		}
		whole = strings.Join(groups, "")
	}
	if whole == "" || !digits(whole) || (hasFrac && (frac == "" || !digits(frac))) {
		return 0, ErrAmountFormat
	}
	if len(frac) > 2 {
		return 0, ErrAmountFraction
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 12 {
		return 0, ErrAmountTooLarge
	}
	var rub int64
	if whole != "" {
		rub, _ = strconv.ParseInt(whole, 10, 64)
	}
	kop := int64(0)
	switch len(frac) {
	case 1:
		kop = int64(frac[0]-'0') * 10
	case 2:
		kop = int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	k := rub*100 + kop
	if k > MaxAmount {
		return 0, ErrAmountTooLarge
	}
	return k, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatRubles writes kopecks as roubles the Russian way: "1 234,56"
// (plain spaces between groups, so that CSV and PDF need no special
// characters), always with two decimals.
func FormatRubles(k int64) string {
	neg := k < 0
	u := uint64(k)
	if neg {
		u = uint64(-k)
	}
	rub := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range rub {
		if i > 0 && (len(rub)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	kop := u % 100
	b.WriteByte(',')
	b.WriteByte(byte('0' + kop/10))
	b.WriteByte(byte('0' + kop%10))
	return b.String()
}

// AmountFromJSON reads an amount of kopecks from the agency API's JSON: an
// integer number only (100000), positive and at most MaxAmount. A fraction
// or an exponent (1.5, 1e3), a string ("100"), zero and negatives are
// refused with the sentinel that names the problem.
func AmountFromJSON(raw json.RawMessage) (int64, error) {
	s := strings.Trim(string(raw), " \t\r\n") // JSON's whitespace only
	if s == "" || s[0] == '"' || s == "null" {
		return 0, ErrAmountFormat
	}
	if s[0] == '-' {
		return 0, ErrAmountNegative
	}
	if strings.ContainsAny(s, ".eE") {
		// A JSON number, but not a whole count of kopecks.
		var f float64
		if json.Unmarshal([]byte(s), &f) != nil {
			return 0, ErrAmountFormat
		}
		return 0, ErrAmountFraction
	}
	if !digits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, ErrAmountFormat
	}
	if len(s) > 14 {
		return 0, ErrAmountTooLarge
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrAmountFormat
	}
	if n == 0 {
		return 0, ErrAmountNegative
	}
	if n > MaxAmount {
		return 0, ErrAmountTooLarge
	}
	return n, nil
}
