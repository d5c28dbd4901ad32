package letter

import (
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Address is a postal address in Russia as the envelope carries it.
type Address struct {
	Index    string `json:"index"`  // six digits
	Region   string `json:"region"` // a subject of the federation, as Regions names it
	City     string `json:"city"`   // city or settlement
	Street   string `json:"street"`
	House    string `json:"house"`
	Building string `json:"building,omitempty"` // корпус / строение
	Flat     string `json:"flat,omitempty"`
}

// LogValue keeps the address out of logs.
func (a Address) LogValue() slog.Value { return slog.StringValue("[address]") }

// Address field names (the form's inputs and FieldError.Field).
const (
	FieldIndex    = "index"
	FieldRegion   = "region"
	FieldCity     = "city"
	FieldStreet   = "street"
	FieldHouse    = "house"
	FieldBuilding = "building"
	FieldFlat     = "flat"
)

// AddressFields are the form's fields in order.
var AddressFields = []string{FieldIndex, FieldRegion, FieldCity, FieldStreet, FieldHouse, FieldBuilding, FieldFlat}

// FieldError is a field of an address that is wrong, and why ("required",
// "format", "unknown", "too_long").
type FieldError struct{ Field, Problem string }

// Error names the field only: the value stays out of logs.
func (e FieldError) Error() string { return "letter: address " + e.Field + ": " + e.Problem }

var (
	indexRe = regexp.MustCompile(`^[1-9][0-9]{5}$`)
	// A house or flat number: digits, maybe a letter or a fraction
	// («12», «12А», «12/3», «12-14»).
	numberRe = regexp.MustCompile(`^[0-9]{1,5}(?:[/-][0-9]{1,5})?[ ]?[А-ЯЁа-яёA-Za-z]?$`)
)

// Lengths the envelope's lines and the register's columns take.
const (
	maxPlace  = 100
	maxNumber = 12
)

// Normalize trims spaces (runs of them become one) and checks every field,
// returning the address as it will be printed and each wrong field once,
// in the form's order.
func (a Address) Normalize() (Address, []FieldError) {
	clean := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	a = Address{Index: clean(a.Index), Region: clean(a.Region), City: clean(a.City), Street: clean(a.Street),
		House: clean(a.House), Building: clean(a.Building), Flat: clean(a.Flat)}
	var errs []FieldError
	fail := func(field, problem string) { errs = append(errs, FieldError{field, problem}) }
	switch {
	case a.Index == "":
		fail(FieldIndex, "required")
	case !indexRe.MatchString(a.Index):
		fail(FieldIndex, "format")
	}
	switch {
	case a.Region == "":
		fail(FieldRegion, "required")
	case !slices.Contains(Regions, a.Region):
		fail(FieldRegion, "unknown")
	}
	place := func(field, v string) {
		switch {
		case v == "":
			fail(field, "required")
		case utf8.RuneCountInString(v) > maxPlace:
			fail(field, "too_long")
		case !placeName(v):
			fail(field, "format")
		}
	}
	place(FieldCity, a.City)
	place(FieldStreet, a.Street)
	number := func(field, v string, required bool) {
		switch {
		case v == "" && required:
			fail(field, "required")
		case v == "":
		case utf8.RuneCountInString(v) > maxNumber:
			fail(field, "too_long")
		case !numberRe.MatchString(v):
			fail(field, "format")
		}
	}
	number(FieldHouse, a.House, true)
	number(FieldBuilding, a.Building, false)
	number(FieldFlat, a.Flat, false)
	return a, errs
}

// placeName reports whether s reads as a place or street name: letters
// (Cyrillic, or Latin for the odd foreign name), digits and the
// punctuation of addresses, with at least one letter.
func placeName(s string) bool {
	letter := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cyrillic, r) || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9' || strings.ContainsRune(" .,-()/№«»\"'", r):
		default:
			return false
		}
	}
	return letter
}

// Lines are the address as the envelope shows it, after the recipient's
// name: street, house, building and flat; settlement; region (not
// repeated for a federal city, where it is the settlement); index.
func (a Address) Lines() []string {
	first := a.Street + ", д. " + a.House
	if a.Building != "" {
		first += ", корп. " + a.Building
	}
	if a.Flat != "" {
		first += ", кв. " + a.Flat
	}
	if a.Region == a.City {
		return []string{first, a.City, a.Index}
	}
	return []string{first, a.City, a.Region, a.Index}
}

// Regions are the subjects of the Russian Federation (the Constitution,
// art. 65), as an address names them.
var Regions = []string{
	"Республика Адыгея", "Республика Алтай", "Республика Башкортостан", "Республика Бурятия", "Республика Дагестан",
	"Донецкая Народная Республика", "Республика Ингушетия", "Кабардино-Балкарская Республика", "Республика Калмыкия",
	"Карачаево-Черкесская Республика", "Республика Карелия", "Республика Коми", "Республика Крым",
	"Луганская Народная Республика", "Республика Марий Эл", "Республика Мордовия", "Республика Саха (Якутия)",
	"Республика Северная Осетия — Алания", "Республика Татарстан", "Республика Тыва", "Удмуртская Республика",
	"Республика Хакасия", "Чеченская Республика", "Чувашская Республика",
	"Алтайский край", "Забайкальский край", "Камчатский край", "Краснодарский край", "Красноярский край",
	"Пермский край", "Приморский край", "Ставропольский край", "Хабаровский край",
	"Амурская область", "Архангельская область", "Астраханская область", "Белгородская область", "Брянская область",
	"Владимирская область", "Волгоградская область", "Вологодская область", "Воронежская область",
	"Запорожская область", "Ивановская область", "Иркутская область", "Калининградская область", "Калужская область",
	"Кемеровская область — Кузбасс", "Кировская область", "Костромская область", "Курганская область",
	"Курская область", "Ленинградская область", "Липецкая область", "Магаданская область", "Московская область",
	"Мурманская область", "Нижегородская область", "Новгородская область", "Новосибирская область",
	"Омская область", "Оренбургская область", "Орловская область", "Пензенская область", "Псковская область",
	"Ростовская область", "Рязанская область", "Самарская область", "Саратовская область", "Сахалинская область",
	"Свердловская область", "Смоленская область", "Тамбовская область", "Тверская область", "Томская область",
	"Тульская область", "Тюменская область", "Ульяновская область", "Херсонская область", "Челябинская область",
	"Ярославская область",
	"Москва", "Санкт-Петербург", "Севастополь",
	"Еврейская автономная область",
	"Ненецкий автономный округ", "Ханты-Мансийский автономный округ — Югра", "Чукотский автономный округ",
	"Ямало-Ненецкий автономный округ",
}
