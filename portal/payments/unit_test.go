package payments_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/portal/payments"
)

// mintUIN completes prefix with its control digit.
func mintUIN(prefix string) string { return prefix + string(payments.UINCheckDigit(prefix)) }

func TestUINCheckDigit(t *testing.T) {
	// Worked by hand: weights 1..10,1..9 over "1881047720000000001" (19 digits).
	// 1*1+8*2+8*3+1*4+0*5+4*6+7*7+7*8+2*9+0*10 = 1+16+24+4+0+24+49+56+18 = 192
	// then 0*1+0*2+0*3+0*4+0*5+0*6+0*7+0*8+1*9 = 9; 201 mod 11 = 3.
	if got := payments.UINCheckDigit("1881047720000000001"); got != '3' {
		t.Fatalf("check digit %c, want 3", got)
	}
	// A remainder of 10 is recomputed with weights 3..10,1,2: "5" gives
	// 5*1=5; find a prefix with remainder 10 at the first pass:
	// "0000000001" weighs 1*10 = 10 → second pass 1*2 = 2.
	if got := payments.UINCheckDigit("0000000001"); got != '2' {
		t.Fatalf("shifted check digit %c, want 2", got)
	}
	// "0000000001" + "000000001" as 19 digits: first pass 10+9 = 19 → 8.
	if got := payments.UINCheckDigit("0000000001000000001"); got != '8' {
		t.Fatalf("check digit %c, want 8", got)
	}
	// Both passes 10 → 0: first pass weight 10 gives 10; the digit under
	// weight 10 at the second pass (position 8, weight 10) — "0000000050":
	// first 5*10 = 50 mod 11 = 6, not it; use a search instead.
	found := false
	for i := 0; i < 100000 && !found; i++ {
		p := strings.Repeat("0", 14) + padInt(i, 5)
		if first(p) == 10 && second(p) == 10 {
			found = true
			if payments.UINCheckDigit(p) != '0' {
				t.Fatalf("double 10 gives %c, want 0", payments.UINCheckDigit(p))
			}
		}
	}
	if !found {
		t.Fatal("no prefix with two remainders of 10 found")
	}
}

func padInt(n, w int) string {
	s := ""
	for range w {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}

func first(p string) int  { return weighted(p, 0) }
func second(p string) int { return weighted(p, 2) }
func weighted(p string, shift int) int {
	s := 0
	for i := range len(p) {
		s += int(p[i]-'0') * ((i+shift)%10 + 1)
	}
	return s % 11
}

func TestValidUIN(t *testing.T) {
	good := []string{
		mintUIN("1881047720000000001"),      // ГИБДД-like, 20
		mintUIN("3221010000000000000"),      // 20
		mintUIN("182104010123456789012345"), // ФНС-like, 25
	}
	for _, u := range good {
		if !payments.ValidUIN(u) {
			t.Errorf("ValidUIN(%s) = false", u)
		}
		// One digit changed: always refused (mod 11 with weights 1..10 sees it).
		for i := range len(u) {
			for d := byte('0'); d <= '9'; d++ {
				if d == u[i] {
					continue
				}
				m := u[:i] + string(d) + u[i+1:]
				if payments.ValidUIN(m) && i != len(u)-1 {
					// A change that keeps the check digit is possible only
					// through the shifted pass; count it as a failure of the
					// single-digit guarantee where both passes agree.
					if first(m[:len(m)-1]) != 10 && first(u[:len(u)-1]) != 10 {
						t.Errorf("%s with digit %d changed accepted", u, i)
					}
				}
			}
		}
	}
	for _, bad := range []string{"", "1234", good[0][:19], good[0] + "0", "１８８" + good[0][3:], strings.Replace(good[0], "1", "a", 1), " " + good[0][1:]} {
		if payments.ValidUIN(bad) {
			t.Errorf("ValidUIN(%q) = true", bad)
		}
	}
}

// Transpositions of neighbouring different digits are mostly refused
// (all of them but those that meet the second pass or the check digit).
func TestUINTranspositions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	accepted, total := 0, 0
	for range 2000 {
		n := 20
		if rng.IntN(2) == 0 {
			n = 25
		}
		b := make([]byte, n-1)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		u := mintUIN(string(b))
		i := rng.IntN(n - 1)
		if u[i] == u[i+1] {
			continue
		}
		m := []byte(u)
		m[i], m[i+1] = m[i+1], m[i]
		total++
		if payments.ValidUIN(string(m)) {
			accepted++
		}
	}
	if accepted*10 > total {
		t.Fatalf("%d of %d transpositions accepted", accepted, total)
	}
	t.Logf("%d of %d transpositions accepted", accepted, total)
}

