package receipts

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// covered reports, for every rune of the Basic Multilingual Plane, whether
// both embedded fonts have a glyph for it. Built once (a few milliseconds).
var covered = sync.OnceValue(func() []bool {
	ok := make([]bool, 0x10000)
	var b sfnt.Buffer
	reg, err1 := sfnt.Parse(goregular.TTF)
	bold, err2 := sfnt.Parse(gobold.TTF)
	if err1 != nil || err2 != nil {
		panic("receipts: Go fonts do not parse") // cannot happen: they ship with the code
	}
	for r := range ok {
		i, e1 := reg.GlyphIndex(&b, rune(r))
		j, e2 := bold.GlyphIndex(&b, rune(r))
		ok[r] = e1 == nil && e2 == nil && i != 0 && j != 0
	}
	return ok
})

// printable makes s safe to draw: fpdf panics on a rune beyond the Basic
// Multilingual Plane (an emoji in a citizen's comment) and draws an empty
// box for one the fonts lack, and control characters would break the
// layout. So invalid UTF-8 and runes without a glyph become «?», control
// characters (line breaks included: values are laid out by the table)
// become spaces.
func printable(s string) string {
	ok := covered()
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "?") {
		switch {
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case r >= 0x10000 || !ok[r]:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
