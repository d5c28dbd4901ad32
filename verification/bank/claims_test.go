package bank

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"unicode/utf8"
)

var testMapping = map[string]string{FamilyName: "family_name", GivenName: "given_name", MiddleName: "person.middle",
	BirthDate: "birthdate", SNILS: "snils", PassportSeries: "document.series", PassportNumber: "document.number",
	PassportIssueDate: "document.issued.date", INN: "inn", Phone: "phone_number", Email: "email"}

func TestMapClaims(t *testing.T) {
	idToken := map[string]any{"family_name": "Иванов", "given_name": "Пётр", "birthdate": "1985-03-15",
		"snils": "112-233-445 95", "document.series": "1111"}
	userinfo := map[string]any{
		"family_name": " Петрова-Водкина ",                      // wins over the ID token, trimmed
		"person":      map[string]any{"middle": "Анна\t Мария"}, // dotted path, spaces collapsed
		"snils":       json.Number("11223344595"),               // a number, normalised
		"document": map[string]any{"series": "45 08", "number": 123456.0,
			"issued": map[string]any{"date": "01.04.2005"}}, // DD.MM.YYYY
		"inn":          "500100732259",
		"phone_number": "+7 912 345-67-89",
		"email":        "Ivan@Example.org",
	}
	got, dropped := mapClaims(testMapping, idToken, userinfo)
	want := map[string]string{FamilyName: "Петрова-Водкина", GivenName: "Пётр", MiddleName: "Анна Мария",
		BirthDate: "1985-03-15", SNILS: "112-233-445 95", PassportSeries: "4508", PassportNumber: "123456",
		PassportIssueDate: "2005-04-01", INN: "500100732259", Phone: "+79123456789", Email: "Ivan@example.org"}
	if !maps.Equal(got, want) || len(dropped) != 0 {
		t.Fatalf("mapClaims = %v (dropped %v), want %v", got, dropped, want)
	}

	bad := map[string]any{"snils": "112-233-445 96", "birthdate": "31.02.1985", "given_name": map[string]any{"x": 1},
		"inn": 1.5, "family_name": "a\x00b", "phone_number": "   ", "email": nil}
	got, dropped = mapClaims(testMapping, nil, bad)
	if len(got) != 0 || !slices.Equal(dropped, []string{FamilyName, GivenName, BirthDate, SNILS, INN}) {
		t.Fatalf("bad values: %v, dropped %v", got, dropped)
	}
}

// FuzzMapClaims feeds untrusted userinfo JSON to the mapping: it must not
// panic, must only yield Gosid fields, and every value must be in Gosid's
// form already (normalising it again changes nothing).
func FuzzMapClaims(f *testing.F) {
	for _, seed := range []string{
		`{"family_name":"Иванов","snils":"11223344595","document":{"series":"45 08","number":123456}}`,
		`{"birthdate":"15.03.1985","document":{"issued":{"date":"2005-04-01"}},"phone_number":"89123456789"}`,
		`{"document.series":"4508","person":{"middle":" Анна  "},"inn":500100732259,"email":"a@b.ru"}`,
		`{"snils":1e300,"birthdate":"0000-00-00","document":[1,2],"family_name":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var info map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&info) != nil {
			return
		}
		values, dropped := mapClaims(testMapping, info, info)
		for field, v := range values {
			if !slices.Contains(fields, field) || v == "" || !utf8.ValidString(v) {
				t.Fatalf("field %q = %q", field, v)
			}
			again, ok := normalise(field, v)
			if !ok || again != v {
				t.Fatalf("%s: %q normalises to %q, %v", field, v, again, ok)
			}
		}
		for _, field := range dropped {
			if _, ok := values[field]; ok {
				t.Fatalf("%s both mapped and dropped", field)
			}
		}
	})
}
