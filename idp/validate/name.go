package validate

import (
	"strings"
	"unicode"
)

// Name length limits, in characters.
const (
	maxFamilyName = 100
	maxGivenName  = 60
)

// FamilyName validates a surname as written in the passport; see GivenName.
// It may be up to 100 characters long.
func FamilyName(s string) (string, error) { return name(s, msgFamily, maxFamilyName, true) }

// GivenName validates a given name as written in the passport: Russian
// letters (Ё included), hyphens, apostrophes and spaces, beginning and ending
// with a letter, no two separators in a row, 1 to 60 characters. Surrounding
// spaces are trimmed and inner runs collapsed; typographic apostrophes (’)
// and hyphens (‐) become ' and -. A name typed all in lower or all in upper
// case is written as in the passport, each part capitalised ("анна-мария" →
// "Анна-Мария"); any other capitalisation is kept as typed.
func GivenName(s string) (string, error) { return name(s, msgGiven, maxGivenName, true) }

// MiddleName validates a patronymic like GivenName; it is optional, and
// blank input gives "" and no error.
func MiddleName(s string) (string, error) { return name(s, msgMiddle, maxGivenName, false) }

func name(s string, msg nameMessages, max int, required bool) (string, error) {
	t := collapseSpaces(s)
	if t == "" {
		if required {
			return "", fail(msg.required)
		}
		return "", nil
	}
	rs := []rune(t)
	latin, other := false, false
	hasUpper, hasLower := false, false
	for i, r := range rs {
		switch r {
		case '\u2019', '\u2018', '\u02bc':
			r = '\''
		case '\u2010', '\u2011':
			r = '-'
		}
		rs[i] = r
		switch {
		case isCyrillic(r):
			hasUpper = hasUpper || unicode.IsUpper(r)
			hasLower = hasLower || unicode.IsLower(r)
		case isNameSep(r):
		case unicode.Is(unicode.Latin, r):
			latin = true
		default:
			other = true
		}
	}
	switch {
	case latin:
		return "", fail(msg.latin)
	case other:
		return "", fail(msg.letters)
	case len(rs) > max:
		return "", fail(msg.tooLong)
	case isNameSep(rs[0]) || isNameSep(rs[len(rs)-1]):
		return "", fail(msg.edge)
	}
	for i := 1; i < len(rs); i++ {
		if isNameSep(rs[i]) && isNameSep(rs[i-1]) {
			return "", fail(msg.doubled)
		}
	}
	if hasUpper != hasLower {
		start := true
		for i, r := range rs {
			if isNameSep(r) {
				start = true
				continue
			}
			if start {
				rs[i] = unicode.ToUpper(r)
			} else {
				rs[i] = unicode.ToLower(r)
			}
			start = false
		}
	}
	return string(rs), nil
}

func isNameSep(r rune) bool { return r == ' ' || r == '-' || r == '\'' }

// SameName reports whether two spellings of one name part (a surname, a
// given name) are the same person's: case, ё and е, hyphens, apostrophes
// and spaces do not count, so «Салтыков-Щедрин» in a certificate matches
// «салтыков щедрин» typed by the citizen, and «Артём» matches «Артем».
// Empty names never match.
func SameName(a, b string) bool {
	ka, kb := nameKey(a), nameKey(b)
	return ka != "" && ka == kb
}

func nameKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == 'ё':
			b.WriteRune('е')
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\'' || r == '’':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
