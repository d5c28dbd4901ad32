package validate

import (
	"strings"
	"testing"
	"time"
)

func TestPassportSeriesNumber(t *testing.T) {
	for in, want := range map[string]string{
		"4508": "4508", "45 08": "4508", " 45  08 ": "4508", "4 5 0 8": "4508", "0101": "0101",
	} {
		if got, err := PassportSeries(in); err != nil || got != want {
			t.Errorf("PassportSeries(%q) = %q, %v", in, got, err)
		}
	}
	for in, code := range map[string]string{
		"": "required", " ": "required", "450": "format", "45089": "format", "45-08": "format",
		"45О8": "format", "0000": "format", "４５０８": "format",
	} {
		_, err := PassportSeries(in)
		wantFieldErr(t, in, err, "passport_series", code)
	}
	for in, want := range map[string]string{"123456": "123456", "123 456": "123456", " 000001": "000001"} {
		if got, err := PassportNumber(in); err != nil || got != want {
			t.Errorf("PassportNumber(%q) = %q, %v", in, got, err)
		}
	}
	for in, code := range map[string]string{
		"": "required", "12345": "format", "1234567": "format", "123-456": "format", "000000": "format", "12345x": "format",
	} {
		_, err := PassportNumber(in)
		wantFieldErr(t, in, err, "passport_number", code)
	}
}

func TestDivisionCode(t *testing.T) {
	for in, want := range map[string]string{
		"770-001": "770-001", "770001": "770-001", "770 001": "770-001", " 500-112 ": "500-112",
	} {
		if got, err := DivisionCode(in); err != nil || got != want {
			t.Errorf("DivisionCode(%q) = %q, %v", in, got, err)
		}
	}
	for in, code := range map[string]string{
		"": "required", "77-0001": "format", "770--001": "format", "7700011": "format", "77000": "format",
		"000-000": "format", "770_001": "format", "77a-001": "format", "770‐001": "format",
	} {
		_, err := DivisionCode(in)
		wantFieldErr(t, in, err, "division_code", code)
	}
}

func TestPassportIssuer(t *testing.T) {
	valid := []struct{ in, want string }{
		{"ОУФМС России по г. Москве по району Зябликово", "ОУФМС России по г. Москве по району Зябликово"},
		{"  ГУ  МВД России\tпо Свердловской области ", "ГУ МВД России по Свердловской области"},
		{"ТП № 2 ОУФМС России по Санкт-Петербургу и Ленинградской обл. в Пушкинском р-не", "ТП № 2 ОУФМС России по Санкт-Петербургу и Ленинградской обл. в Пушкинском р-не"},
		{"Отделом УФМС «Северное Бутово» (г. Москва)", "Отделом УФМС «Северное Бутово» (г. Москва)"},
		{"ОВД “Тверской” р–на", "ОВД \"Тверской\" р-на"},
		{"УВД", "УВД"},
	}
	for _, tt := range valid {
		if got, err := PassportIssuer(tt.in); err != nil || got != tt.want {
			t.Errorf("PassportIssuer(%q) = %q, %v", tt.in, got, err)
		}
	}
	invalid := []struct{ in, code string }{
		{"", "required"},
		{"   ", "required"},
		{"УФ", "too_short"},
		{"OУФМС", "latin"}, // Latin O
		{"UFMS of Russia", "latin"},
		{"ОВД; район", "letters"},
		{"ОВД / район", "letters"},
		{"12-34", "format"},
		{"«»", "format"},
		{strings.Repeat("ОВД ", 60), "too_long"},
	}
	for _, tt := range invalid {
		_, err := PassportIssuer(tt.in)
		wantFieldErr(t, tt.in, err, "passport_issuer", tt.code)
	}
	if got, err := PassportIssuer(strings.Repeat("Я", 200)); err != nil || len([]rune(got)) != 200 {
		t.Errorf("200 letters: %v", err)
	}
}

func TestPassportIssueDate(t *testing.T) {
	now := time.Date(2026, 3, 15, 23, 30, 0, 0, time.UTC)
	birth := time.Date(2000, 5, 20, 0, 0, 0, 0, time.UTC)
	leapBirth := time.Date(2008, 2, 29, 0, 0, 0, 0, time.UTC)
	valid := []struct {
		in    string
		birth time.Time
		form  bool
		want  time.Time
	}{
		{"20.05.2014", birth, true, time.Date(2014, 5, 20, 0, 0, 0, 0, time.UTC)}, // 14th birthday
		{"2014-06-01", birth, false, time.Date(2014, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"15.03.2026", birth, true, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}, // today
		{"01.10.1997", time.Time{}, true, time.Date(1997, 10, 1, 0, 0, 0, 0, time.UTC)},
		{"28.02.2022", leapBirth, true, time.Date(2022, 2, 28, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range valid {
		got, err := PassportIssueDate(tt.in, tt.birth, now, tt.form)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("PassportIssueDate(%q) = %v, %v", tt.in, got, err)
		}
	}
	invalid := []struct {
		in    string
		birth time.Time
		form  bool
		code  string
	}{
		{"", birth, true, "required"},
		{"2014-05-20", birth, true, ""}, // ISO is accepted in forms too: valid
		{"20.05.2014", birth, false, "format"},
		{"31.04.2015", birth, true, "format"},
		{"16.03.2026", birth, true, "future"},
		{"19.05.2014", birth, true, "too_young"},
		{"27.02.2022", leapBirth, true, "too_young"},
		{"30.09.1997", time.Time{}, true, "too_early"},
		{"01.01.1990", time.Time{}, true, "too_early"},
	}
	for _, tt := range invalid {
		_, err := PassportIssueDate(tt.in, tt.birth, now, tt.form)
		if tt.code == "" {
			if err != nil {
				t.Errorf("PassportIssueDate(%q): %v", tt.in, err)
			}
			continue
		}
		wantFieldErr(t, tt.in, err, "passport_issue_date", tt.code)
	}
}
