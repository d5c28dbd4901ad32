package upload

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxBaseLen bounds a normalised name before its extension: long enough
// for «Справка о доходах и суммах налога физического лица за 2024 год»
// transliterated, short enough for every file system and archive tool.
const MaxBaseLen = 100

// fallbackBase is the name of a file whose own name leaves nothing.
const fallbackBase = "file"

// Name is the name a file of type t called name (as the browser sent it)
// is stored and offered for download under: the product's rule of Latin
// letters, digits, "_" and "-", then the type's extension. Directories are
// dropped ("../../etc/passwd", `C:\x\y.pdf`: only the last part counts),
// letters lose their accents, Cyrillic is transliterated (ICAO Doc 9303,
// as in Russian passports), spaces and dots become "_", anything else is
// dropped; the result is at most MaxBaseLen characters before the
// extension and never empty.
func Name(name string, t Type) string {
	base, _ := splitName(name)
	return normalise(base) + t.Ext()
}

// knownExt are the extensions that claim a type: ours, and common others a
// citizen might pick by mistake. An unknown "extension" (the "2024" of
// «Справка от 01.02.2024») is part of the name.
var knownExt = map[string]Type{
	"pdf": PDF, "jpg": JPEG, "jpeg": JPEG, "jpe": JPEG, "jfif": JPEG, "png": PNG,
}

var otherExt = strings.Fields(`doc docx odt rtf txt xls xlsx ods csv ppt pptx htm html xhtml xml
	svg gif bmp tif tiff webp heic heif avif zip rar 7z gz tgz bz2 xz tar exe msi bat cmd js sh ps1 apk`)

// splitName returns the last path element of name without a known
// extension, and the type the extension claims ("" when none; a type of
// no accepted kind for a known foreign extension).
func splitName(name string) (string, Type) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimRight(name, " .\t")
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name, ""
	}
	ext := strings.ToLower(norm.NFKC.String(strings.TrimSpace(name[i+1:])))
	if t, ok := knownExt[ext]; ok {
		return name[:i], t
	}
	for _, o := range otherExt {
		if ext == o {
			return name[:i], Type("other/" + o)
		}
	}
	return name, ""
}

// icao is the ICAO Doc 9303 transliteration of Cyrillic (lower case),
// applied after decomposition, so ё→е→e and й→и→i as the table says.
var icao = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ж': "zh", 'з': "z", 'и': "i",
	'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t",
	'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "ie",
	'ы': "y", 'ь': "", 'э': "e", 'ю': "iu", 'я': "ia",
	// Ukrainian and Belarusian letters of the same table.
	'і': "i", 'є': "ie", 'ґ': "g",
}

func normalise(base string) string {
	rs := []rune(norm.NFKD.String(base))
	var b strings.Builder
	for i, r := range rs {
		switch {
		case unicode.Is(unicode.Mn, r):
			// accents, the breve of й, the diaeresis of ё
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'):
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '.':
			b.WriteByte('_')
		default:
			lower := unicode.ToLower(r)
			tr, ok := icao[lower]
			if !ok || tr == "" {
				continue
			}
			if lower != r { // capital: "Zh", or "ZH" inside a word in capitals
				if upperNear(rs, i) {
					tr = strings.ToUpper(tr)
				} else {
					tr = strings.ToUpper(tr[:1]) + tr[1:]
				}
			}
			b.WriteString(tr)
		}
	}
	s := squeeze(b.String())
	if len(s) > MaxBaseLen {
		s = strings.TrimRight(s[:MaxBaseLen], "_-")
	}
	if s == "" {
		return fallbackBase
	}
	return s
}

// upperNear: the capital at i is part of a word in capitals.
func upperNear(rs []rune, i int) bool {
	next := i+1 < len(rs) && unicode.IsUpper(rs[i+1])
	prev := i > 0 && unicode.IsUpper(rs[i-1])
	return next || prev
}

// squeeze collapses runs of "_" and trims "_" and "-" at the ends (a
// leading "-" reads as an option to command-line tools).
func squeeze(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && b.Len() > 0 && b.String()[b.Len()-1] == '_' {
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.Trim(b.String(), "_-")
}

// spaced and commas write n with thousands grouped, for the Russian and
// English messages.
func spaced(n int64) string { return group(n, " ") }
func commas(n int64) string { return group(n, ",") }

func group(n int64, sep string) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}
