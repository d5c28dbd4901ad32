package validate

import "testing"

func TestPhone(t *testing.T) {
	for _, in := range []string{
		"+7 (912) 345-67-89",
		"8 (912) 345-67-89",
		"89123456789",
		"79123456789",
		"9123456789",
		"+79123456789",
		"+7 912 345 67 89",
		"8-912-345-67-89",
		"8 912 345-67-89",
		"+7(912)3456789",
		"(912) 345-67-89",
		"  +7 912 345 6789  ",
		"+7\u00a0912\u00a0345\u00a067\u00a089",
	} {
		if got, err := Phone(in); err != nil || got != "+79123456789" {
			t.Errorf("Phone(%q) = %q, %v", in, got, err)
		}
	}
	invalid := []struct{ in, code string }{
		{"", "required"},
		{"+7 (495) 123-45-67", "not_mobile"}, // Moscow landline
		{"8 (495) 123-45-67", "not_mobile"},
		{"4951234567", "not_mobile"},
		{"+7 701 234 56 78", "not_mobile"}, // Kazakhstan shares +7
		{"+380 44 123 4567", "country"},
		{"+1 212 555 0100", "country"},
		{"+8 912 345 67 89", "country"},
		{"912345678", "format"},     // 9 digits
		{"891234567890", "format"},  // 12 digits
		{"+7912345678", "format"},   // 10 digits after +
		{"+791234567890", "format"}, // 12 digits after +
		{"69123456789", "format"},   // 11 digits, unknown prefix
		{"8 912 ABC-67-89", "format"},
		{"8 912 345-67-89 доб. 1", "format"},
		{"++79123456789", "format"},
		{"7+9123456789", "format"},
		{"+7 (912 345-67-89", "format"},
		{"+7 912) 345-67-89", "format"},
		{"+7 (91) 2345-67-89", "format"},
		{"+7 (912) (345) 67-89", "format"},
		{"8 912.345.67.89", "format"},
		{"８９１２３４５６７８９", "format"},
	}
	for _, tt := range invalid {
		_, err := Phone(tt.in)
		wantFieldErr(t, tt.in, err, "phone", tt.code)
	}
}

func TestPhoneDisplay(t *testing.T) {
	if got := FormatPhone("+79123456789"); got != "+7 (912) 345-67-89" {
		t.Errorf("FormatPhone = %q", got)
	}
	if got := FormatPhone("89123456789"); got != "+7 (912) 345-67-89" {
		t.Errorf("FormatPhone = %q", got)
	}
	if got := FormatPhone("n/a"); got != "n/a" {
		t.Errorf("FormatPhone(invalid) = %q", got)
	}
	if got := MaskPhone("+79123456789"); got != "+7 (912) ***-**-89" {
		t.Errorf("MaskPhone = %q", got)
	}
	if got := MaskPhone("+74951234567"); got != "" {
		t.Errorf("MaskPhone(invalid) = %q", got)
	}
}
