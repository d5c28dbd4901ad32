package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// breachedGz is the 30,000-entry "passwords" frequency list of zxcvbn 4.4.2
// (MIT), lower-case, one per line, most frequent first. See NOTICE.
//
//go:embed breached.txt.gz
var breachedGz []byte

// MinBreachedBase is the shortest candidate (in characters) that is looked
// up in the list. Shorter bases would match far too much ("abc", "qwe").
const MinBreachedBase = 4

// maxStrip is how many trailing digits/special characters are removed one
// at a time when looking for the base of a password.
const maxStrip = 4

// List is a set of known-breached passwords. The zero value is empty.
type List struct {
	set map[string]struct{}
}

// NewList builds a List from passwords; entries are lower-cased.
func NewList(passwords []string) *List {
	l := &List{set: make(map[string]struct{}, len(passwords))}
	for _, p := range passwords {
		if p != "" {
			l.set[strings.ToLower(p)] = struct{}{}
		}
	}
	return l
}

// embeddedList is decompressed on first use and shared, read-only, by every
// Policy: it is a constant table, not configuration.
var embeddedList = sync.OnceValue(func() *List {
	l, err := parseList(breachedGz)
	if err != nil {
		panic("password: embedded breached list is corrupt: " + err.Error()) // a build defect
	}
	return l
})

// BreachedList returns the embedded list of known-breached passwords,
// loading it on first call (about 130 KB compressed, 30,000 entries).
func BreachedList() *List { return embeddedList() }

func parseList(gz []byte) (*List, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	// One string for the whole file; map keys are substrings of it, so the
	// entries cost no allocation of their own.
	all := strings.ToLower(string(raw))
	l := &List{set: make(map[string]struct{}, bytes.Count(raw, []byte{'\n'})+1)}
	for line := range strings.SplitSeq(all, "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			l.set[line] = struct{}{}
		}
	}
	return l, nil
}

// Len returns the number of entries.
func (l *List) Len() int { return len(l.set) }

// Match reports whether pw is, or is a light variation of, a listed
// password. Matching is case-insensitive and tries these candidates:
//
//  1. the whole password, lower-cased;
//  2. the password with its trailing run of ASCII digits and special
//     characters shortened by 1, 2, 3 and 4 characters, and removed entirely
//     ("Qwerty123!" → "qwerty123", "qwerty12", "qwerty1", "qwerty");
//  3. each of the above with common substitutions undone:
//     @→a, 0→o, 3→e, $→s, 5→s, and 1→i or 1→l (both are tried)
//     ("P@ssw0rd!" → "password").
//
// A candidate shorter than MinBreachedBase characters never matches, so a
// strong password is not rejected for ending in, say, "abc1!".
func (l *List) Match(pw string) bool {
	if l == nil || len(l.set) == 0 || pw == "" {
		return false
	}
	lower := strings.ToLower(pw)
	if l.matchBase(lower) {
		return true
	}
	i := len(lower)
	for i > 0 && isDigitOrSpecial(lower[i-1]) {
		i--
	}
	run := len(lower) - i
	for k := 1; k <= run && k <= maxStrip; k++ {
		if l.matchBase(lower[:len(lower)-k]) {
			return true
		}
	}
	return run > maxStrip && l.matchBase(lower[:i])
}

func (l *List) matchBase(base string) bool {
	if utf8.RuneCountInString(base) < MinBreachedBase {
		return false
	}
	if _, ok := l.set[base]; ok {
		return true
	}
	if !strings.ContainsAny(base, "@0135$") {
		return false
	}
	for _, r := range [...]*strings.Replacer{leetI, leetL} {
		if _, ok := l.set[r.Replace(base)]; ok {
			return true
		}
	}
	return false
}

var (
	leetI = strings.NewReplacer("@", "a", "0", "o", "1", "i", "3", "e", "$", "s", "5", "s")
	leetL = strings.NewReplacer("@", "a", "0", "o", "1", "l", "3", "e", "$", "s", "5", "s")
)

// isDigitOrSpecial reports whether c is an ASCII digit or printable ASCII
// punctuation (what people append to a word to satisfy a policy).
func isDigitOrSpecial(c byte) bool {
	return '0' <= c && c <= '9' || isASCIISpecial(c)
}

func isASCIISpecial(c byte) bool {
	return '!' <= c && c <= '/' || ':' <= c && c <= '@' || '[' <= c && c <= '`' || '{' <= c && c <= '~'
}
