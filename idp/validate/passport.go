package validate

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PassportSeries validates the series of a Russian internal passport: four
// digits, spaces allowed anywhere inside ("45 08"). It returns the digits
// ("4508").
func PassportSeries(s string) (string, error) {
	d, ok := spacedDigits(s, 4)
	switch {
	case d == "" && ok:
		return "", fail(msgSeriesRequired)
	case !ok || d == "0000":
		return "", fail(msgSeriesFormat)
	}
	return d, nil
}

// PassportNumber validates the number of a Russian internal passport: six
// digits, spaces allowed inside ("123 456"). It returns the digits.
func PassportNumber(s string) (string, error) {
	d, ok := spacedDigits(s, 6)
	switch {
	case d == "" && ok:
		return "", fail(msgNumberRequired)
	case !ok || d == "000000":
		return "", fail(msgNumberFormat)
	}
	return d, nil
}

// spacedDigits returns the digits of s, which must be exactly n ASCII digits
// with any spaces between or around them. Blank input gives "", true.
func spacedDigits(s string, n int) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", true
	}
	if len(t) > maxInput {
		return "", false
	}
	b := make([]byte, 0, n)
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			if len(b) == n {
				return "", false
			}
			b = append(b, byte(r))
		case unicode.IsSpace(r):
		default:
			return "", false
		}
	}
	if len(b) != n {
		return "", false
	}
	return string(b), true
}

// DivisionCode validates the code of the issuing division ("код
// подразделения"): six digits written 123-456, 123456 or 123 456. It returns
// 123-456.
func DivisionCode(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fail(msgDivisionRequired)
	}
	var d string
	switch {
	case len(t) == 6:
		d = t
	case len(t) == 7 && (t[3] == '-' || t[3] == ' '):
		d = t[:3] + t[4:]
	default:
		return "", fail(msgDivisionFormat)
	}
	if !allDigits(d) || d == "000000" {
		return "", fail(msgDivisionFormat)
	}
	return d[:3] + "-" + d[3:], nil
}

// Passport issuer limits, in characters.
const (
	minIssuer = 3
	maxIssuer = 200
)

// PassportIssuer validates the name of the authority that issued the
// passport ("кем выдан"): Russian letters, digits, spaces and . , - № ( ) " « »,
// with at least one letter, 3 to 200 characters. Surrounding spaces are
// trimmed, inner runs of spaces collapsed, typographic dashes and quotes
// replaced by "-" and ".
func PassportIssuer(s string) (string, error) {
	t := collapseSpaces(s)
	if t == "" {
		return "", fail(msgIssuerRequired)
	}
	var b strings.Builder
	letters, latin, other := 0, false, false
	for _, r := range t {
		switch r {
		case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014':
			r = '-'
		case '\u201c', '\u201d', '\u201e':
			r = '"'
		}
		switch {
		case isCyrillic(r):
			letters++
		case r >= '0' && r <= '9', strings.ContainsRune(".,-№()\"«» ", r):
		case unicode.Is(unicode.Latin, r):
			latin = true
		default:
			other = true
		}
		b.WriteRune(r)
	}
	n := utf8.RuneCountInString(t)
	switch {
	case latin:
		return "", fail(msgIssuerLatin)
	case other:
		return "", fail(msgIssuerLetters)
	case n > maxIssuer:
		return "", fail(msgIssuerLong)
	case letters == 0:
		return "", fail(msgIssuerFormat)
	case n < minIssuer:
		return "", fail(msgIssuerShort)
	}
	return b.String(), nil
}

// firstPassportDay is the day the current Russian internal passport was
// first issued (Government decree No. 828 of 8 July 1997).
var firstPassportDay = time.Date(1997, time.October, 1, 0, 0, 0, 0, time.UTC)

// passportAge is the age from which a passport is issued.
const passportAge = 14

// PassportIssueDate validates the passport's issue date, written as in Date.
// The date must not be after today (read from now in its location) nor
// before 1 October 1997, and, when birth is not the zero time, not before the
// 14th birthday.
func PassportIssueDate(s string, birth, now time.Time, form bool) (time.Time, error) {
	d, ok := parseDate(s, form)
	switch {
	case strings.TrimSpace(s) == "":
		return time.Time{}, fail(msgIssueDateRequired)
	case !ok && form:
		return time.Time{}, fail(msgIssueDateFormatForm)
	case !ok:
		return time.Time{}, fail(msgIssueDateFormatAPI)
	case d.After(day(now)):
		return time.Time{}, fail(msgIssueDateFuture)
	case d.Before(firstPassportDay):
		return time.Time{}, fail(msgIssueDateEarly)
	case !birth.IsZero() && d.Before(addYears(day(birth), passportAge)):
		return time.Time{}, fail(msgIssueDateYoung)
	}
	return d, nil
}

// isCyrillic reports whether r is a letter of the Russian alphabet.
func isCyrillic(r rune) bool {
	return (r >= 'А' && r <= 'я') || r == 'Ё' || r == 'ё'
}

// collapseSpaces trims s and replaces every inner run of white space by one
// ASCII space.
func collapseSpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// MaskPassport returns a passport's series and number with the middle
// hidden (45 ** ****56), for display; "" unless series has 4 digits and
// number 6.
func MaskPassport(series, number string) string {
	if len(series) != 4 || len(number) != 6 {
		return ""
	}
	return MaskPassportSeries(series) + " " + MaskPassportNumber(number)
}

// MaskPassportSeries shows a passport series' first two digits ("45 **"),
// as the details form shows it; "" when it is not four characters.
func MaskPassportSeries(series string) string {
	if len(series) != 4 {
		return ""
	}
	return series[:2] + " **"
}

// MaskPassportNumber shows a passport number's last two digits
// ("****56"); "" when it is not six characters.
func MaskPassportNumber(number string) string {
	if len(number) != 6 {
		return ""
	}
	return "****" + number[4:]
}
