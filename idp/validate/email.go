package validate

import (
	"strings"
	"unicode"
)

// E-mail length limits, in bytes (RFC 5321).
const (
	maxEmail      = 254
	maxEmailLocal = 64
	maxLabel      = 63
)

// Email validates an e-mail address and returns it with the domain in lower
// case and the local part as typed.
//
// The rules are those of real mail providers rather than all of RFC 5322:
// exactly one "@"; a local part of Latin letters, digits and . _ - + (no
// quotes, comments or spaces; a dot not first, last or doubled) of at most
// 64 bytes; a domain of at least two labels of letters, digits and hyphens
// (Unicode letters allowed: почта.рф), a label not beginning or ending with
// a hyphen, a top-level domain that is not all digits; at most 254 bytes in
// all. Domains are kept in Unicode, not converted to punycode.
func Email(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fail(msgEmailRequired)
	}
	if len(t) > 4*maxEmail {
		return "", fail(msgEmailLong)
	}
	at := strings.IndexByte(t, '@')
	if at < 0 || strings.Count(t, "@") != 1 {
		return "", fail(msgEmailFormat)
	}
	local, domain := t[:at], strings.ToLower(t[at+1:])
	if local == "" || domain == "" {
		return "", fail(msgEmailFormat)
	}
	if !validLocal(local) {
		return "", fail(msgEmailLocal)
	}
	if !validDomain(domain) {
		return "", fail(msgEmailDomain)
	}
	if len(local) > maxEmailLocal || len(local)+1+len(domain) > maxEmail {
		return "", fail(msgEmailLong)
	}
	return local + "@" + domain, nil
}

// EmailKey validates an e-mail address like Email and returns it entirely in
// lower case: the key for looking accounts up, since sign-in by e-mail is
// case-insensitive.
func EmailKey(s string) (string, error) {
	e, err := Email(s)
	if err != nil {
		return "", err
	}
	return strings.ToLower(e), nil
}

// MaskEmail hides most of the local part of a valid address:
// ivan.petrov@mail.ru → iv***@mail.ru (one letter is shown of a local part
// of one or two). It returns "" when s is not a valid address.
func MaskEmail(s string) string {
	e, err := Email(s)
	if err != nil {
		return ""
	}
	at := strings.IndexByte(e, '@')
	show := 2
	if at <= 2 {
		show = 1
	}
	return e[:show] + "***" + e[at:]
}

func validLocal(l string) bool {
	if l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '+':
		default:
			return false
		}
	}
	return true
}

// validDomain checks a lower-cased domain name.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabel || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i, r := range l {
			switch {
			case r >= '0' && r <= '9', r == '-':
			case r < 0x80 && r >= 'a' && r <= 'z':
			case r >= 0x80 && unicode.IsLetter(r):
			case r >= 0x80 && i > 0 && unicode.In(r, unicode.Mn, unicode.Mc):
				// Combining marks of scripts such as Devanagari.
			default:
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return len([]rune(tld)) >= 2 && !allDigits(tld)
}
