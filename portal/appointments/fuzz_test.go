package appointments_test

import (
	"testing"

	"github.com/gosid/gosid/portal/appointments"
)

// FuzzParseHours: whatever the agency sends, the parser either refuses it
// or returns ascending, gapped intervals within a day that print back to
// the same value.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"08:00-13:00,14:00-20:00", "", "-", "9:00-18:00", "00:00-24:00", "10:00-09:00",
		"08:00-13:00,13:00-14:00", "24:00-24:00", "08:60-09:00", " 08:00-12:00 , 13:00-17:00 ", "08:00-13:00,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := appointments.ParseHours(s)
		if err != nil {
			return
		}
		for i, iv := range h {
			if iv.From < 0 || iv.To > 24*60 || iv.From >= iv.To || (i > 0 && iv.From <= h[i-1].To) {
				t.Fatalf("%q parsed to %v", s, h)
			}
		}
		again, err := appointments.ParseHours(h.String())
		if err != nil || again.String() != h.String() {
			t.Fatalf("%q → %q → %v, %v", s, h.String(), again, err)
		}
	})
}

// FuzzParseDate: an accepted date is a real one and prints back to itself.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2027-01-07", "07.01.2027", "2027-02-30", "31.04.2027", "", "2027-1-7", "0000-00-00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := appointments.ParseDate(s)
		if err != nil {
			return
		}
		again, err := appointments.ParseDate(d.String())
		if err != nil || again != d || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
			t.Fatalf("%q → %v → %v, %v", s, d, again, err)
		}
	})
}
