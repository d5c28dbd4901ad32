package catalog

import (
	"strings"
	"time"
	"unicode"
)

// Our validators of identifiers, with the identity provider's rules
// (idp/validate), which the portal may not import: it is a relying party.
// They only check; the values are stored as typed.

var checks = map[string]func(v string) *message{
	"snils":    checkSNILS,
	"inn":      checkINN,
	"passport": checkPassport,
	"phone":    checkPhone,
	"email":    checkEmail,
}

var (
	msgSNILS         = message{ru: "«%s»: СНИЛС — 11 цифр, например 123-456-789 64", en: "“%s”: a SNILS is 11 digits, e.g. 123-456-789 64"}
	msgSNILSChecksum = message{ru: "«%s»: в номере СНИЛС ошибка — не сходится контрольное число", en: "“%s”: the SNILS has a mistake — its check number does not match"}
	msgINN           = message{ru: "«%s»: ИНН физического лица — 12 цифр", en: "“%s”: a person's INN is 12 digits"}
	msgINNChecksum   = message{ru: "«%s»: в ИНН ошибка — не сходятся контрольные цифры", en: "“%s”: the INN has a mistake — its check digits do not match"}
	msgPassport      = message{ru: "«%s»: серия и номер паспорта — 4 и 6 цифр, например 45 08 123456", en: "“%s”: a passport's series and number are 4 and 6 digits, e.g. 45 08 123456"}
	msgPhone         = message{ru: "«%s»: укажите мобильный телефон, например +7 912 345-67-89", en: "“%s”: enter a mobile phone number, e.g. +7 912 345-67-89"}
	msgEmail         = message{ru: "«%s»: укажите адрес электронной почты, например ivanov@mail.ru", en: "“%s”: enter an e-mail address, e.g. ivanov@mail.ru"}
	msgDate          = message{ru: "«%s»: укажите дату в виде ДД.ММ.ГГГГ, например 05.03.1990", en: "“%s”: enter a date as DD.MM.YYYY, e.g. 05.03.1990"}
	msgNoSuchDate    = message{ru: "«%s»: такой даты нет в календаре", en: "“%s”: there is no such date"}
	msgFuture        = message{ru: "«%s»: дата не может быть позже сегодняшней", en: "“%s”: the date cannot be later than today"}
	msgPast          = message{ru: "«%s»: дата не может быть раньше сегодняшней", en: "“%s”: the date cannot be earlier than today"}
	msgMinAge        = message{ru: "«%s»: возраст должен быть не меньше %v лет", en: "“%s”: the age must be at least %v"}
	msgMaxAge        = message{ru: "«%s»: возраст должен быть меньше %v лет", en: "“%s”: the age must be under %v"}
)

// digitsSpaced returns the ASCII digits of v, which may hold only digits
// and the separators sep allows; ok is false for anything else or more than
// max digits.
func digitsSpaced(v string, max int, sep func(r rune) bool) (string, bool) {
	d := make([]byte, 0, max)
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			if len(d) == max {
				return "", false
			}
			d = append(d, byte(r))
		case sep(r):
		default:
			return "", false
		}
	}
	return string(d), true
}

func dashOrSpace(r rune) bool { return r == '-' || unicode.IsSpace(r) }

// checkSNILS: 11 digits (separators allowed), the last two the Pension
// Fund's check number of the first nine (sum of digit×(9..1) mod 101, 100
// → 0); numbers up to 001-001-998 are not issued.
func checkSNILS(v string) *message {
	d, ok := digitsSpaced(v, 11, dashOrSpace)
	if !ok || len(d) != 11 || atoi(d[:9]) <= 1001998 {
		return &msgSNILS
	}
	sum := 0
	for i := range 9 {
		sum += int(d[i]-'0') * (9 - i)
	}
	if c := sum % 101 % 100; c != atoi(d[9:]) {
		return &msgSNILSChecksum
	}
	return nil
}

// checkINN: a person's INN, 12 digits with two check digits.
func checkINN(v string) *message {
	if len(v) != 12 || strings.Trim(v, "0123456789") != "" || v == "000000000000" {
		return &msgINN
	}
	check := func(n int, w []int) bool {
		sum := 0
		for i, x := range w {
			sum += int(v[i]-'0') * x
		}
		return byte('0'+sum%11%10) == v[n]
	}
	if !check(10, []int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) || !check(11, []int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) {
		return &msgINNChecksum
	}
	return nil
}

// checkPassport: a Russian internal passport's series and number, ten
// digits with spaces anywhere (45 08 123456); neither part all zeros.
func checkPassport(v string) *message {
	d, ok := digitsSpaced(v, 10, unicode.IsSpace)
	if !ok || len(d) != 10 || d[:4] == "0000" || d[4:] == "000000" {
		return &msgPassport
	}
	return nil
}

// checkPhone: a Russian mobile number in any common writing (+7 (912)
// 345-67-89, 8 912 345 67 89, 9123456789).
func checkPhone(v string) *message {
	plus := strings.HasPrefix(v, "+")
	rest := strings.TrimPrefix(v, "+")
	rest = strings.Replace(rest, "(", " ", 1)
	rest = strings.Replace(rest, ")", " ", 1)
	d, ok := digitsSpaced(rest, 11, dashOrSpace)
	switch {
	case !ok:
		return &msgPhone
	case len(d) == 11 && (d[0] == '7' || (!plus && d[0] == '8')):
		d = d[1:]
	case len(d) != 10 || plus:
		return &msgPhone
	}
	if d[0] != '9' {
		return &msgPhone
	}
	return nil
}

// checkEmail: one "@", a local part of Latin letters, digits and . _ - +
// (a dot not first, last or doubled), a domain of two or more labels of
// letters, digits and hyphens.
func checkEmail(v string) *message {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || len(local) > 64 || len(v) > 254 || strings.Contains(domain, "@") ||
		local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return &msgEmail
	}
	for _, r := range local {
		if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-+", r))) {
			return &msgEmail
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return &msgEmail
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return &msgEmail
		}
		for _, r := range l {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' {
				return &msgEmail
			}
		}
	}
	return nil
}

// checkDate: ДД.ММ.ГГГГ, a real calendar date between 1900 and 2100, then
// the rules' bounds on the day of now.
func checkDate(v string, r *Rules, now time.Time) *message {
	if len(v) != 10 || v[2] != '.' || v[5] != '.' || strings.Trim(v[:2]+v[3:5]+v[6:], "0123456789") != "" {
		return &msgDate
	}
	d, m, y := atoi(v[:2]), atoi(v[3:5]), atoi(v[6:])
	if y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 {
		return &msgNoSuchDate
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return &msgNoSuchDate
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case r.NotFuture && t.After(today):
		return &msgFuture
	case r.NotPast && t.Before(today):
		return &msgPast
	case r.MinAge > 0 && today.Before(addYears(t, r.MinAge)):
		return msgMinAge.with(r.MinAge)
	case r.MaxAge > 0 && !today.Before(addYears(t, r.MaxAge)):
		return msgMaxAge.with(r.MaxAge)
	}
	return nil
}

// addYears is the day a person born on d turns n; one born on 29 February
// turns n on 1 March of a common year.
func addYears(d time.Time, n int) time.Time {
	return time.Date(d.Year()+n, d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

// atoi converts a short string of ASCII digits.
func atoi(d string) int {
	n := 0
	for i := 0; i < len(d); i++ {
		n = n*10 + int(d[i]-'0')
	}
	return n
}