func FuzzValidUIN(f *testing.F) {
	f.Add(mintUIN("1881047720000000001"))
	f.Add(mintUIN("182104010123456789012345"))
	f.Add("00000000000000000000")
	f.Add("")
	f.Add("1881047720000000001x")
	f.Fuzz(func(t *testing.T, s string) {
		if !payments.ValidUIN(s) {
			return
		}
		if len(s) != 20 && len(s) != 25 {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		for i := range len(s) {
			if s[i] < '0' || s[i] > '9' {
				t.Fatalf("accepted non-digit %q", s)
			}
		}
		if payments.UINCheckDigit(s[:len(s)-1]) != s[len(s)-1] {
			t.Fatalf("accepted %q with a wrong check digit", s)
		}
	})
}

func TestParseRubles(t *testing.T) {
	for in, want := range map[string]int64{
		"1234": 123400, "1234.5": 123450, "1234,56": 123456, "1 234,56": 123456, "1\u00a0234,56": 123456,
		"0,01": 1, "0": 0, "12 345 678,90": 1234567890, " 15 ": 1500, "100000000000": payments.MaxAmount,
	} {
		got, err := payments.ParseRubles(in)
		if err != nil || got != want {
			t.Errorf("ParseRubles(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]error{
		"": payments.ErrAmountFormat, "1,234": payments.ErrAmountFraction, "1.001": payments.ErrAmountFraction,
		"-5": payments.ErrAmountNegative, "12a": payments.ErrAmountFormat, "1,": payments.ErrAmountFormat,
		",5": payments.ErrAmountFormat, "1 23": payments.ErrAmountFormat, "1234 567": payments.ErrAmountFormat,
		"100000000000,01": payments.ErrAmountTooLarge, "99999999999999999999999": payments.ErrAmountTooLarge,
		"1,2,3": payments.ErrAmountFormat, "1e3": payments.ErrAmountFormat, "+5": payments.ErrAmountFormat,
	} {
		if _, err := payments.ParseRubles(in); !errors.Is(err, want) {
			t.Errorf("ParseRubles(%q): %v, want %v", in, err, want)
		}
	}
}

func TestFormatRubles(t *testing.T) {
	for k, want := range map[int64]string{0: "0,00", 1: "0,01", 150000: "1 500,00", 123456: "1 234,56", 1234567890: "12 345 678,90", 100: "1,00"} {
		if got := payments.FormatRubles(k); got != want {
			t.Errorf("FormatRubles(%d) = %q, want %q", k, got, want)
		}
	}
}

func FuzzParseRubles(f *testing.F) {
	for _, s := range []string{"1234", "1 234,56", "0,5", "-1", "1e3", "", "100000000000,00", "1\u00a0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := payments.ParseRubles(s)
		if err != nil {
			return
		}
		if k < 0 || k > payments.MaxAmount {
			t.Fatalf("ParseRubles(%q) = %d out of range", s, k)
		}
		back, err := payments.ParseRubles(payments.FormatRubles(k))
		if err != nil || back != k {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, k, payments.FormatRubles(k), back, err)
		}
	})
}

func TestAmountFromJSON(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "100000": 100000, " 5 ": 5, "10000000000000": payments.MaxAmount} {
		got, err := payments.AmountFromJSON(json.RawMessage(in))
		if err != nil || got != want {
			t.Errorf("AmountFromJSON(%s) = %d, %v", in, got, err)
		}
	}
	for in, want := range map[string]error{
		"1.5": payments.ErrAmountFraction, "1e3": payments.ErrAmountFraction, "1.0": payments.ErrAmountFraction,
		`"100"`: payments.ErrAmountFormat, "-1": payments.ErrAmountNegative, "0": payments.ErrAmountNegative,
		"10000000000001": payments.ErrAmountTooLarge, "99999999999999999999": payments.ErrAmountTooLarge,
		"null": payments.ErrAmountFormat, "true": payments.ErrAmountFormat, "01": payments.ErrAmountFormat, "": payments.ErrAmountFormat,
	} {
		if _, err := payments.AmountFromJSON(json.RawMessage(in)); !errors.Is(err, want) {
			t.Errorf("AmountFromJSON(%s): %v, want %v", in, err, want)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	for _, c := range []struct {
		id   payments.Identifier
		want string
		ok   bool
	}{
		{payments.Identifier{payments.SNILS, "112-233-445 95"}, "11223344595", true},
		{payments.Identifier{payments.SNILS, "112-233-445 96"}, "", false},
		{payments.Identifier{payments.INN, "7707083893"}, "7707083893", true},
		{payments.Identifier{payments.INN, "7707083894"}, "", false},
		{payments.Identifier{payments.INN, "500100732259"}, "500100732259", true},
		{payments.Identifier{payments.INN, "500100732258"}, "", false},
		{payments.Identifier{payments.DriverLicence, "99 01 123456"}, "9901123456", true},
		{payments.Identifier{payments.DriverLicence, "77 ab 123456"}, "77АВ123456", true}, // Latin look-alikes
		{payments.Identifier{payments.VehicleCert, "77 УХ 654321"}, "77УХ654321", true},
		{payments.Identifier{payments.VehicleCert, "77 ЖЖ 654321"}, "", false},
		{payments.Identifier{payments.VehicleCert, "7 7 12 65432"}, "", false},
		{payments.Identifier{payments.DriverLicence, "AB 01 123456"}, "", false},
		{payments.Identifier{"passport", "4500123456"}, "", false},
	} {
		got, ok := c.id.Normalise()
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("Normalise(%v) = %q, %v; want %q, %v", c.id, got, ok, c.want, c.ok)
		}
	}
}

func TestDiscountMoscowDay(t *testing.T) {
	c := &payments.Charge{Status: payments.Unpaid, Amount: 100000, DiscountAmount: 50000,
		DiscountUntil: payments.Date{Year: 2026, Month: 12, Day: 24}, DueOn: payments.Date{Year: 2027, Month: 2, Day: 1}}
	// 23:59 in Moscow on the last day is 20:59 UTC: still discounted.
	last := time.Date(2026, 12, 24, 20, 59, 59, 0, time.UTC)
	if a, d := c.DueAmount(last); a != 50000 || !d {
		t.Fatalf("on the last Moscow minute: %d %v", a, d)
	}
	// 00:00 in Moscow the day after is 21:00 UTC of the 24th: full amount,
	// although it is still the 24th in UTC.
	after := time.Date(2026, 12, 24, 21, 0, 0, 0, time.UTC)
	if a, d := c.DueAmount(after); a != 100000 || d {
		t.Fatalf("after the Moscow day: %d %v", a, d)
	}
	if c.Overdue(time.Date(2027, 2, 1, 20, 59, 0, 0, time.UTC)) || !c.Overdue(time.Date(2027, 2, 1, 21, 0, 0, 0, time.UTC)) {
		t.Fatal("overdue is not counted by Moscow days")
	}
	c.Status = payments.Paid
	if c.Overdue(time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)) || c.DiscountActive(last) {
		t.Fatal("a paid charge is neither overdue nor discounted")
	}
}

func FuzzAmountFromJSON(f *testing.F) {
	for _, s := range []string{"1", "100000", "1.5", "1e3", `"100"`, "-1", "0", "10000000000001", "null", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := payments.AmountFromJSON(json.RawMessage(s))
		if err != nil {
			return
		}
		if n <= 0 || n > payments.MaxAmount {
			t.Fatalf("accepted %q as %d", s, n)
		}
		var back int64
		if json.Unmarshal([]byte(s), &back) != nil || back != n {
			t.Fatalf("accepted %q as %d, JSON reads %d", s, n, back)
		}
	})
}

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"112-233-445 95", "77 ab 123456", "7707083893", "500100732259", "99 01 123456", "ЖЖ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range []payments.IDKind{payments.SNILS, payments.INN, payments.DriverLicence, payments.VehicleCert} {
			v, ok := payments.Identifier{Kind: k, Value: s}.Normalise()
			if !ok {
				continue
			}
			// Normal forms are fixed points, and never carry separators.
			again, ok2 := payments.Identifier{Kind: k, Value: v}.Normalise()
			if !ok2 || again != v || strings.ContainsAny(v, " -") {
				t.Fatalf("%s %q → %q → %q %v", k, s, v, again, ok2)
			}
		}
	})
}
