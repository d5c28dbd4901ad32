package validate

import "testing"

func TestGender(t *testing.T) {
	for in, want := range map[string]string{
		"м": Male, "М": Male, "муж": Male, "Мужской": Male, "m": Male, "M": Male, " male ": Male, "MALE": Male,
		"ж": Female, "Ж": Female, "жен.": Female, "женский": Female, "f": Female, "F": Female, "Female": Female,
	} {
		if got, err := Gender(in); err != nil || got != want {
			t.Errorf("Gender(%q) = %q, %v", in, got, err)
		}
	}
	for in, code := range map[string]string{"": "required", "x": "format", "мж": "format", "1": "format", "man": "format"} {
		_, err := Gender(in)
		wantFieldErr(t, in, err, "gender", code)
	}
}

func TestLogin(t *testing.T) {
	valid := []struct{ in, kind, value string }{
		{"+7 (912) 345-67-89", LoginPhone, "+79123456789"},
		{"89123456789", LoginPhone, "+79123456789"},
		{"79123456789", LoginPhone, "+79123456789"},
		{"9123456789", LoginPhone, "+79123456789"},
		{"8 912 345 67 89", LoginPhone, "+79123456789"},
		{"8-912-345-67-89", LoginPhone, "+79123456789"},
		{"Ivan.Petrov@Mail.RU", LoginEmail, "ivan.petrov@mail.ru"},
		{"123-456-789 64", LoginSNILS, "123-456-789 64"},
		{"123 456 789 64", LoginSNILS, "123-456-789 64"},
		{"12345678964", LoginSNILS, "123-456-789 64"},
		// 891-234-567 is a number whose SNILS could be taken for a phone:
		// with separators it is a SNILS, bare it is the phone 8 912 345 67 xx.
		{GenerateSNILS(891234567), LoginSNILS, GenerateSNILS(891234567)},
		{"89123456700", LoginPhone, "+79123456700"},
		// Bare 11 digits starting with 7 or 8 but not followed by 9: a SNILS
		// when the checksum matches.
		{SNILSDigits(GenerateSNILS(812345678)), LoginSNILS, GenerateSNILS(812345678)},
		{SNILSDigits(GenerateSNILS(712345678)), LoginSNILS, GenerateSNILS(712345678)},
	}
	for _, tt := range valid {
		kind, value, err := Login(tt.in)
		if err != nil || kind != tt.kind || value != tt.value {
			t.Errorf("Login(%q) = %q, %q, %v; want %q, %q", tt.in, kind, value, err, tt.kind, tt.value)
		}
		// The normalised value classifies to itself.
		if k2, v2, err := Login(value); err != nil || k2 != kind || v2 != value {
			t.Errorf("Login(%q) = %q, %q, %v; not idempotent", value, k2, v2, err)
		}
	}
	// A valid SNILS that also reads as 8 9xx… is a phone when bare.
	s := GenerateSNILS(891234567)
	if kind, _, _ := Login(SNILSDigits(s)); kind != LoginPhone {
		t.Errorf("Login(bare %s) = %q, want phone", s, kind)
	}
	invalid := []struct{ in, code string }{
		{"", "required"},
		{"ivan", "format"},
		{"ivan@mail", "format"},
		{"123-456-789 65", "checksum"},
		{"12345678965", "checksum"},
		{"84951234567", "not_mobile"}, // landline: not a valid SNILS either
		{"+7 495 123-45-67", "not_mobile"},
		{"12345", "format"},
		{"123456789012", "format"},
		{"+44 20 7946 0958", "country"},
	}
	for _, tt := range invalid {
		_, _, err := Login(tt.in)
		wantFieldErr(t, tt.in, err, "login", tt.code)
	}
}
