package validate

import (
	"math/rand/v2"
	"testing"
)

func TestINN(t *testing.T) {
	valid := []struct{ in, want string }{
		{"7707083893", "7707083893"}, // Sberbank
		{"7728168971", "7728168971"}, // Alfa-Bank
		{"7736050003", "7736050003"}, // Gazprom
		{" 7702070139 ", "7702070139"},
		{"500100732259", "500100732259"},
		{"784806113663", "784806113663"},
		{"771234567859", "771234567859"},
	}
	for _, tt := range valid {
		got, err := INN(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("INN(%q) = %q, %v", tt.in, got, err)
		}
	}
	invalid := []struct{ in, code string }{
		{"", "required"},
		{"7707083894", "checksum"},
		{"7707083839", "checksum"},
		{"500100732250", "checksum"}, // last digit
		{"500100732269", "checksum"}, // 11th digit
		{"770708389312", "checksum"},
		{"0000000000", "format"},
		{"000000000000", "format"},
		{"77070838931", "format"}, // 11 digits
		{"770708389", "format"},
		{"7707 083893", "format"},
		{"77O7083893", "format"}, // letter O
		{"7707083893000", "format"},
		{"-707083893", "format"},
	}
	for _, tt := range invalid {
		_, err := INN(tt.in)
		wantFieldErr(t, tt.in, err, "inn", tt.code)
	}
}

func TestPersonINN(t *testing.T) {
	if got, err := PersonINN("500100732259"); err != nil || got != "500100732259" {
		t.Errorf("PersonINN = %q, %v", got, err)
	}
	_, err := PersonINN("7707083893")
	wantFieldErr(t, "7707083893", err, "inn", "format")
	if err.(*FieldError).EN != msgINNPersonFormat.en {
		t.Errorf("10 digits: %q, want the personal-INN message", err)
	}
	_, err = PersonINN("500100732250")
	wantFieldErr(t, "500100732250", err, "inn", "checksum")
}

func TestGenerateINN12(t *testing.T) {
	if got := GenerateINN12(5001007322); got != "500100732259" {
		t.Errorf("GenerateINN12 = %q", got)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		s := GenerateINN12(1 + r.Int64N(9999999999))
		if got, err := PersonINN(s); err != nil || got != s {
			t.Fatalf("PersonINN(%q) = %q, %v", s, got, err)
		}
		// Any change of one of the check digits is detected.
		for i := 10; i < 12; i++ {
			b := []byte(s)
			b[i] = '0' + (b[i]-'0'+1+byte(r.IntN(9)))%10
			if _, err := INN(string(b)); err == nil {
				t.Fatalf("INN(%s) accepted after changing digit %d of %s", b, i, s)
			}
		}
	}
	for _, n := range []int64{0, -5, 10000000000} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("GenerateINN12(%d) did not panic", n)
				}
			}()
			GenerateINN12(n)
		}()
	}
}

func TestMaskINNAndPassport(t *testing.T) {
	for in, want := range map[string]string{"500100732259": "********2259", "7707083893": "******3893", "1234": "", "": ""} {
		if got := MaskINN(in); got != want {
			t.Errorf("MaskINN(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MaskPassport("4509", "123456"); got != "45 ** ****56" {
		t.Errorf("MaskPassport = %q", got)
	}
	if got := MaskPassport("45", "123456"); got != "" {
		t.Errorf("MaskPassport of a short series = %q", got)
	}
}
