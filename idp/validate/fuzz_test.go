package validate

import (
	"testing"
	"time"
)

// The fuzz targets check that nothing panics, that accepted values
// re-validate to themselves and that every error is a catalogued message
// (so it cannot contain the input).

func FuzzSNILS(f *testing.F) {
	for _, s := range []string{"123-456-789 64", "12345678964", "123 456 789 64", "001-001-998 00", "222-242-223 00", "", "123-456-789  64", "１２３"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := SNILS(in)
		if err != nil {
			checkMessage(t, in, err)
			if MaskSNILS(in) != "" || SNILSDigits(in) != "" {
				t.Fatalf("helpers accepted invalid %q", in)
			}
			return
		}
		if again, err := SNILS(v); err != nil || again != v {
			t.Fatalf("SNILS(%q) = %q, again %q, %v", in, v, again, err)
		}
		if d := SNILSDigits(v); len(d) != 11 || !allDigits(d) {
			t.Fatalf("SNILSDigits(%q) = %q", v, d)
		}
		if GenerateSNILS(atoi(SNILSDigits(v)[:9])) != v {
			t.Fatalf("GenerateSNILS disagrees for %q", v)
		}
	})
}

func FuzzINN(f *testing.F) {
	for _, s := range []string{"7707083893", "500100732259", "0000000000", "77070838931", " 7707083893 ", "７７"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := INN(in)
		p, perr := PersonINN(in)
		if err != nil {
			checkMessage(t, in, err)
			if perr == nil {
				t.Fatalf("PersonINN accepted %q that INN rejects", in)
			}
		} else if again, err := INN(v); err != nil || again != v {
			t.Fatalf("INN(%q) = %q, again %q, %v", in, v, again, err)
		}
		if perr != nil {
			checkMessage(t, in, perr)
			return
		}
		if len(p) != 12 || p != v {
			t.Fatalf("PersonINN(%q) = %q, INN = %q", in, p, v)
		}
	})
}

func FuzzPassport(f *testing.F) {
	f.Add("45 08", "123456", "770-001", "ОУФМС России по г. Москве", "01.10.2010")
	f.Add("", "", "", "", "")
	f.Add("4508", "123 456", "770001", "OVD", "2010-10-01")
	f.Fuzz(func(t *testing.T, series, number, division, issuer, date string) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		birth := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		check := func(name string, fn func(string) (string, error), in string) {
			v, err := fn(in)
			if err != nil {
				checkMessage(t, in, err)
				return
			}
			if again, err := fn(v); err != nil || again != v {
				t.Fatalf("%s(%q) = %q, again %q, %v", name, in, v, again, err)
			}
		}
		check("PassportSeries", PassportSeries, series)
		check("PassportNumber", PassportNumber, number)
		check("DivisionCode", DivisionCode, division)
		check("PassportIssuer", PassportIssuer, issuer)
		for _, form := range []bool{true, false} {
			d, err := PassportIssueDate(date, birth, now, form)
			if err != nil {
				checkMessage(t, date, err)
				continue
			}
			if d.After(now) || d.Before(firstPassportDay) || d.Location() != time.UTC {
				t.Fatalf("PassportIssueDate(%q) = %v", date, d)
			}
			iso := d.Format("2006-01-02")
			if d2, err := PassportIssueDate(iso, birth, now, false); err != nil || !d2.Equal(d) {
				t.Fatalf("PassportIssueDate(%q) round trip: %v %v", date, d2, err)
			}
		}
	})
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"Иванов", "салтыков-щедрин", "Д’АРТАНЬЯН", "Ivanov", " а  б ", "-", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, fn := range []func(string) (string, error){FamilyName, GivenName, MiddleName} {
			v, err := fn(in)
			if err != nil {
				checkMessage(t, in, err)
				continue
			}
			if again, err := fn(v); err != nil || again != v {
				t.Fatalf("name(%q) = %q, again %q, %v", in, v, again, err)
			}
		}
	})
}

