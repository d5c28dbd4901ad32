package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// IDKind is a kind of identifier a charge concerns.
type IDKind string

const (
	SNILS         IDKind = "snils"
	INN           IDKind = "inn"
	DriverLicence IDKind = "driver_licence"
	VehicleCert   IDKind = "vehicle_cert" // СТС, свидетельство о регистрации ТС
)

// Identifier is whom a charge concerns, or a citizen's identifier to
// match charges with.
type Identifier struct {
	Kind  IDKind
	Value string
}

// Label is the kind's name for people: Russian first, English second.
func (k IDKind) Label() Text {
	switch k {
	case SNILS:
		return Text{"СНИЛС", "SNILS"}
	case INN:
		return Text{"ИНН", "INN"}
	case DriverLicence:
		return Text{"Водительское удостоверение", "Driving licence"}
	case VehicleCert:
		return Text{"Свидетельство о регистрации ТС", "Vehicle registration certificate"}
	}
	return Text{string(k), string(k)}
}

// Text is a text for people in Russian and English.
type Text struct{ RU, EN string }

// latinToCyrillic maps the Latin letters that look like the Cyrillic ones
// allowed in series of documents, so that "77 AB" typed on a Latin keyboard
// matches "77 АВ" issued by the agency.
var latinToCyrillic = map[rune]rune{
	'A': 'А', 'B': 'В', 'E': 'Е', 'K': 'К', 'M': 'М', 'H': 'Н', 'O': 'О', 'P': 'Р',
	'C': 'С', 'T': 'Т', 'Y': 'У', 'X': 'Х',
}

// seriesLetters are the Cyrillic letters used in series of licences and
// СТС (those with a Latin look-alike, as on number plates).
const seriesLetters = "АВЕКМНОРСТУХ"

// Normalise returns the identifier's canonical form (digits, upper-case
// Cyrillic series, no separators) and whether it is well-formed. SNILS and
// INN are checked with their control numbers.
func (id Identifier) Normalise() (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(id.Value) {
		switch r {
		case ' ', '-', '\u00a0', '\t':
			continue
		}
		if c, ok := latinToCyrillic[r]; ok {
			r = c
		}
		b.WriteRune(r)
	}
	v := b.String()
	switch id.Kind {
	case SNILS:
		return v, validSNILS(v)
	case INN:
		return v, validINN(v)
	case DriverLicence, VehicleCert:
		return v, validDocNumber(v)
	}
	return "", false
}

// validDocNumber: 2 digits, 2 digits or Cyrillic series letters, 6 digits
// (modern licences are 10 digits; older ones and СТС carry letters).
func validDocNumber(v string) bool {
	r := []rune(v)
	if len(r) != 10 {
		return false
	}
	for i, c := range r {
		digit := c >= '0' && c <= '9'
		if (i == 2 || i == 3) && !digit && !strings.ContainsRune(seriesLetters, c) {
			return false
		}
		if (i < 2 || i > 3) && !digit {
			return false
		}
	}
	return true
}

func validSNILS(v string) bool {
	if len(v) != 11 || !digits(v) {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(v[i]-'0') * (9 - i)
	}
	check := sum % 101
	if check == 100 {
		check = 0
	}
	return check == int(v[9]-'0')*10+int(v[10]-'0')
}

func innDigit(v string, weights []int) byte {
	s := 0
	for i, w := range weights {
		s += int(v[i]-'0') * w
	}
	return byte('0' + s%11%10)
}

// validINN checks an INN of an organisation (10 digits) or of a person
// (12), with the tax service's control digits.
func validINN(v string) bool {
	if !digits(v) {
		return false
	}
	switch len(v) {
	case 10:
		return innDigit(v, []int{2, 4, 10, 3, 5, 9, 4, 6, 8}) == v[9]
	case 12:
		return innDigit(v, []int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) == v[10] &&
			innDigit(v, []int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) == v[11]
	}
	return false
}

// blindIndex is the keyed hash by which identifiers are looked up without
// being stored in clear.
func blindIndex(key []byte, kind IDKind, normalised string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(string(kind) + ":" + normalised))
	return hex.EncodeToString(m.Sum(nil))
}

// moscow is the Treasury's time: days of charges (due, discount until) are
// Moscow days. A fixed UTC+3 rather than the tz database: Moscow has kept
// it since 2014, and a binary without tzdata must not shift due dates.
var moscow = time.FixedZone("MSK", 3*60*60)

// Date is a civil date (no time, no zone), as the Treasury's documents
// give them. The zero Date is "none".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads an ISO date "2006-01-02".
func ParseDate(s string) (Date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, false
	}
	return DateOf(t), true
}

// DateOf is the date of t's own clock.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// MoscowDate is the date in Moscow at t.
func MoscowDate(t time.Time) Date { return DateOf(t.In(moscow)) }

// IsZero reports whether d is no date.
func (d Date) IsZero() bool { return d == Date{} }

// String is the ISO form, "" for no date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// Russian is the form of Russian pages, "24.12.2026".
func (d Date) Russian() string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format("02.01.2006")
}

// Before reports whether d is a day before e.
func (d Date) Before(e Date) bool { return d.String() < e.String() }

// AddDays is d plus n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

func runes(s string) int { return utf8.RuneCountInString(s) }
