package sandbox

import (
	"strings"
	"testing"
	"time"
)

func TestFormatRub(t *testing.T) {
	for k, want := range map[int64]string{
		0:          "0,00\u00a0₽",
		5:          "0,05\u00a0₽",
		100:        "1,00\u00a0₽",
		123456:     "1\u00a0234,56\u00a0₽",
		100000:     "1\u00a0000,00\u00a0₽",
		1234567890: "12\u00a0345\u00a0678,90\u00a0₽",
		-150:       "−1,50\u00a0₽",
	} {
		if got := formatRub(k); got != want {
			t.Errorf("formatRub(%d) = %q, want %q", k, got, want)
		}
	}
}

func TestTestCardsAreValid(t *testing.T) {
	for _, c := range []string{CardSuccess, CardDeclined, Card3DS, CardDelayed, CardDuplicate} {
		if !luhn(c) {
			t.Errorf("%s fails Luhn", c)
		}
	}
	for _, c := range testCards {
		if _, errs := checkCard(c.Number, "12/29", "123", "", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), "ru"); len(errs) != 0 {
			t.Errorf("shown test card %s refused: %v", c.Number, errs)
		}
	}
	if luhn("4111111111111112") {
		t.Fatal("Luhn accepts a wrong check digit")
	}
}

func TestCheckExpiry(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tr := func(ru, en string) string { return ru }
	for in, ok := range map[string]bool{
		"12/26": true, "12 / 26": true, "1226": true, "01/27": true, "1/27": true, "12/2026": true,
		"11/26": false, "13/27": false, "00/27": false, "12/6": false, "ab/cd": false, "": false, "12/99": false,
	} {
		if got := checkExpiry(in, now, tr) == ""; got != ok {
			t.Errorf("checkExpiry(%q) valid = %v, want %v", in, got, ok)
		}
	}
	// The last moment of the month is still valid, the next is not.
	if checkExpiry("12/26", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), tr) != "" ||
		checkExpiry("12/26", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), tr) == "" {
		t.Fatal("month end")
	}
}

func TestMask(t *testing.T) {
	if m := mask("4111111111111111"); m != "411111******1111" {
		t.Fatal(m)
	}
	if m := mask("4000000000000"); m != "400000***0000" {
		t.Fatal(m)
	}
}

// FuzzCheckCard: the card form's parser never panics, and what it accepts
// is 13–19 digits passing Luhn, whose masked form hides all but the first
// six and last four.
func FuzzCheckCard(f *testing.F) {
	f.Add("4111 1111 1111 1111", "12/29", "123", "IVAN IVANOV")
	f.Add("4000-0000-0000-0002", "1229", "000", "")
	f.Add("", "", "", "")
	f.Add("٤١١١", "１２/２９", "１２３", "ИВАН")
	f.Fuzz(func(t *testing.T, number, expiry, cvc, holder string) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		c, errs := checkCard(number, expiry, cvc, holder, now, "ru")
		if len(errs) > 0 {
			if c != (card{}) {
				t.Fatal("card returned with errors")
			}
			return
		}
		if len(c.number) < 13 || len(c.number) > 19 || !allDigits(c.number) || !luhn(c.number) {
			t.Fatalf("accepted %q", c.number)
		}
		if len(c.masked) != len(c.number) || c.masked[:6] != c.number[:6] || c.masked[len(c.masked)-4:] != c.number[len(c.number)-4:] ||
			strings.Trim(c.masked[6:len(c.masked)-4], "*") != "" {
			t.Fatalf("mask %q", c.masked)
		}
	})
}