func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+7 (912) 345-67-89", "8 (912) 345-67-89", "89123456789", "9123456789", "+380441234567", "(912) 345-67-89", "+7 (495) 123-45-67"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Phone(in)
		if err != nil {
			checkMessage(t, in, err)
			if MaskPhone(in) != "" {
				t.Fatalf("MaskPhone accepted invalid %q", in)
			}
			return
		}
		if len(v) != 12 || v[:3] != "+79" || !allDigits(v[1:]) {
			t.Fatalf("Phone(%q) = %q", in, v)
		}
		for _, w := range []string{v, v[2:], "8" + v[2:], FormatPhone(v)} {
			if again, err := Phone(w); err != nil || again != v {
				t.Fatalf("Phone(%q) = %q, then Phone(%q) = %q, %v", in, v, w, again, err)
			}
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ivan@mail.ru", "Ivan.Petrov@Mail.RU", "ivan@почта.рф", "a@b", "\"a\"@b.ru", "İ@İ.İİ", "a@K.ru"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Email(in)
		k, kerr := EmailKey(in)
		if err != nil {
			checkMessage(t, in, err)
			if kerr == nil || MaskEmail(in) != "" {
				t.Fatalf("EmailKey/MaskEmail accepted invalid %q", in)
			}
			return
		}
		if kerr != nil {
			t.Fatalf("EmailKey(%q): %v", in, kerr)
		}
		if again, err := Email(v); err != nil || again != v {
			t.Fatalf("Email(%q) = %q, again %q, %v", in, v, again, err)
		}
		if again, err := EmailKey(k); err != nil || again != k {
			t.Fatalf("EmailKey(%q) = %q, again %q, %v", in, k, again, err)
		}
		if len(v) > maxEmail {
			t.Fatalf("Email(%q) = %q: too long", in, v)
		}
	})
}

func FuzzLogin(f *testing.F) {
	for _, s := range []string{"+7 (912) 345-67-89", "89123456789", "123-456-789 64", "12345678964", "ivan@mail.ru", "84951234567", "ivan", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		kind, v, err := Login(in)
		if err != nil {
			checkMessage(t, in, err)
			if err.(*FieldError).Field != "login" {
				t.Fatalf("Login(%q): field %q", in, err.(*FieldError).Field)
			}
			return
		}
		if k2, v2, err := Login(v); err != nil || k2 != kind || v2 != v {
			t.Fatalf("Login(%q) = %s %q, again %s %q, %v", in, kind, v, k2, v2, err)
		}
		var want string
		switch kind {
		case LoginPhone:
			want, err = Phone(in)
		case LoginEmail:
			want, err = EmailKey(in)
		case LoginSNILS:
			want, err = SNILS(in)
		default:
			t.Fatalf("Login(%q): kind %q", in, kind)
		}
		if err != nil || want != v {
			t.Fatalf("Login(%q) = %s %q, but the kind's validator gives %q, %v", in, kind, v, want, err)
		}
	})
}

func FuzzDates(f *testing.F) {
	for _, s := range []string{"29.02.2000", "1.2.2000", "2000-02-29", "31.04.2020", "00.00.0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		now := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
		for _, form := range []bool{true, false} {
			d, err := Date(in, form)
			if err != nil {
				checkMessage(t, in, err)
			} else if d2, err := Date(d.Format("2006-01-02"), false); err != nil || !d2.Equal(d) {
				t.Fatalf("Date(%q) = %v, ISO round trip %v %v", in, d, d2, err)
			} else if d3, err := Date(d.Format("02.01.2006"), true); err != nil || !d3.Equal(d) {
				t.Fatalf("Date(%q) = %v, form round trip %v %v", in, d, d3, err)
			}
			if _, err := BirthDate(in, form, now); err != nil {
				checkMessage(t, in, err)
			}
		}
	})
}
