package receipts

import "strconv"

// FormatRubles formats an amount of kopecks as rubles the Russian way:
// "1 234,56" — plain spaces (U+0020) between groups of three digits, a
// comma before the two digits of kopecks, "-" in front of a negative
// amount. Plain rather than no-break spaces so that the text is the same in
// a PDF, a CSV cell, a web page and a test, and is typed the same way when
// a citizen searches for it.
func FormatRubles(k int64) string {
	neg := k < 0
	// Work on the unsigned value so that math.MinInt64 formats too.
	u := uint64(k)
	if neg {
		u = -u
	}
	rub := strconv.FormatUint(u/100, 10)
	kop := u % 100
	b := make([]byte, 0, len(rub)+len(rub)/3+4)
	if neg {
		b = append(b, '-')
	}
	for i := range len(rub) {
		if i > 0 && (len(rub)-i)%3 == 0 {
			b = append(b, ' ')
		}
		b = append(b, rub[i])
	}
	b = append(b, ',', byte('0'+kop/10), byte('0'+kop%10))
	return string(b)
}
