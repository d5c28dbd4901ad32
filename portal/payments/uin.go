package payments

// ValidUIN reports whether s is a УИН (уникальный идентификатор
// начисления): exactly 20 or 25 ASCII digits whose last digit is the
// control digit of the others (UINCheckDigit).
func ValidUIN(s string) bool {
	if len(s) != 20 && len(s) != 25 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return UINCheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

// UINCheckDigit returns the control digit ('0'…'9') of a УИН's first n-1
// digits, by the Treasury's rule (the one of the all-Russian classifiers'
// codes): the digits, from the first, are weighted 1, 2, …, 10 and again
// from 1; the control digit is the sum modulo 11. A remainder of 10 is not
// one digit, so the sum is taken again with the weights shifted by two
// (3, 4, …, 10, 1, 2 and again); a second 10 gives 0. Characters other
// than digits make no sense here: the caller checks them (ValidUIN).
func UINCheckDigit(prefix string) byte {
	sum := func(shift int) int {
		s := 0
		for i := 0; i < len(prefix); i++ {
			s += int(prefix[i]-'0') * ((i+shift)%10 + 1)
		}
		return s % 11
	}
	r := sum(0)
	if r == 10 {
		r = sum(2)
		if r == 10 {
			r = 0
		}
	}
	return byte('0' + r)
}
