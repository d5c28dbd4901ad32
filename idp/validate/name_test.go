package validate

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	valid := []struct{ in, want string }{
		{"Иванов", "Иванов"},
		{"иванов", "Иванов"},
		{"ИВАНОВ", "Иванов"},
		{"  Салтыков-Щедрин ", "Салтыков-Щедрин"},
		{"салтыков-щедрин", "Салтыков-Щедрин"},
		{"РИМСКИЙ-КОРСАКОВ", "Римский-Корсаков"},
		{"Д’Артаньян", "Д'Артаньян"},
		{"д'артаньян", "Д'Артаньян"},
		{"Ёлкин", "Ёлкин"},
		{"ёлкина", "Ёлкина"},
		{"фон   дер  Браун", "фон дер Браун"}, // mixed case kept
		{"МакДональд", "МакДональд"},
		{"ДеЛаРю", "ДеЛаРю"},
		{"Я", "Я"},
		{"я", "Я"},
		{"Ли‐Мин", "Ли-Мин"}, // U+2010 hyphen
		{strings.Repeat("а", 100), "А" + strings.Repeat("а", 99)},
	}
	for _, tt := range valid {
		if got, err := FamilyName(tt.in); err != nil || got != tt.want {
			t.Errorf("FamilyName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	invalid := []struct{ in, code string }{
		{"", "required"},
		{"  ", "required"},
		{"Ivanov", "latin"},
		{"Ивaнов", "latin"}, // Latin a inside
		{"Иванов2", "letters"},
		{"Иванов.", "letters"},
		{"Іванов", "letters"}, // Ukrainian І
		{"-Иванов", "format"},
		{"Иванов-", "format"},
		{"'Иванов", "format"},
		{"Иванов--Петров", "format"},
		{"Иванов - Петров", "format"},
		{"Д''Артаньян", "format"},
		{strings.Repeat("а", 101), "too_long"},
	}
	for _, tt := range invalid {
		_, err := FamilyName(tt.in)
		wantFieldErr(t, tt.in, err, "family_name", tt.code)
	}

	if got, err := GivenName("анна-мария"); err != nil || got != "Анна-Мария" {
		t.Errorf("GivenName = %q, %v", got, err)
	}
	_, err := GivenName(strings.Repeat("а", 61))
	wantFieldErr(t, "", err, "given_name", "too_long")
	_, err = GivenName("")
	wantFieldErr(t, "", err, "given_name", "required")
	_, err = GivenName("Anna")
	wantFieldErr(t, "Anna", err, "given_name", "latin")

	if got, err := MiddleName("  "); err != nil || got != "" {
		t.Errorf("MiddleName(blank) = %q, %v", got, err)
	}
	if got, err := MiddleName("АЛИ ОГЛЫ"); err != nil || got != "Али Оглы" {
		t.Errorf("MiddleName = %q, %v", got, err)
	}
	if got, err := MiddleName("Мамед оглы"); err != nil || got != "Мамед оглы" {
		t.Errorf("MiddleName = %q, %v", got, err)
	}
	_, err = MiddleName("Petrovich")
	wantFieldErr(t, "Petrovich", err, "middle_name", "latin")
}

// TestNamesIdempotent: a normalised name validates to itself.
func TestNamesIdempotent(t *testing.T) {
	for _, in := range []string{"иванов", "ИВАНОВ-ПЕТРОВ", "д’артаньян", "фон дер браун", "Я", "ё"} {
		a, err := FamilyName(in)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := FamilyName(a); err != nil || b != a {
			t.Errorf("FamilyName(%q) = %q, again %q, %v", in, a, b, err)
		}
	}
}

func TestSameName(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Иванов", "Иванов", true},
		{"ИВАНОВ", "иванов", true},
		{"Артём", "Артем", true},
		{"ЁЛКИН", "елкин", true},
		{"Салтыков-Щедрин", "салтыков щедрин", true},
		{"Салтыков–Щедрин", "СалтыковЩедрин", true},
		{" Анна ", "Анна", true},
		{"Д'Артаньян", "Дартаньян", true},
		{"Иванов", "Иванова", false},
		{"Иван", "Иоанн", false},
		{"", "", false},
		{"-", " ", false},
	} {
		if got := SameName(tc.a, tc.b); got != tc.same {
			t.Errorf("SameName(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
